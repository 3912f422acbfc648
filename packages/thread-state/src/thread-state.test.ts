import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThreadStateManager } from './thread-state.js';

let idle: string[];
function manager(delay: number | ((origin: string | undefined) => number) = 1000) {
  return new ThreadStateManager({
    unloadDelayMs: delay,
    onIdle: (threadId) => idle.push(threadId),
  });
}

beforeEach(() => {
  idle = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('subscriptions', () => {
  it('only live (initialized) connections can subscribe, and a closed one never again', () => {
    const s = manager();
    s.addThread('t');
    expect(s.subscribe('t', 1)).toBe('connectionClosed');
    s.connectionInitialized(1, 'websocket');
    expect(s.subscribe('t', 1)).toBe('subscribed');
    expect(s.subscribe('t', 1)).toBe('alreadySubscribed');
    expect(s.removeConnection(1)).toEqual(['t']);
    // an auto-attach racing the disconnect cannot bring it back
    expect(s.subscribe('t', 1)).toBe('connectionClosed');
    expect(s.subscribers('t')).toEqual([]);
    expect(s.subscribe('nope', 1)).toBe('notLoaded');
  });

  it('tracks subscriptions both ways and reports unsubscribe statuses', () => {
    const s = manager();
    s.connectionInitialized(1, 'websocket');
    s.connectionInitialized(2, 'websocket');
    s.addThread('a');
    s.addThread('b');
    s.subscribe('a', 2);
    s.subscribe('a', 1);
    s.subscribe('b', 1);
    expect(s.subscribers('a')).toEqual([1, 2]);
    expect(s.threadsOf(1).sort()).toEqual(['a', 'b']);
    expect(s.unsubscribe('a', 1)).toBe('unsubscribed');
    expect(s.unsubscribe('a', 1)).toBe('notSubscribed');
    expect(s.unsubscribe('zzz', 1)).toBe('notLoaded');
    expect(s.threadsOf(1)).toEqual(['b']);
    expect(s.isSubscribed('a', 2)).toBe(true);
  });

  it('removing one connection keeps the thread and its listener for the others', () => {
    const s = manager();
    s.connectionInitialized(1, 'websocket');
    s.connectionInitialized(2, 'websocket');
    s.addThread('t');
    const generation = s.installListener('t');
    s.subscribe('t', 1);
    s.subscribe('t', 2);
    expect(s.removeConnection(1)).toEqual([]);
    expect(s.isCurrentListener('t', generation)).toBe(true);
    expect(s.subscribers('t')).toEqual([2]);
  });

  it('signals has-subscribers on edges only', () => {
    const s = manager();
    s.connectionInitialized(1, 'websocket');
    s.connectionInitialized(2, 'websocket');
    s.addThread('t');
    const seen: boolean[] = [];
    s.watchHasSubscribers('t', (has) => seen.push(has));
    s.subscribe('t', 1);
    s.subscribe('t', 2); // no edge
    s.unsubscribe('t', 1); // no edge
    s.unsubscribe('t', 2);
    s.subscribe('t', 1);
    s.removeConnection(1);
    expect(seen).toEqual([true, false, true, false]);
  });
});

describe('listener generations', () => {
  it('a superseded listener never clears a newer one', () => {
    const s = manager();
    s.addThread('t');
    const first = s.installListener('t');
    const second = s.installListener('t');
    expect(s.isCurrentListener('t', first)).toBe(false);
    // the old listener exits late and tries to clean up
    expect(s.clearListener('t', first)).toBe(false);
    expect(s.isCurrentListener('t', second)).toBe(true);
    expect(s.clearListener('t', second)).toBe(true);
    expect(s.isCurrentListener('t', second)).toBe(false);
  });
});

describe('unloading policy', () => {
  it('unloads only after no subscribers and idle for the delay', () => {
    const s = manager(1000);
    s.connectionInitialized(1, 'websocket');
    s.addThread('t');
    s.subscribe('t', 1);
    vi.advanceTimersByTime(5000);
    expect(idle).toEqual([]);
    s.unsubscribe('t', 1);
    vi.advanceTimersByTime(999);
    expect(idle).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(idle).toEqual(['t']);
  });

  it('a running thread never unloads; the clock starts when it goes idle', () => {
    const s = manager(1000);
    s.addThread('t');
    s.setActive('t', true);
    vi.advanceTimersByTime(10_000);
    expect(idle).toEqual([]);
    s.setActive('t', false);
    vi.advanceTimersByTime(999);
    expect(idle).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(idle).toEqual(['t']);
  });

  it('activity and a new subscriber reset the clock', () => {
    const s = manager(1000);
    s.connectionInitialized(1, 'websocket');
    s.addThread('t');
    vi.advanceTimersByTime(800);
    s.noteActivity('t');
    vi.advanceTimersByTime(800);
    expect(idle).toEqual([]);
    s.subscribe('t', 1);
    s.unsubscribe('t', 1);
    vi.advanceTimersByTime(800);
    expect(idle).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(idle).toEqual(['t']);
  });

  it('a disconnect is an unsubscribe from everything: the thread stays until the delay', () => {
    const s = manager(1000);
    s.connectionInitialized(1, 'websocket');
    s.addThread('t');
    s.subscribe('t', 1);
    s.removeConnection(1);
    expect(s.hasThread('t')).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(idle).toEqual(['t']);
  });

  it('uses the delay of the origin of the connection that left last', () => {
    const s = manager((origin) => (origin === 'stdio' ? 0 : 60_000));
    s.connectionInitialized(1, 'stdio');
    s.connectionInitialized(2, 'websocket');
    s.addThread('a');
    s.addThread('b');
    s.subscribe('a', 1);
    s.subscribe('b', 2);
    s.unsubscribe('a', 1);
    s.unsubscribe('b', 2);
    vi.advanceTimersByTime(0);
    expect(idle).toEqual(['a']);
    vi.advanceTimersByTime(60_000);
    expect(idle).toEqual(['a', 'b']);
  });

  it('a resume in flight holds off the unload', () => {
    const s = manager(1000);
    s.addThread('t');
    expect(s.beginResume('t')).toBe(true);
    vi.advanceTimersByTime(5000);
    expect(idle).toEqual([]);
    expect(s.beginUnload('t')).toBe(false);
    s.endResume('t');
    vi.advanceTimersByTime(1000);
    expect(idle).toEqual(['t']);
  });

  it('a claimed unload refuses subscribes and resumes until finished or cancelled', () => {
    const s = manager(1000);
    s.connectionInitialized(1, 'websocket');
    s.addThread('t');
    vi.advanceTimersByTime(1000);
    expect(s.beginUnload('t')).toBe(true);
    expect(s.beginUnload('t')).toBe(false);
    expect(s.isUnloading('t')).toBe(true);
    expect(s.subscribe('t', 1)).toBe('closing');
    expect(s.beginResume('t')).toBe(false);
    s.cancelUnload('t');
    expect(s.subscribe('t', 1)).toBe('subscribed');
    s.unsubscribe('t', 1);
    expect(s.beginUnload('t')).toBe(true);
    s.removeThread('t');
    expect(s.hasThread('t')).toBe(false);
    expect(s.loadedThreadIds()).toEqual([]);
  });

  it('re-checks at claim time: a thread that became busy is not claimed', () => {
    const s = manager(1000);
    s.connectionInitialized(1, 'websocket');
    s.addThread('t');
    vi.advanceTimersByTime(1000);
    expect(idle).toEqual(['t']);
    // between the idle signal and the claim, a client subscribed
    s.subscribe('t', 1);
    expect(s.beginUnload('t')).toBe(false);
    expect(s.canUnload('t')).toBe(false);
  });
});
