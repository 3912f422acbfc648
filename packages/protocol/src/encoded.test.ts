import { describe, expect, it } from 'vitest';
import { type EncodedMessage, frameByteLength, frameText, writeFrame } from './encoded.js';

/** An encoded message over fixed bytes, as a producer of pre-encoded frames would write it. */
function bytesMessage(text: string): EncodedMessage {
  const bytes = Buffer.from(text, 'utf8');
  return { byteLength: bytes.length, writeTo: (target, offset) => void bytes.copy(target, offset) };
}

describe('encoded frames', () => {
  it('measures strings in UTF-8 bytes, not characters', () => {
    expect(frameByteLength('{"a":"é"}')).toBe(10);
    expect(frameByteLength('{"a":"😀"}')).toBe(12);
    expect(frameByteLength(bytesMessage('{"a":"é"}'))).toBe(10);
  });

  it('writes strings and encoded messages back to back at the offset it is given', () => {
    const frames = ['{"a":"é"}', bytesMessage('{"b":2}')];
    const total = frames.reduce((sum, f) => sum + frameByteLength(f), 0);
    const target = Buffer.alloc(total + 2, 0x2e);
    let offset = 1;
    for (const frame of frames) offset += writeFrame(target, offset, frame);
    expect(offset).toBe(total + 1);
    expect(target.toString('utf8')).toBe('.{"a":"é"}{"b":2}.');
  });

  it('turns an encoded message back into its text', () => {
    expect(frameText(bytesMessage('{"c":"ü"}'))).toBe('{"c":"ü"}');
    expect(frameText('{"d":1}')).toBe('{"d":1}');
  });
});
