import { PassThrough } from 'node:stream';
import { waitFor } from '@tether/test-kit';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Inbound, type TransportEvent } from './connection.js';
import { silentLogger } from './logger.js';
import { startStdio } from './stdio.js';

const logger = silentLogger();

async function take(inbound: Inbound, n: number): Promise<TransportEvent[]> {
  const out: TransportEvent[] = [];
  for (let i = 0; i < n; i++) {
    const next = await inbound.events.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('stdio transport', () => {
  it('reads NDJSON, skips malformed lines, survives them and closes on EOF', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const inbound = new Inbound({ logger });
    const { connection } = startStdio(inbound, { input, output, logger });
    expect(connection.origin).toBe('stdio');
    expect(connection.canDisconnect).toBe(false);
    expect(connection.disconnect({ code: 1000, reason: 'x' })).toBe(false);

    input.write('{"id":1,"method":"initialize"');
    input.write(',"params":{}}\n{bad json}\n\n');
    input.write('{"method":"initialized"}\r\n{"id":2,"result":{}}');
    input.end();
    const events = await take(inbound, 5);
    expect(events.map((e) => e.type)).toEqual([
      'opened',
      'message',
      'invalid',
      'message',
      'message',
    ]);
    expect(events[1]).toMatchObject({ message: { kind: 'request', id: 1, method: 'initialize' } });
    expect(events[3]).toMatchObject({ message: { kind: 'notification', method: 'initialized' } });
    // the last line had no newline before EOF and is still delivered
    expect(events[4]).toMatchObject({ message: { kind: 'response', id: 2 } });
    expect(await take(inbound, 1)).toEqual([{ type: 'closed', connectionId: connection.id }]);
  });

  it('writes one message per line', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const inbound = new Inbound({ logger });
    const { connection } = startStdio(inbound, { input, output, logger });
    connection.writer.write('{"id":1,"result":{}}');
    await new Promise<void>((resolve) =>
      connection.writer.write('{"method":"x"}', () => resolve()),
    );
    expect(output.read().toString()).toBe('{"id":1,"result":{}}\n{"method":"x"}\n');
    input.end();
  });

  it('writeMany writes one line per message, strings and pre-encoded ones alike', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const inbound = new Inbound({ logger });
    const { connection } = startStdio(inbound, { input, output, logger });
    const bytes = Buffer.from('{"method":"pre","params":{"s":"é"}}', 'utf8');
    const encoded = {
      byteLength: bytes.length,
      writeTo: (target: Buffer, offset: number) => void bytes.copy(target, offset),
    };
    connection.writer.write('{"id":1,"result":{}}');
    const error = await new Promise<Error | undefined>((resolve) =>
      connection.writer.writeMany(['{"method":"a","params":{"s":"😀"}}', encoded], resolve),
    );
    expect(error).toBeUndefined();
    connection.writer.write(encoded);
    expect(output.read().toString()).toBe(
      '{"id":1,"result":{}}\n{"method":"a","params":{"s":"😀"}}\n{"method":"pre","params":{"s":"é"}}\n{"method":"pre","params":{"s":"é"}}\n',
    );
    input.end();
  });

  it('skips a line over the size limit and keeps reading', async () => {
    const input = new PassThrough();
    const inbound = new Inbound({ logger });
    startStdio(inbound, { input, output: new PassThrough(), logger, maxLineBytes: 100 });
    input.write(`{"method":"big","params":"${'x'.repeat(150)}`);
    input.write(`${'y'.repeat(150)}"}\n{"method":"small"}\n`);
    input.end();
    const events = await take(inbound, 3);
    expect(events.map((e) => e.type)).toEqual(['opened', 'message', 'closed']);
    expect(events[1]).toMatchObject({ message: { method: 'small' } });
  });

  it('a request that finds the queue full is refused without blocking, even when stdout is full', async () => {
    const input = new PassThrough();
    const output = new PassThrough({ highWaterMark: 16 });
    const lines: string[] = [];
    const captured = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const inbound = new Inbound({ logger: captured, capacity: 1 });
    const { connection } = startStdio(inbound, { input, output, logger: captured });
    // nobody reads output: fill it past its high-water mark
    connection.writer.write('x'.repeat(64));
    expect(connection.writer.full).toBe(true);
    input.write('{"id":9,"method":"thread/list","params":{}}\n');
    input.write('{"id":10,"result":{}}\n');
    // opened is in the one slot; the request is refused (reply dropped: stdout is full) and the
    // response waits for room instead of being lost
    await waitFor(() => lines.some((l) => l.includes('dropping overload response')));
    const first = await take(inbound, 1);
    expect(first[0]?.type).toBe('opened');
    const second = await take(inbound, 1);
    expect(second[0]).toMatchObject({ type: 'message', message: { kind: 'response', id: 10 } });
    expect(output.read().toString()).toBe(`${'x'.repeat(64)}\n`);
    input.end();
  });
});
