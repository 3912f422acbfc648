import { decodeMessage, type EncodedFrame, frameText, type Message } from '@tether/protocol';
import { allocateConnectionId, type CloseReason, type Connection } from '@tether/transport';

/** Somewhere to hand messages for one in-process client. */
export interface MessageSink {
  send(message: Message): void;
  /** The service dropped the client (a slow consumer); default: nothing to do. */
  close?(reason: CloseReason): void;
}

/**
 * A {@link Connection} for a client in the same process (an embedder, a test): what the service
 * writes is handed to `sink` as messages, at once, so it never backs up.
 */
export function sinkConnection(sink: MessageSink): Connection {
  let closed = false;
  const deliver = (frame: EncodedFrame) => {
    if (closed) return;
    const decoded = decodeMessage(frameText(frame));
    if (decoded.ok) sink.send(decoded.message);
  };
  return {
    id: allocateConnectionId(),
    origin: 'websocket',
    peer: 'in-process',
    canDisconnect: true,
    disconnect: (reason) => {
      if (closed) return false;
      closed = true;
      sink.close?.(reason);
      return true;
    },
    writer: {
      write: (frame, onWritten) => {
        deliver(frame);
        onWritten?.();
      },
      writeMany: (frames, onWritten) => {
        for (const frame of frames) deliver(frame);
        onWritten?.();
      },
      bufferedBytes: 0,
      full: false,
      get closed() {
        return closed;
      },
      waitForDrain: async () => {},
    },
  };
}
