import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseRecordLine, type RolloutRecord, type ThreadMetaRecord } from './records.js';
import { readRollout } from './rollout-reader.js';
import { RolloutWriter, serializeRecord, writeRolloutAtomically } from './rollout-writer.js';
import { agentMessage, tempHome, userMessage } from './test-support/fixtures.js';

const ID = '0a1b2c3d-0000-4000-8000-000000000001';

function meta(ts = 1000): ThreadMetaRecord {
  return {
    v: 1,
    ts,
    type: 'thread_meta',
    id: ID,
    createdAt: ts,
    cwd: '/work',
    model: 'gpt-test',
    modelProvider: 'openai',
    reasoningEffort: null,
    source: 'vscode',
    threadSource: null,
    originator: 'test',
    cliVersion: '0.169.0',
    forkedFromId: null,
    parentThreadId: null,
    agentNickname: null,
    agentRole: null,
    gitInfo: null,
    name: null,
    preview: '',
    settings: { approvalPolicy: 'never' },
  };
}

const started = (turnId: string, ts: number): RolloutRecord => ({
  v: 1,
  ts,
  type: 'turn_started',
  turnId,
  rootTurnId: turnId,
  startedAt: ts,
});

const item = (turnId: string, ts: number, text: string): RolloutRecord => ({
  v: 1,
  ts,
  type: 'item_completed',
  turnId,
  item: agentMessage(`a-${ts}`, text),
});

describe('RolloutWriter and readRollout', () => {
  const home = tempHome();
  const path = () => join(home, 'sessions', '2026', '01', '15', `rollout-x-${ID}.jsonl`);

  it('writes one line per record and reads them back in order', () => {
    const writer = RolloutWriter.create(path(), meta());
    writer.append(started('t1', 2000));
    writer.append({
      v: 1,
      ts: 2001,
      type: 'item_started',
      turnId: 't1',
      item: userMessage('u1', 'hi'),
    });
    writer.append(item('t1', 2002, 'hello'));
    writer.close();
    const text = readFileSync(path(), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(5);
    const contents = readRollout(path());
    expect(contents.records.map((r) => r.type)).toEqual([
      'thread_meta',
      'turn_started',
      'item_started',
      'item_completed',
    ]);
    expect(contents.records[0]).toEqual(meta());
    expect(contents.tornTail).toBe(false);
    expect(contents.size).toBe(statSync(path()).size);
    expect(writer.size).toBe(contents.size);
  });

  it('refuses to create over an existing rollout', () => {
    RolloutWriter.create(path(), meta()).close();
    expect(() => RolloutWriter.create(path(), meta())).toThrow(
      expect.objectContaining({ code: 'THREAD_EXISTS' }),
    );
  });

  it('ignores a torn last line (a crash mid-write) and keeps every earlier record', () => {
    const writer = RolloutWriter.create(path(), meta());
    writer.append(started('t1', 2000));
    writer.close();
    // A crash halfway through the next record: the first half of its bytes reached the file.
    const torn = serializeRecord(item('t1', 2001, 'lost')).subarray(0, 40);
    appendFileSync(path(), torn);
    const contents = readRollout(path());
    expect(contents.records.map((r) => r.type)).toEqual(['thread_meta', 'turn_started']);
    expect(contents.tornTail).toBe(true);
    expect(contents.invalidLines).toBe(0);
  });

  it('starts the next record on a new line after a torn line, so later appends read back', () => {
    RolloutWriter.create(path(), meta()).close();
    appendFileSync(path(), '{"v":1,"ts":1500,"type":"turn_sta');
    const writer = RolloutWriter.open(path());
    writer.append(started('t1', 2000));
    writer.append(item('t1', 2001, 'after the crash'));
    writer.close();
    const lines = readFileSync(path(), 'utf8').split('\n');
    expect(lines[1]).toBe('{"v":1,"ts":1500,"type":"turn_sta');
    const contents = readRollout(path());
    expect(contents.records.map((r) => r.type)).toEqual([
      'thread_meta',
      'turn_started',
      'item_completed',
    ]);
    expect(contents.invalidLines).toBe(1);
    expect(contents.tornTail).toBe(false);
    expect(writer.size).toBe(statSync(path()).size);
  });

  it('tells a pino logger about the torn line it ignored', () => {
    RolloutWriter.create(path(), meta()).close();
    appendFileSync(path(), '{"v":1,"ts":15');
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    readRollout(path(), logger);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: 40,
        path: path(),
        bytes: 14,
        msg: expect.stringMatching(/torn/),
      }),
    ]);
  });

  it('reads a last record whose newline alone was lost, before and after the repair', () => {
    RolloutWriter.create(path(), meta()).close();
    const line = serializeRecord(started('t1', 2000));
    appendFileSync(path(), line.subarray(0, line.length - 1));
    expect(readRollout(path()).records.map((r) => r.type)).toEqual(['thread_meta', 'turn_started']);
    const writer = RolloutWriter.open(path());
    writer.append(item('t1', 2001, 'x'));
    writer.close();
    expect(readRollout(path()).records.map((r) => r.type)).toEqual([
      'thread_meta',
      'turn_started',
      'item_completed',
    ]);
  });

  it('survives any crash point: every prefix of the file reads back a prefix of the records', () => {
    const writer = RolloutWriter.create(path(), meta());
    const records = [started('t1', 2000), item('t1', 2001, 'one'), item('t1', 2002, 'two ✓')];
    for (const record of records) writer.append(record);
    writer.close();
    const full = readFileSync(path());
    const all = readRollout(path()).records;
    for (let cut = 0; cut <= full.length; cut++) {
      writeFileSync(path(), full.subarray(0, cut));
      const read = readRollout(path()).records;
      expect(read).toEqual(all.slice(0, read.length));
      // Then the process restarts and appends: nothing earlier is lost and the new record reads.
      const again = RolloutWriter.open(path());
      again.append(item('t2', 3000, 'next'));
      again.close();
      const after = readRollout(path()).records;
      expect(after.slice(0, read.length)).toEqual(read);
      expect(after[after.length - 1]).toEqual(item('t2', 3000, 'next'));
    }
  });

  it('skips damaged lines and records of a newer version without losing the rest', () => {
    const writer = RolloutWriter.create(path(), meta());
    writer.close();
    appendFileSync(
      path(),
      [
        'garbage',
        '{"v":2,"ts":1,"type":"turn_started","turnId":"x"}',
        '{"v":1,"ts":1,"type":"hologram"}',
        '{"v":1,"ts":1,"type":"turn_started"}',
        '',
        JSON.stringify(started('t1', 2000)),
        '',
      ].join('\n'),
    );
    const contents = readRollout(path());
    expect(contents.records.map((r) => r.type)).toEqual(['thread_meta', 'turn_started']);
    expect(contents.invalidLines).toBe(2);
    expect(contents.unsupportedLines).toBe(2);
  });

  it('fsync durability writes the same bytes', () => {
    const writer = RolloutWriter.create(path(), meta(), { durability: 'fsync' });
    writer.append(started('t1', 2000));
    writer.sync();
    writer.close();
    expect(readRollout(path()).records).toHaveLength(2);
    expect(() => writer.append(started('t2', 1))).toThrow(
      expect.objectContaining({ code: 'STORE_CLOSED' }),
    );
  });

  it('refuses records JSON cannot carry before writing anything', () => {
    const writer = RolloutWriter.create(path(), meta());
    const before = writer.size;
    const bad = {
      ...item('t1', 1, 'x'),
      extra: 10n,
    } as unknown as RolloutRecord;
    expect(() => writer.append(bad)).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }));
    expect(statSync(path()).size).toBe(before);
    writer.close();
  });

  it('writes a whole rollout at once without replacing an existing one', () => {
    const records = [meta(), started('t1', 2000)];
    const { size, spans } = writeRolloutAtomically(path(), records);
    expect(size).toBe(statSync(path()).size);
    expect(spans).toEqual(readRollout(path()).spans);
    expect(readRollout(path()).records).toEqual(records);
    expect(() => writeRolloutAtomically(path(), records)).toThrow(
      expect.objectContaining({ code: 'THREAD_EXISTS' }),
    );
  });
});

describe('parseRecordLine', () => {
  it('checks the fields of each record type', () => {
    expect(parseRecordLine(JSON.stringify(meta())).kind).toBe('record');
    expect(parseRecordLine('{"v":1,"ts":1,"type":"thread_name","name":5}')).toMatchObject({
      kind: 'invalid',
    });
    expect(
      parseRecordLine(
        '{"v":1,"ts":1,"type":"item_completed","turnId":"t","item":{"type":"userMessage","id":"u"}}',
      ).kind,
    ).toBe('invalid');
    expect(
      parseRecordLine(
        '{"v":1,"ts":1,"type":"item_completed","turnId":"t","item":{"type":"mcpToolCall","id":"m","x":1}}',
      ),
    ).toMatchObject({ kind: 'record', record: { item: { type: 'mcpToolCall', x: 1 } } });
    expect(parseRecordLine('[1]')).toMatchObject({ kind: 'invalid' });
  });
});
