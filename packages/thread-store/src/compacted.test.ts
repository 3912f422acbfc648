import { readFileSync } from 'node:fs';
import type { app } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { parseRecordLine } from './records.js';
import { ThreadStore } from './store.js';
import { fakeClock, tempHome, userMessage } from './test-support/fixtures.js';

const message = (role: 'user' | 'assistant', text: string): app.ResponseItem => ({
  type: 'message',
  role,
  content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }],
});

/** Two turns of conversation, a third that compacts it and goes on, as an agent records them. */
function compactedThread(home: string) {
  const store = ThreadStore.open({ home, now: fakeClock() });
  const { thread } = store.createThread({ cwd: '/work', modelProvider: 'openai' });
  const turn = (turnId: string, items: app.ResponseItem[]) => {
    store.append(thread.id, { type: 'turn_started', turnId });
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: userMessage(`u-${turnId}`, turnId),
    });
    for (const item of items) store.append(thread.id, { type: 'response_item', turnId, item });
  };
  turn('turn-1', [message('user', 'one'), message('assistant', 'reply one')]);
  store.append(thread.id, { type: 'turn_completed', turnId: 'turn-1', status: 'completed' });
  turn('turn-2', [message('user', 'two'), message('assistant', 'reply two')]);
  store.append(thread.id, { type: 'turn_completed', turnId: 'turn-2', status: 'completed' });
  const replacement = [message('user', 'one'), message('user', 'two'), message('user', 'SUMMARY')];
  turn('turn-3', []);
  store.append(thread.id, {
    type: 'compacted',
    turnId: 'turn-3',
    replacementHistory: replacement,
  });
  store.append(thread.id, {
    type: 'response_item',
    turnId: 'turn-3',
    item: message('user', 'three'),
  });
  store.append(thread.id, { type: 'turn_completed', turnId: 'turn-3', status: 'completed' });
  return { store, threadId: thread.id, replacement };
}

describe('a compacted conversation', () => {
  const home = tempHome();

  it('reads back as the replacement and what came after it, also after a reopen', () => {
    const { store, threadId, replacement } = compactedThread(home);
    const expected = [...replacement, message('user', 'three')];
    expect(store.readThread(threadId).conversation).toEqual(expected);
    const path = store.readThread(threadId).path;
    store.close();

    // the record as written is a versioned line the reader parses back
    const line = readFileSync(path, 'utf8')
      .split('\n')
      .find((l) => l.includes('"compacted"'));
    const parsed = parseRecordLine(line ?? '');
    expect(parsed).toMatchObject({
      kind: 'record',
      record: { type: 'compacted', turnId: 'turn-3', replacementHistory: replacement },
    });

    const again = ThreadStore.open({ home, now: fakeClock() });
    expect(again.readThread(threadId).conversation).toEqual(expected);
    again.close();
  });

  it('a fork or revert from before the compaction has the conversation as it was', () => {
    const { store, threadId } = compactedThread(home);
    const before = [
      message('user', 'one'),
      message('assistant', 'reply one'),
      message('user', 'two'),
      message('assistant', 'reply two'),
    ];
    expect(store.fork(threadId, { lastTurnId: 'turn-2' }).conversation).toEqual(before);
    // a fork of every turn carries the compaction
    expect(store.fork(threadId).conversation.at(-1)).toEqual(message('user', 'three'));
    expect(store.revert(threadId, 'turn-3').conversation).toEqual(before);
    store.close();
  });

  it('a compacted record with a malformed history is reported, not folded', () => {
    expect(
      parseRecordLine(
        JSON.stringify({ v: 1, ts: 1, type: 'compacted', turnId: 't', replacementHistory: [1] }),
      ).kind,
    ).toBe('invalid');
  });
});
