import type { AppServerClient } from '@tether/client';
import { sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

describe('a slow websocket subscriber', () => {
  it('never stalls the others: a paused client is cut with 1013 while the fast one gets every delta', async () => {
    const deltas = Array.from({ length: 60_000 }, (_, i) => `delta-${i}-${'x'.repeat(100)} `);
    // deltas paced like a model stream; the final item carries a short text (not megabytes)
    const s = await startServer(
      async (turn) => {
        for (let i = 0; i < deltas.length; i++) {
          turn.emit('item/agentMessage/delta', {
            threadId: turn.threadId,
            turnId: turn.turnId,
            itemId: 'msg_1',
            delta: deltas[i] ?? '',
          });
          if (i % 50 === 0) await sleep(1);
        }
        return { status: 'completed' };
      },
      {
        router: { maxQueuedBytes: 2 * 1024 * 1024, slowGraceMs: 2_000 },
      },
    );
    servers.push(s);
    const fast = await client(s, 'fast');
    const slow = await client(s, 'slow');
    clients.push(fast, slow);
    // counted as they come: the client's log keeps only the most recent notifications
    let got = 0;
    fast.on('notification', (n) => {
      if (n.method === 'item/agentMessage/delta') got += 1;
    });
    const { thread } = await fast.request('thread/start', { cwd: '/tmp' });
    await slow.request('thread/resume', { threadId: thread.id, excludeTurns: true });
    // the slow client stops reading from its socket
    const slowClosed = slow.closed;
    slow.pauseSocket();
    await fast.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'go' }],
    });
    // the server cuts the stalled reader; once it reads again it learns why
    await waitFor(() => s.router.connectionIds().length === 1, { timeoutMs: 30_000 });
    slow.resumeSocket();
    expect((await slowClosed).code).toBe(1013);
    // meanwhile the fast client got the whole turn
    await fast.waitForNotification('turn/completed', () => true, { timeoutMs: 30_000 });
    expect(got).toBe(deltas.length);
  });
});
