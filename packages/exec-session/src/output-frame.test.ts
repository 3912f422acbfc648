import { encodeMessage, frameText, notification } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { OutputNotificationEncoder } from './output-frame.js';
import type { OutputStream } from './output-log.js';

describe('OutputNotificationEncoder', () => {
  it('writes exactly what encodeMessage writes, for any process id, stream, seq and chunk size', () => {
    const ids = ['p1', 'with "quotes" and \\ backslash', 'é😀\u2028\n\t', ''];
    const streams: OutputStream[] = ['stdout', 'stderr', 'pty'];
    const sizes = [0, 1, 2, 3, 4, 8191, 8192];
    for (const processId of ids) {
      const encoder = new OutputNotificationEncoder(processId);
      for (const stream of streams) {
        for (const size of sizes) {
          const data = Buffer.alloc(size);
          for (let i = 0; i < size; i++) data[i] = (i * 37 + size) & 0xff;
          const seq = size * 1000 + 7;
          const frame = encoder.encode({ seq, stream, data });
          const expected = encodeMessage(
            notification('process/output', {
              processId,
              seq,
              stream,
              chunk: data.toString('base64'),
            }),
          );
          expect(frame.byteLength).toBe(Buffer.byteLength(expected));
          expect(frameText(frame)).toBe(expected);
        }
      }
    }
  });

  it('writes at the offset it is given and nowhere else', () => {
    const frame = new OutputNotificationEncoder('p').encode({
      seq: 3,
      stream: 'stdout',
      data: Buffer.from('hi'),
    });
    const target = Buffer.alloc(frame.byteLength + 4, 0x2e);
    frame.writeTo(target, 2);
    expect(target.toString('utf8')).toBe(
      '..{"method":"process/output","params":{"processId":"p","seq":3,"stream":"stdout","chunk":"aGk="}}..',
    );
  });
});
