import type { TurnBody } from '@tether/agent-core';
import {
  agentMessageItem,
  completeItem,
  startItem,
  turnLoopRuntimeFactory,
} from '@tether/agent-core';
import { AppServerClient } from '@tether/client';
import type { app } from '@tether/protocol';
import { sleep, tempHome } from '@tether/test-kit';
import { silentLogger } from '@tether/transport';
import { AppServer, type AppServerOptions } from '../server.js';

/** An in-process app-server on a websocket port with a scripted turn body. */
export async function startServer(
  body: TurnBody,
  options: Partial<AppServerOptions> = {},
): Promise<AppServer> {
  return AppServer.start({
    home: tempHome('tether-app-'),
    listen: { kind: 'websocket', host: '127.0.0.1', port: 0 },
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(body),
    ...options,
  });
}

export async function client(
  server: AppServer,
  name = 'test',
  capabilities: { experimentalApi?: boolean; optOutNotificationMethods?: string[] } = {},
): Promise<AppServerClient> {
  const c = await AppServerClient.connectWebSocket(server.url as string);
  await c.initialize({ name, version: '1.0.0' }, capabilities);
  return c;
}

/** An agent message item with every field of the protocol's, not completed yet. */
export const agentMessage = agentMessageItem;

/** A turn body that answers with one agent message made of `deltas`. */
export function replyBody(deltas: string[], delayMs = 0, yieldEvery = 0): TurnBody {
  return async (turn) => {
    const itemId = `msg_${turn.turnId.slice(0, 8)}`;
    const started = Date.now();
    startItem(turn, agentMessage(itemId, '', started), started);
    let i = 0;
    for (const delta of deltas) {
      if (turn.signal.aborted) return { status: 'completed' };
      if (delayMs) await sleep(delayMs);
      if (yieldEvery && i % yieldEvery === 0) await sleep(1);
      i += 1;
      turn.emit('item/agentMessage/delta', {
        threadId: turn.threadId,
        turnId: turn.turnId,
        itemId,
        delta,
      });
    }
    completeItem(turn, agentMessage(itemId, deltas.join(''), started));
    return { status: 'completed' };
  };
}

/** Starts a turn and waits for its completion; resolves with the notification cursor before it. */
export async function runTurn(c: AppServerClient, params: app.TurnStartParams) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', params);
  await c.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === turn.id, {
    from,
    timeoutMs: 20_000,
  });
  return from;
}
