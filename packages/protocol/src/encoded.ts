/**
 * A message that is already serialized and writes its own UTF-8 bytes. Writers copy it straight
 * into the frame they build, with no intermediate string: for large payloads (base64 output
 * chunks) that saves a copy and a UTF-8 encoding pass per message.
 */
export interface EncodedMessage {
  /** The exact number of bytes `writeTo` writes. */
  readonly byteLength: number;
  /** Writes the serialized message (UTF-8 JSON) into `target` at `offset`. */
  writeTo(target: Buffer, offset: number): void;
}

/** A serialized message: JSON text, or an `EncodedMessage`. */
export type EncodedFrame = string | EncodedMessage;

/** The UTF-8 size of a serialized message. */
export function frameByteLength(frame: EncodedFrame): number {
  return typeof frame === 'string' ? Buffer.byteLength(frame, 'utf8') : frame.byteLength;
}

/** Writes a serialized message into `target` at `offset`; returns the bytes written. */
export function writeFrame(target: Buffer, offset: number, frame: EncodedFrame): number {
  if (typeof frame === 'string') return target.write(frame, offset, 'utf8');
  frame.writeTo(target, offset);
  return frame.byteLength;
}

/** A serialized message as one string (for writers that need text). */
export function frameText(frame: EncodedFrame): string {
  if (typeof frame === 'string') return frame;
  const bytes = Buffer.allocUnsafe(frame.byteLength);
  frame.writeTo(bytes, 0);
  return bytes.toString('utf8');
}
