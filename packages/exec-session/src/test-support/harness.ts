import {
  decodeMessage,
  type ErrorObject,
  frameText,
  type Message,
  type RequestId,
} from '@tether/protocol';
import { Changes, waitFor } from '@tether/test-kit';
import { type ExecConnection, ExecService, type ExecServiceOptions } from '../connection.js';

export interface Reply {
  result?: unknown;
  error?: ErrorObject;
}

/**
 * An in-memory client for the exec-server core: it records every message the core sends to it,
 * answers `onWritten` on the next tick (as a socket would), and correlates responses by id.
 */
export class TestClient {
  readonly messages: Message[] = [];
  readonly connection: ExecConnection;
  dropped: string | undefined;
  /** When set, `onWritten` callbacks are held back (a socket that stopped draining). */
  stalled = false;
  private readonly heldWrites: Array<() => void> = [];
  private readonly pending = new Map<RequestId, (reply: Reply) => void>();
  private readonly changes = new Changes();
  private nextId = 1;
  private gone = false;

  /**
   * `encoded` (default true): take notifications serialized, as the exec-server's socket
   * connections do, and parse them back; false: take them as message objects, as an in-process
   * sink without `sendEncoded` does.
   */
  constructor(service: ExecService, options: { encoded?: boolean } = {}) {
    const send = (message: Message, onWritten?: (error?: Error) => void) =>
      this.deliver([message], onWritten);
    if (options.encoded === false) {
      this.connection = service.connect({ send, drop: (reason) => this.onDropped(reason) });
      return;
    }
    this.connection = service.connect({
      send,
      sendEncoded: (frames, onWritten) =>
        this.deliver(
          frames.map((frame) => {
            const decoded = decodeMessage(frameText(frame));
            if (!decoded.ok) throw new Error(`core wrote an invalid frame: ${frameText(frame)}`);
            return decoded.message;
          }),
          onWritten,
        ),
      drop: (reason) => this.onDropped(reason),
    });
  }

  private onDropped(reason: string): void {
    this.dropped = reason;
    this.disconnect();
  }

  private deliver(messages: Message[], onWritten: ((error?: Error) => void) | undefined): void {
    if (this.gone) {
      onWritten?.(new Error('connection is gone'));
      return;
    }
    for (const message of messages) this.receive(message);
    if (!onWritten) return;
    const done = () => setImmediate(() => onWritten(this.gone ? new Error('gone') : undefined));
    if (this.stalled) this.heldWrites.push(done);
    else done();
  }

  private receive(message: Message): void {
    this.messages.push(message);
    if (message.kind === 'response' || message.kind === 'error') {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      resolve?.(
        message.kind === 'response' ? { result: message.result } : { error: message.error },
      );
    }
    this.changes.notify();
  }

  /** Lets held `onWritten` callbacks go and stops holding new ones. */
  drain(): void {
    this.stalled = false;
    for (const done of this.heldWrites.splice(0)) done();
  }

  request(method: string, params?: unknown, id: RequestId = this.nextId++): Promise<Reply> {
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.connection.handle(
        params === undefined
          ? { kind: 'request', id, method }
          : { kind: 'request', id, method, params },
      );
    });
  }

  async call<T = Record<string, unknown>>(method: string, params?: unknown): Promise<T> {
    const reply = await this.request(method, params);
    if (reply.error)
      throw new Error(`${method} failed: ${reply.error.code} ${reply.error.message}`);
    return reply.result as T;
  }

  notify(method: string, params?: unknown): void {
    this.connection.handle(
      params === undefined
        ? { kind: 'notification', method }
        : { kind: 'notification', method, params },
    );
  }

  async initialize(resumeSessionId?: string): Promise<string> {
    const result = await this.call<{ sessionId: string }>('initialize', {
      clientName: 'test',
      ...(resumeSessionId ? { resumeSessionId } : {}),
    });
    this.notify('initialized', {});
    return result.sessionId;
  }

  /** Notifications received for a method (and process), in arrival order. */
  notifications(method: string, processId?: string): Record<string, unknown>[] {
    return this.messages
      .filter((m) => m.kind === 'notification' && m.method === method)
      .map((m) => (m as { params: Record<string, unknown> }).params)
      .filter((p) => processId === undefined || p.processId === processId);
  }

  /** Resolves once `predicate` holds (checked again on every message). */
  async waitFor(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    await waitFor(predicate, { timeoutMs, changes: this.changes });
  }

  /** Waits for `process/closed` of a process and returns its output bytes (stdout+stderr+pty). */
  async waitClosed(processId: string): Promise<Buffer> {
    await this.waitFor(() => this.notifications('process/closed', processId).length > 0);
    return Buffer.concat(
      this.notifications('process/output', processId).map((p) =>
        Buffer.from(p.chunk as string, 'base64'),
      ),
    );
  }

  /** The connection drops: the core detaches the session. */
  disconnect(): void {
    if (this.gone) return;
    this.gone = true;
    this.connection.close();
    for (const done of this.heldWrites.splice(0)) done();
  }
}

export function startParams(
  processId: string,
  argv: string[],
  extra: Record<string, unknown> = {},
) {
  return {
    processId,
    argv,
    cwd: 'file:///tmp',
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    tty: false,
    ...extra,
  };
}

/** Set TETHER_TEST_SPAWN_HELPER=1 to run the suites with the spawn helper. */
export function newService(options: ExecServiceOptions = {}): ExecService {
  return new ExecService({
    exitedProcessTtlMs: 60_000,
    spawnHelper: process.env.TETHER_TEST_SPAWN_HELPER === '1',
    ...options,
  });
}
