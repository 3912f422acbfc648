import type { Message } from '@tether/protocol';
import { sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeliveredProcess, type MessageSink, OutputDelivery } from './delivery.js';
import { ManagedProcess } from './managed-process.js';

const processes: ManagedProcess[] = [];
afterEach(() => {
  for (const process of processes.splice(0)) process.dispose();
});

/** A real child printing `lines` lines, wired to `delivery` the way a session wires it. */
async function printing(id: string, lines: number): Promise<DeliveredProcess> {
  const process = await ManagedProcess.start({
    processId: id,
    argv: ['/bin/sh', '-c', `i=0; while [ $i -lt ${lines} ]; do echo line$i; i=$((i+1)); done`],
    cwd: '/tmp',
    env: { PATH: '/usr/bin:/bin' },
    tty: false,
  });
  processes.push(process);
  return { process, encoder: undefined };
}

/** A sink that records messages and holds their write callbacks until `flush`. */
function recordingSink() {
  const messages: Message[] = [];
  const held: Array<(error?: Error) => void> = [];
  const sink: MessageSink = {
    send(message, onWritten) {
      messages.push(message);
      if (onWritten) held.push(onWritten);
    },
  };
  return {
    sink,
    messages,
    flush: () => {
      for (const done of held.splice(0)) done();
    },
  };
}

function params(message: Message): Record<string, unknown> {
  if (message.kind !== 'notification' || typeof message.params !== 'object' || !message.params) {
    throw new Error(`not a notification with params: ${JSON.stringify(message)}`);
  }
  return { method: message.method, ...message.params };
}

const closed = (messages: Message[]) =>
  messages.some((m) => m.kind === 'notification' && m.method === 'process/closed');

describe('OutputDelivery', () => {
  it('notifies a tracked process from its start seq, in order, ending with closed', async () => {
    const out = recordingSink();
    const delivery = new OutputDelivery(out.sink, () => true, {
      windowBytes: 1 << 20,
      unconfirmedWindow: 1 << 20,
    });
    const entry = await printing('p', 50);
    delivery.track(entry, 1);
    entry.process.onEvent(() => delivery.wake(entry));
    await waitFor(() => {
      out.flush();
      return closed(out.messages);
    });
    const seen = out.messages.map(params);
    const seqs = seen.map((p) => p.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const text = seen
      .filter((p) => p.method === 'process/output')
      .map((p) => Buffer.from(String(p.chunk), 'base64').toString())
      .join('');
    expect(text).toBe(Array.from({ length: 50 }, (_, i) => `line${i}\n`).join(''));
    expect(seen.at(-1)?.method).toBe('process/closed');
  });

  it('holds what the byte window cannot take until earlier notifications were written', async () => {
    const out = recordingSink();
    // one frame fills the window: each batch is one notification
    const delivery = new OutputDelivery(out.sink, () => true, {
      windowBytes: 1,
      unconfirmedWindow: 1 << 20,
    });
    const entry = await printing('w', 3);
    await waitFor(() => entry.process.log.closedSeq !== undefined);
    delivery.track(entry, 1);
    await waitFor(() => out.messages.length === 1);
    await sleep(30);
    expect(out.messages).toHaveLength(1);
    await waitFor(() => {
      out.flush();
      return closed(out.messages);
    });
    expect(out.messages.map((m) => params(m).seq)).toEqual(out.messages.map((_, i) => i + 1));
  });

  it('sends nothing while its attachment is not the current one', async () => {
    const out = recordingSink();
    const delivery = new OutputDelivery(out.sink, () => false, {
      windowBytes: 1 << 20,
      unconfirmedWindow: 1 << 20,
    });
    const entry = await printing('n', 5);
    await waitFor(() => entry.process.log.closedSeq !== undefined);
    delivery.track(entry, 1);
    await sleep(30);
    expect(out.messages).toEqual([]);
  });
});
