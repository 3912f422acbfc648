import type { AreaHandlers, ServiceParts } from './context.js';

/** Turns: start one, steer the running one, interrupt it. */
export function turnHandlers({
  threads,
}: ServiceParts): AreaHandlers<'turn/start' | 'turn/steer' | 'turn/interrupt'> {
  return {
    'turn/start': async (params) => ({ turn: await threads.startTurn(params) }),
    'turn/steer': async (params) => ({ turnId: await threads.steer(params) }),
    'turn/interrupt': async (params) => {
      await threads.interrupt(params);
      return {};
    },
  };
}
