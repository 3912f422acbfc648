import { app, RpcError, silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { completeItem } from './items.js';
import type { ThreadEvent, ThreadSettings } from './runtime.js';
import { testSettings } from './test-support/settings.js';
import { type TurnBody, type TurnHooks, TurnLoopRuntime } from './turn-loop-runtime.js';

const settings: ThreadSettings = testSettings({ model: 'm', modelProvider: 'p' });
const request = (text: string) => ({
  input: [{ type: 'text' as const, text }],
  clientUserMessageId: null,
  settings,
});

function runtime(body: TurnBody, hooks?: TurnHooks) {
  const rt = new TurnLoopRuntime(
    { threadId: 't1', settings, conversation: [], tokenUsage: null, logger: silentLogger() },
    body,
    hooks,
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

  describe('with a compaction', () => {
    const summary = {
      type: 'message' as const,
      role: 'user' as const,
      content: [{ type: 'input_text' as const, text: 'SUMMARY' }],
    };
    /** A compaction that waits for `release` and then replaces the conversation with `summary`. */
    function compacting(body: TurnBody) {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let running = 0;
      let overlapped = false;
      const enter = () => {
        running += 1;
        if (running > 1) overlapped = true;
      };
      const made = runtime(
        async (turn) => {
          enter();
          try {
            return await body(turn);
          } finally {
            running -= 1;
          }
        },
        {
          compact: async (turn) => {
            enter();
            const aborted = new Promise<void>((r) =>
              turn.signal.addEventListener('abort', () => r()),
            );
            await Promise.race([gate, aborted]);
            if (!turn.signal.aborted) turn.replaceConversation([summary]);
            running -= 1;
            return { status: 'completed' };
          },
        },
      );
      return { ...made, release, overlapped: () => overlapped };
    }
    const turnEvents = (events: ThreadEvent[]) =>
      events.flatMap((e) =>
        e.kind === 'notification' && (e.method === 'turn/started' || e.method === 'turn/completed')
          ? [`${e.method} ${e.params.turn.id}`]
          : e.kind === 'notification' &&
              e.method === 'item/completed' &&
              app.isKnownThreadItem(e.params.item) &&
              e.params.item.type === 'userMessage'
            ? [
                `userMessage ${JSON.stringify(e.params.item.content.map((c) => c.type === 'text' && c.text))}`,
              ]
            : [],
      );

    it('a turn started during a compaction is refused, as the reference refuses it; one started after runs on the compacted conversation', async () => {
      const seen: { conversation: unknown[]; inputs: number }[] = [];
      const { rt, events, done, release, overlapped } = compacting(async (turn) => {
        seen.push({ conversation: [...turn.conversation], inputs: turn.inputs.length });
        return { status: 'completed' };
      });
      const compaction = await rt.compact(settings);
      // the compaction takes no input (the reference's refusal and its data)
      const refusal = await rt.steer(request('x'), compaction.id).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(RpcError);
      expect(refusal).toMatchObject({
        code: -32600,
        message: 'cannot steer a compact turn',
        data: { codexErrorInfo: { activeTurnNotSteerable: { turnKind: 'compact' } } },
      });
      // no pause: refused before the compaction turn has even started, and while it runs
      for (const when of ['before', 'during']) {
        if (when === 'during') await waitFor(() => events.some((e) => label(e) === 'turn/started'));
        const started = await rt.startTurn(request('during')).catch((e: unknown) => e);
        expect(started).toBeInstanceOf(RpcError);
        expect(started).toMatchObject({
          code: -32603,
          message: 'failed to submit turn input: ActiveTurnNotSteerable { turn_kind: Compact }',
        });
      }
      release();
      await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
      const next = await rt.startTurn(request('after'));
      await waitFor(() => events.filter((e) => label(e) === 'turn/completed').length === 2);
      expect(overlapped()).toBe(false);
      expect(turnEvents(events)).toEqual([
        `turn/started ${compaction.id}`,
        `turn/completed ${compaction.id}`,
        `turn/started ${next.id}`,
        'userMessage ["after"]',
        `turn/completed ${next.id}`,
      ]);
      expect(seen).toEqual([{ conversation: [summary], inputs: 1 }]);
      await rt.shutdown();
      await done;
    });

    it('an interrupted compaction ends as interrupted, and the next turn/start runs a turn', async () => {
      const { rt, events, done } = compacting(async () => ({ status: 'completed' }));
      const compaction = await rt.compact(settings);
      await waitFor(() => events.some((e) => label(e) === 'turn/started'));
      await rt.interrupt(compaction.id);
      await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
      const next = await rt.startTurn(request('after'));
      await waitFor(() => events.filter((e) => label(e) === 'turn/completed').length === 2);
      const completed = events.flatMap((e) =>
        e.kind === 'notification' && e.method === 'turn/completed'
          ? [[e.params.turn.id, e.params.turn.status]]
          : [],
      );
      expect(completed).toEqual([
        [compaction.id, 'interrupted'],
        [next.id, 'completed'],
      ]);
      await rt.shutdown();
      await done;
    });
  });

  it('a turn started while an interrupted one finishes is a new turn that takes its input', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seenInputs: number[] = [];
    const { rt, events, done } = runtime(async (turn) => {
      seenInputs.push(turn.inputs.length);
      // the first turn keeps running a moment after its interrupt (a command being killed)
      if (seenInputs.length === 1) await gate;
      return { status: 'completed' };
    });
    const first = await rt.startTurn(request('one'));
    await waitFor(() => seenInputs.length === 1);
    await rt.interrupt(first.id);
    const second = await rt.startTurn(request('two'));
    expect(second.id).not.toBe(first.id);
    release();
    await waitFor(() => events.filter((e) => label(e) === 'turn/completed').length === 2);
    expect(seenInputs).toEqual([1, 1]);
    await rt.shutdown();
    await done;
  });

  it('shows the input of a turn that ends before its body runs (the pre-input hook failed)', async () => {
    const notTaken: number[] = [];
    const { rt, events, done } = runtime(async () => ({ status: 'completed' }), {
      beforeInput: async () => ({ status: 'failed', error: { message: 'compaction failed' } }),
      inputNotTaken: (turn) => notTaken.push(turn.inputs.length),
    });
    await rt.startTurn(request('lost?'));
    await waitFor(() => events.some((e) => label(e) === 'turn/completed'));
    expect(events.map(label)).toEqual([
      'status:active[]',
      'turn/started',
      'item/started',
      'item/completed',
      'turnFinished',
      'status:systemError',
      'turn/completed',
      'cancelServerRequests',
    ]);
    expect(notTaken).toEqual([1]);
    await rt.shutdown();
    await done;
  });
});
