import { describe, expect, it } from 'vitest';
import { NotificationLog } from './notification-log.js';

const n = (method: string, i = 0) => ({ method, params: { i } });

describe('NotificationLog', () => {
  it('keeps only the most recent notifications, with positions that go on counting', () => {
    const log = new NotificationLog(3);
    for (let i = 0; i < 10; i++) log.push(n('tick', i));
    expect(log.cursor).toBe(10);
    expect(log.oldest).toBe(7);
    expect(log.since().map((x) => x.params)).toEqual([{ i: 7 }, { i: 8 }, { i: 9 }]);
    expect(log.since(9).map((x) => x.params)).toEqual([{ i: 9 }]);
    expect(log.since(10)).toEqual([]);
    // what was dropped is never silently skipped
    expect(() => log.since(5)).toThrow(/from position 5 are gone: the log keeps the last 3/);
    log.clear();
    expect(log.since()).toEqual([]);
    expect(log.cursor).toBe(10);
    expect(() => log.since(9)).toThrow(/gone/);
  });

  it('keeps nothing with capacity 0, yet counts and wakes waits', async () => {
    const log = new NotificationLog(0);
    const waiting = log.wait((x) => x.method === 'b', { from: log.cursor });
    log.push(n('a'));
    log.push(n('b'));
    expect(await waiting).toEqual(n('b'));
    expect(log.since()).toEqual([]);
    expect(log.cursor).toBe(2);
  });

  it('waits from a cursor: finds what is kept, or what comes next', async () => {
    const log = new NotificationLog(10);
    log.push(n('done', 1));
    const cursor = log.cursor;
    // the earlier one is kept but before the cursor: only a later one counts
    const later = log.wait((x) => x.method === 'done', { from: cursor });
    const any = log.wait((x) => x.method === 'done');
    log.push(n('done', 2));
    expect(await any).toEqual(n('done', 1));
    expect(await later).toEqual(n('done', 2));
  });

  it('rejects a wait on timeout, on end, and for a dropped position', async () => {
    const log = new NotificationLog(1);
    await expect(
      log.wait(() => false, { timeoutMs: 10, what: 'notification nothing' }),
    ).rejects.toThrow('timed out waiting for notification nothing');
    log.push(n('a'));
    log.push(n('b'));
    await expect(log.wait(() => true, { from: 0 })).rejects.toThrow(/gone/);
    const pending = log.wait((x) => x.method === 'never', { what: 'never' });
    log.end(new Error('connection closed (1000 )'));
    await expect(pending).rejects.toThrow('connection closed (1000 ) while waiting for never');
    // a match that was kept is still found after the end
    expect(await log.wait((x) => x.method === 'b')).toEqual(n('b'));
    await expect(log.wait((x) => x.method === 'c')).rejects.toThrow(/connection closed/);
  });

  it('refuses a capacity that is not a non-negative integer', () => {
    expect(() => new NotificationLog(-1)).toThrow(RangeError);
    expect(() => new NotificationLog(1.5)).toThrow(RangeError);
  });
});
