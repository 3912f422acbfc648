import type { EncodedMessage } from '@tether/protocol';
import type { OutputChunk, OutputStream } from './output-log.js';

const STREAM_PARTS: Record<OutputStream, Buffer> = {
  stdout: Buffer.from(',"stream":"stdout","chunk":"', 'latin1'),
  stderr: Buffer.from(',"stream":"stderr","chunk":"', 'latin1'),
  pty: Buffer.from(',"stream":"pty","chunk":"', 'latin1'),
};
const CLOSING_QUOTE = 0x22;
const CLOSING_BRACE = 0x7d;

/**
 * The `process/output` notifications of one process in their wire form, byte for byte what
 * `encodeMessage` writes for them, written straight into the frame buffer: the escaped process id
 * is encoded once per process, and the base64 chunk (most of every frame) is copied once, with no
 * JSON string built around it.
 */
export class OutputNotificationEncoder {
  private readonly head: Buffer;

  constructor(processId: string) {
    this.head = Buffer.from(
      `{"method":"process/output","params":{"processId":${JSON.stringify(processId)},"seq":`,
      'utf8',
    );
  }

  encode(chunk: OutputChunk): EncodedMessage {
    return new OutputFrame(this.head, chunk);
  }
}

class OutputFrame implements EncodedMessage {
  readonly byteLength: number;
  private readonly seqText: string;

  constructor(
    private readonly head: Buffer,
    private readonly chunk: OutputChunk,
  ) {
    this.seqText = String(chunk.seq);
    this.byteLength =
      head.length +
      this.seqText.length +
      STREAM_PARTS[chunk.stream].length +
      Math.ceil(chunk.data.length / 3) * 4 +
      3;
  }

  writeTo(target: Buffer, offset: number): void {
    let at = offset + this.head.copy(target, offset);
    at += target.write(this.seqText, at, 'latin1');
    at += STREAM_PARTS[this.chunk.stream].copy(target, at);
    at += target.write(this.chunk.data.toString('base64'), at, 'latin1');
    target[at] = CLOSING_QUOTE;
    target[at + 1] = CLOSING_BRACE;
    target[at + 2] = CLOSING_BRACE;
  }
}
