import { silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { completeItem } from './items.js';
import type { ThreadEvent, ThreadSettings } from './runtime.js';
import { testSettings } from './test-support/settings.js';
import { type TurnBody, TurnLoopRuntime } from './turn-loop-runtime.js';

const settings: ThreadSettings = testSettings({ model: 'm', modelProvider: 'p' });
const request = (text: string) => ({
  input: [{ type: 'text' as const, text }],
  clientUserMessageId: null,
  settings,
});

function runtime(body: TurnBody) {
  const rt = new TurnLoopRuntime(
    { threadId: 't1', settings, conversation: [], tokenUsage: null, logger: silentLogger() },
    body,
  );
  const events: ThreadEvent[] = [];
  const done = (async () => {
    for await (const event of rt.events()) events.push(event);
  })();
  return { rt, events, done };
}

const label = (e: ThreadEvent) =>
  e.kind === 'notification'
    ? e.method
    : e.kind === 'status'
      ? `status:${e.status.type}${e.status.type === 'active' ? `[${e.status.activeFlags.join(',')}]` : ''}`
      : e.kind;

describe('TurnLoopRuntime', () => {
  it('emits a turn in the reference order and answers turn/start before the turn runs', async () => {
    const { rt, events, done } = runtime(async (turn) => {
      completeItem(turn, {
        type: 'agentMessage',
        id: 'm1',
        text: 'hi',
        phase: null,
        memoryCitation: null,
        delivery: null,
        questions: null,
        moderation: null,
      });
      return { status: 'completed' };
    });
    const turn = await rt.startTurn(request('hello'));
    expect(turn).toMatchObject({ status: 'inProgress', itemsView: 'notLoaded', startedAt: null });
    expect(events).toEqual([]);
    await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
    expect(events.map(label)).toEqual([
      'status:active[]',
      'turn/started',
      'item/started',
      'item/completed',
      'item/completed',
      'turnFinished',
      'status:idle',
      'turn/completed',
      'cancelServerRequests',
    ]);
    const completed = events.find((e) => label(e) === 'turn/completed');
    expect(completed).toMatchObject({
      params: { turn: { status: 'completed', itemsView: 'summary', items: [{ text: 'hi' }] } },
    });
    await rt.shutdown();
    await done;
  });

  it('steers into the running turn and refuses wrong ids with the reference wording', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seenInputs: number[] = [];
    const { rt, events, done } = runtime(async (turn) => {
      await gate;
      seenInputs.push(turn.inputs.length);
      return { status: 'completed' };
    });
    const turn = await rt.startTurn(request('one'));
    await waitFor(() => events.some((e) => label(e) === 'turn/started'));
    await expect(rt.steer(request('x'), 'wrong')).rejects.toThrow(
      `expected active turn id \`wrong\` but found \`${turn.id}\``,
    );
    await expect(rt.interrupt('wrong')).rejects.toThrow(
      `expected active turn id wrong but found ${turn.id}`,
    );
    expect(await rt.steer(request('two'), turn.id)).toBe(turn.id);
    // turn/start while running adds to the same turn too
    expect((await rt.startTurn(request('three'))).id).toBe(turn.id);
    release();
    await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
    expect(seenInputs).toEqual([3]);
    expect(events.filter((e) => label(e) === 'turn/started')).toHaveLength(1);
    await expect(rt.steer(request('late'), turn.id)).rejects.toThrow('no active turn to steer');
    await expect(rt.interrupt(turn.id)).rejects.toThrow('no active turn to interrupt');
    await rt.shutdown();
    await done;
  });

  it('an interrupt completes the turn as interrupted and cancels a pending question', async () => {
    const { rt, events, done } = runtime(async (turn) => {
      const outcome = await turn.request('item/commandExecution/requestApproval', {
        threadId: turn.threadId,
        turnId: turn.turnId,
        itemId: 'c',
        startedAtMs: Date.now(),
      });
      expect(outcome).toEqual({ kind: 'cancelled' });
      return { status: 'completed' };
    });
    const turn = await rt.startTurn(request('go'));
    await waitFor(() => events.some((e) => e.kind === 'serverRequest'));
    await rt.interrupt(turn.id);
    await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
    const tail = events.slice(events.findIndex((e) => e.kind === 'serverRequest') + 1).map(label);
    expect(tail).toEqual(['turnFinished', 'status:idle', 'turn/completed', 'cancelServerRequests']);
    expect(events.find((e) => label(e) === 'turn/completed')).toMatchObject({
      params: { turn: { status: 'interrupted', items: [] } },
    });
    await rt.shutdown();
    await done;
  });

  it('a failing body fails the turn with its error and leaves the thread in systemError', async () => {
    const { rt, events, done } = runtime(async () => {
      throw new Error('model unreachable');
    });
    await rt.startTurn(request('go'));
    await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
    expect(events.find((e) => label(e) === 'turn/completed')).toMatchObject({
      params: { turn: { status: 'failed', error: { message: 'model unreachable' } } },
    });
    const statuses = events.flatMap((e) => (e.kind === 'status' ? [e.status] : []));
    expect(statuses.at(-1)).toEqual({ type: 'systemError' });
    await rt.shutdown();
    await done;
  });
});
