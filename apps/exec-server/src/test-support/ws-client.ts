import { connectWebSocket, RpcPeer, type WebSocketChannel } from '@tether/client';
import {
  type ErrorObject,
  exec,
  isRpcError,
  type NotificationMessage,
  parseWith,
  toWire,
} from '@tether/protocol';
import { Changes, waitFor } from '@tether/test-kit';

export interface Reply {
  id: number;
  result?: Record<string, unknown>;
  error?: ErrorObject;
}

/** Output of one process as this client has seen it, by seq (notifications and reads merged). */
export class ProcessCollector {
  readonly output = new Map<number, Buffer>();
  exitSeq: number | undefined;
  exitCode: number | undefined;
  closedSeq: number | undefined;
  /** Highest seq seen such that every seq up to it was seen. */
  contiguous = 0;

  add(seq: number, data?: Buffer): void {
    if (data) this.output.set(seq, data);
    while (
      this.output.has(this.contiguous + 1) ||
      this.exitSeq === this.contiguous + 1 ||
      this.closedSeq === this.contiguous + 1
    ) {
      this.contiguous += 1;
    }
  }

  get complete(): boolean {
    return this.closedSeq !== undefined && this.contiguous >= this.closedSeq;
  }

  bytes(): Buffer {
    return Buffer.concat([...this.output.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b));
  }
}

/**
 * A JSON-RPC client for tests that shows what a reference client puts on the wire: replies as
 * `{result}` or `{error}` rather than thrown errors, malformed frames on request (`send`), and
 * every inbound message as wire JSON (`raw`, with `keepRaw`).
 */
export class WsClient {
  readonly channel: WebSocketChannel;
  readonly peer: RpcPeer;
  readonly processes = new Map<string, ProcessCollector>();
  readonly raw: Array<Record<string, unknown>> = [];
  keepRaw = false;
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private readonly changes = new Changes();
  private nextId = 1;

  private constructor(channel: WebSocketChannel) {
    this.channel = channel;
    this.peer = new RpcPeer(channel);
    this.peer.on('message', (message) => {
      if (this.keepRaw) this.raw.push(toWire(message));
      if (message.kind === 'notification') this.track(message);
      this.wake();
    });
    this.closed = this.peer.closed.then((info) => {
      this.closeCode = info.code;
      this.wake();
      return info.code;
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new WsClient(await connectWebSocket(url, { headers, skipUTF8Validation: true }));
  }

  collector(processId: string): ProcessCollector {
    let collector = this.processes.get(processId);
    if (!collector) {
      collector = new ProcessCollector();
      this.processes.set(processId, collector);
    }
    return collector;
  }

  /** Merges process events into their collectors (tests look at them as they fill). */
  private track(message: NotificationMessage): void {
    const event = processEvent(message);
    if (event) {
      const collector = this.collector(event.processId);
      if (event.method === 'process/output') {
        collector.add(event.seq, Buffer.from(event.chunk, 'base64'));
      } else if (event.method === 'process/exited') {
        collector.exitSeq = event.seq;
        collector.exitCode = event.exitCode;
        collector.add(event.seq);
      } else {
        collector.closedSeq = event.seq;
        collector.add(event.seq);
      }
    }
  }

  private wake(): void {
    this.changes.notify();
  }

  /** Puts `text` on the wire as one frame, as it is. */
  send(text: string): void {
    this.channel.sendRaw(text);
  }

  /** Sends a request and resolves with the reply as it came: `{id, result}` or `{id, error}`. */
  async request(method: string, params?: unknown): Promise<Reply> {
    const id = this.nextId++;
    try {
      const result = await this.peer.request(method, params, { id });
      return { id, result: isRecord(result) ? result : {} };
    } catch (error) {
      if (isRpcError(error)) return { id, error: error.toErrorObject() };
      return { id, error: { code: 0, message: 'connection closed' } };
    }
  }

  async call(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const reply = await this.request(method, params);
    if (reply.error) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
    return reply.result ?? {};
  }

  notify(method: string, params: unknown = {}): void {
    this.peer.notify(method, params);
  }

  async initialize(resumeSessionId?: string): Promise<string> {
    const result = await this.call('initialize', {
      clientName: 'test',
      ...(resumeSessionId ? { resumeSessionId } : {}),
    });
    this.notify('initialized');
    return result.sessionId as string;
  }

  /** Resolves once `predicate` holds (checked again on every message and on close). */
  async waitFor(predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
    await waitFor(predicate, { timeoutMs, changes: this.changes });
  }

  /**
   * Reads a process from `afterSeq` until it is complete, merging chunks by seq. Exit and close use
   * seqs but never appear in chunks: once a read after the last chunk says `closed`, `nextSeq - 1`
   * is the close and the one seq still missing is the exit.
   */
  async catchUp(processId: string, afterSeq: number, maxBytes?: number): Promise<ProcessCollector> {
    const collector = this.collector(processId);
    let cursor = afterSeq;
    while (!collector.complete) {
      const read = await this.call('process/read', {
        processId,
        afterSeq: cursor,
        waitMs: 2_000,
        ...(maxBytes ? { maxBytes } : {}),
      });
      const chunks = read.chunks as { seq: number; chunk: string }[];
      for (const chunk of chunks) collector.add(chunk.seq, Buffer.from(chunk.chunk, 'base64'));
      const nextSeq = read.nextSeq as number;
      if (read.closed && chunks.length === 0) {
        collector.closedSeq ??= nextSeq - 1;
        if (read.exited) collector.exitCode ??= read.exitCode as number;
        const missing: number[] = [];
        for (let seq = 1; seq < collector.closedSeq; seq++) {
          if (!collector.output.has(seq) && seq !== collector.exitSeq) missing.push(seq);
        }
        if (collector.exitSeq === undefined && missing.length === 1) collector.exitSeq = missing[0];
        collector.add(collector.closedSeq);
        if (!collector.complete) {
          throw new Error(
            `process ${processId} has a gap: seqs up to ${collector.contiguous} held`,
          );
        }
        break;
      }
      cursor = Math.max(cursor, nextSeq - 1);
    }
    return collector;
  }

  close(): void {
    this.channel.close();
  }

  /** Drops the TCP connection without a close frame. */
  terminate(): void {
    this.channel.terminate();
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type ProcessEvent =
  | ({ method: 'process/output' } & exec.ProcessOutputNotification)
  | ({ method: 'process/exited' } & exec.ProcessExitedNotification)
  | ({ method: 'process/closed' } & exec.ProcessClosedNotification);

/** A process notification parsed with its schema (undefined for anything else). */
function processEvent(message: NotificationMessage): ProcessEvent | undefined {
  const { method, params } = message;
  if (method === 'process/output') {
    const parsed = parseWith(exec.notifications[method], params);
    return parsed.ok ? { method, ...parsed.value } : undefined;
  }
  if (method === 'process/exited') {
    const parsed = parseWith(exec.notifications[method], params);
    return parsed.ok ? { method, ...parsed.value } : undefined;
  }
  if (method === 'process/closed') {
    const parsed = parseWith(exec.notifications[method], params);
    return parsed.ok ? { method, ...parsed.value } : undefined;
  }
  return undefined;
}
