import { readFileSync } from 'node:fs';
import {
  type EncodedFrame,
  encodeMessage,
  exec,
  internalError,
  invalidRequest,
  type Message,
  notification,
  RpcError,
} from '@tether/protocol';
import { ManagedProcess, type ManagedProcessOptions, type ProcessSpec } from './managed-process.js';
import { osErrorMessage } from './os-error.js';
import { OutputNotificationEncoder } from './output-frame.js';
import type { ProcessEvent } from './output-log.js';
import {
  type BwrapOptions,
  layoutFromProfile,
  probeSandbox,
  SandboxError,
  type SandboxLayout,
} from './sandbox.js';

/** The layout a sandbox context asks for (`undefined`: none); an entry tether cannot enforce is refused. */
export function sandboxLayout(context: exec.SandboxContext): SandboxLayout | undefined {
  try {
    return layoutFromProfile(context.permissions, {
      workspaceRoots: (context.workspaceRoots ?? []).map((uri) => exec.fileUriToPath(uri)),
    });
  } catch (error) {
    if (error instanceof SandboxError) throw new RpcError(internalError(error.message));
    throw new RpcError(invalidRequest((error as Error).message), { cause: error });
  }
}

/** Where a session's notifications and responses go: the attached connection. */
export interface MessageSink {
  /**
   * Hands a message to the connection. `onWritten` fires once it was written to the socket, or
   * with an error when it never will be.
   */
  send(message: Message, onWritten?: (error?: Error) => void): void;
  /**
   * Optional fast path for notifications: several messages already serialized, in order, with one
   * `onWritten` once the last was written (or with an error when they never will be). Sinks
   * without it get each notification through `send`.
   */
  sendEncoded?(frames: readonly EncodedFrame[], onWritten?: (error?: Error) => void): void;
}

export interface SessionOptions extends ManagedProcessOptions {
  /** How long an exited process stays readable (and its id taken) after it closed (75 s). */
  exitedProcessTtlMs?: number;
  /** Notification bytes handed to a connection and not yet written to its socket (4 MiB). */
  notificationWindowBytes?: number;
  /**
   * Bytes written to a connection's socket that may still be in flight (kernel socket buffers on
   * both ends) and so are kept until newer writes push them out of this window or the client
   * acknowledges them. Default: the kernel's largest send plus receive buffer
   * (`tcp_wmem` + `tcp_rmem` maxima on Linux), else 16 MiB.
   */
  unconfirmedWindowBytes?: number;
  /** How sandboxed processes are run (which bubblewrap; what else to hide or protect). */
  sandbox?: SandboxSettings;
}

/** Where bubblewrap is and what every sandbox hides or keeps read-only besides its profile. */
export interface SandboxSettings extends BwrapOptions {
  /** The bwrap to use (default: the first on the server's PATH). */
  bwrap?: string;
}

export const DEFAULT_EXITED_PROCESS_TTL_MS = 75_000;
export const DEFAULT_NOTIFICATION_WINDOW_BYTES = 4 * 1024 * 1024;

function sysctlMax(path: string): number | undefined {
  try {
    const value = Number(readFileSync(path, 'utf8').trim().split(/\s+/)[2]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The most a TCP connection can hold in flight here: largest send buffer plus receive buffer. */
export function defaultUnconfirmedWindowBytes(): number {
  const send = sysctlMax('/proc/sys/net/ipv4/tcp_wmem');
  const receive = sysctlMax('/proc/sys/net/ipv4/tcp_rmem');
  return send !== undefined && receive !== undefined ? send + receive : 16 * 1024 * 1024;
}

let cachedUnconfirmedWindow: number | undefined;
export const RESUMED_ELSEWHERE_MESSAGE = 'session has been resumed by another connection';

interface Cursor {
  /** First seq this attachment notifies (earlier ones must be read). */
  start: number;
  /** Next seq to notify. */
  next: number;
  /** Highest seq such that every notification from `start` to it left the unconfirmed window. */
  confirmed: number;
}

/** Something written to the socket that may still be in flight. */
interface Unconfirmed {
  entry: ProcessEntry;
  /** The notification's seq, or for a read response the last seq it covered. */
  seq: number;
  bytes: number;
  kind: 'notification' | 'read';
}

interface Waiter {
  attachment: Attachment;
  wake(outcome: 'event' | 'evicted'): void;
}

interface ProcessEntry {
  process: ManagedProcess;
  /** The attachment whose `process/start` created it. */
  startedBy: Attachment;
  /** True once the start response was handed to the connection: notifications may follow it. */
  announced: boolean;
  waiters: Set<Waiter>;
  retentionTimer: NodeJS.Timeout | undefined;
  /** Serializes this process's output notifications (made on first use). */
  encoder: OutputNotificationEncoder | undefined;
}

type TableEntry = { state: 'starting' } | ({ state: 'running' } & ProcessEntry);

/**
 * One connection's hold on a session. Notifications flow only to the current attachment; once the
 * session is resumed elsewhere, an old attachment's requests and long polls get
 * `session has been resumed by another connection`.
 */
export class Attachment {
  readonly session: Session;
  readonly sink: MessageSink;
  readonly cursors = new Map<ProcessEntry, Cursor>();
  readonly ready = new Set<ProcessEntry>();
  /** Written to the socket, oldest first, possibly still in the kernel's buffers. */
  readonly unconfirmed: Unconfirmed[] = [];
  unconfirmedHead = 0;
  unconfirmedBytes = 0;
  inflightBytes = 0;
  pumping = false;
  pumpScheduled = false;

  constructor(session: Session, sink: MessageSink) {
    this.session = session;
    this.sink = sink;
  }

  /** True while this is the session's attachment. */
  get current(): boolean {
    return this.session.attachment === this;
  }
}

function estimateFrameBytes(event: ProcessEvent, processId: string): number {
  const base = 96 + processId.length;
  if (event.kind !== 'output') return base;
  return base + Math.ceil(event.chunk.data.length / 3) * 4;
}

function toNotification(event: ProcessEvent, processId: string): Message {
  switch (event.kind) {
    case 'output':
      return notification('process/output', {
        processId,
        seq: event.chunk.seq,
        stream: event.chunk.stream,
        chunk: event.chunk.data.toString('base64'),
      });
    case 'exited':
      return notification('process/exited', {
        processId,
        seq: event.seq,
        exitCode: event.exitCode,
        sandboxDenied: false,
      });
    case 'closed':
      return notification('process/closed', { processId, seq: event.seq });
  }
}

/** `process/read` result plus the additive `firstRetainedSeq` when output was dropped. */
export type ReadResult = exec.ProcessReadResult & { firstRetainedSeq?: number };

/**
 * A session: the processes one client owns, whichever connection it currently uses. It numbers and
 * retains output, pushes notifications to the attached connection under a byte window (so a slow
 * socket slows the children instead of growing queues), and answers reads with long polls.
 */
export class Session {
  readonly id: string;
  attachment: Attachment | undefined;
  /** `performance.now()` when the session was last detached. */
  detachedAt: number | undefined;
  /** Bumped at every detach, so an old expiry timer never fires for a later detach. */
  detachGeneration = 0;
  expiryTimer: NodeJS.Timeout | undefined;
  private readonly table = new Map<string, TableEntry>();
  private readonly options: SessionOptions;
  private readonly exitedTtlMs: number;
  private readonly windowBytes: number;
  private readonly unconfirmedWindow: number;
  private disposed = false;

  constructor(id: string, options: SessionOptions = {}) {
    this.id = id;
    this.options = options;
    this.exitedTtlMs = options.exitedProcessTtlMs ?? DEFAULT_EXITED_PROCESS_TTL_MS;
    this.windowBytes = options.notificationWindowBytes ?? DEFAULT_NOTIFICATION_WINDOW_BYTES;
    cachedUnconfirmedWindow ??= defaultUnconfirmedWindowBytes();
    this.unconfirmedWindow = options.unconfirmedWindowBytes ?? cachedUnconfirmedWindow;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The processes of this session (running or retained after exit). */
  processes(): ManagedProcess[] {
    const out: ManagedProcess[] = [];
    for (const entry of this.table.values()) if (entry.state === 'running') out.push(entry.process);
    return out;
  }

  /**
   * Attaches a connection. Existing processes are notified from their next event on (what they
   * produced before must be read with `process/read`); long polls of earlier attachments fail.
   */
  attach(sink: MessageSink): Attachment {
    const attachment = new Attachment(this, sink);
    this.attachment = attachment;
    this.detachedAt = undefined;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    for (const entry of this.table.values()) {
      if (entry.state !== 'running') continue;
      for (const waiter of [...entry.waiters]) {
        if (waiter.attachment !== attachment) waiter.wake('evicted');
      }
      if (entry.announced) this.track(attachment, entry, entry.process.log.nextSeq);
    }
    return attachment;
  }

  /** Detaches `attachment` if it is the current one; returns whether it was. */
  detach(attachment: Attachment, now: number): boolean {
    if (this.attachment !== attachment) return false;
    this.attachment = undefined;
    this.detachedAt = now;
    this.detachGeneration += 1;
    return true;
  }

  /** Starts a process. Duplicate ids and spawn failures are JSON-RPC errors (a failure frees the id). */
  async startProcess(
    attachment: Attachment,
    params: exec.ProcessStartParams,
    cwd: string,
  ): Promise<ManagedProcess> {
    const id = params.processId;
    if (this.table.has(id)) throw new RpcError(invalidRequest(`process ${id} already exists`));
    this.table.set(id, { state: 'starting' });
    const spec: ProcessSpec = {
      processId: id,
      argv: params.argv,
      cwd,
      env: params.env,
      envPolicy: params.envPolicy,
      tty: params.tty,
      pipeStdin: params.pipeStdin ?? false,
      arg0: params.arg0,
    };
    let process: ManagedProcess;
    try {
      if (params.sandbox) {
        const layout = sandboxLayout(params.sandbox);
        if (layout) spec.sandbox = await this.sandboxFor(layout);
      }
      process = await ManagedProcess.start(spec, this.options);
    } catch (error) {
      this.table.delete(id);
      if (error instanceof RpcError) throw error;
      throw new RpcError(internalError(osErrorMessage(error)), { cause: error });
    }
    if (this.disposed) {
      process.dispose();
      this.table.delete(id);
      throw new RpcError(invalidRequest(`unknown session id ${this.id}`));
    }
    const entry: TableEntry = {
      state: 'running',
      process,
      startedBy: attachment,
      announced: false,
      waiters: new Set(),
      retentionTimer: undefined,
      encoder: undefined,
    };
    this.table.set(id, entry);
    process.onEvent((event) => this.onProcessEvent(entry, event));
    return process;
  }

  /** How a sandboxed process runs here; a sandbox that cannot be had is an error, never skipped. */
  private async sandboxFor(layout: SandboxLayout): Promise<NonNullable<ProcessSpec['sandbox']>> {
    const settings = this.options.sandbox ?? {};
    const support = await probeSandbox(settings.bwrap ? { bwrap: settings.bwrap } : {});
    if (!support.available || !support.bwrap) {
      throw new SandboxError('UNAVAILABLE', support.problem ?? 'the sandbox is unavailable');
    }
    return { bwrap: support.bwrap, layout, options: settings };
  }

  /**
   * Call once the `process/start` response was handed to the connection: the process's
   * notifications may follow it from now on.
   */
  announce(processId: string): void {
    const entry = this.table.get(processId);
    if (entry?.state !== 'running' || entry.announced) return;
    entry.announced = true;
    const attachment = this.attachment;
    if (!attachment) return;
    this.track(attachment, entry, attachment === entry.startedBy ? 1 : entry.process.log.nextSeq);
  }

  /** Answers `process/read`: acknowledges `afterSeq`, long-polls up to `waitMs`. */
  async read(attachment: Attachment, params: exec.ProcessReadParams): Promise<ReadResult> {
    const resumedElsewhere = () => !attachment.current && this.attachment !== undefined;
    if (resumedElsewhere()) throw new RpcError(invalidRequest(RESUMED_ELSEWHERE_MESSAGE));
    const entry = this.lookup(params.processId);
    const afterSeq = params.afterSeq ?? 0;
    const log = entry.process.log;
    this.acknowledge(attachment, entry, afterSeq);
    const waitMs = params.waitMs ?? 0;
    if (waitMs > 0 && !log.hasNews(afterSeq)) {
      const deadline = performance.now() + waitMs;
      while (!log.hasNews(afterSeq)) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        const outcome = await this.waitForEvent(entry, attachment, left);
        if (outcome === 'evicted') throw new RpcError(invalidRequest(RESUMED_ELSEWHERE_MESSAGE));
      }
    }
    if (resumedElsewhere()) throw new RpcError(invalidRequest(RESUMED_ELSEWHERE_MESSAGE));
    const window = log.read(afterSeq, params.maxBytes);
    const exit = log.exited;
    const result: ReadResult = {
      chunks: window.chunks.map((chunk) => ({
        seq: chunk.seq,
        stream: chunk.stream,
        chunk: chunk.data.toString('base64'),
      })),
      nextSeq: window.nextSeq,
      exited: exit !== undefined,
      exitCode: exit?.exitCode ?? null,
      closed: log.closedSeq !== undefined,
      failure: null,
      sandboxDenied: false,
    };
    if (window.firstRetainedSeq !== undefined) result.firstRetainedSeq = window.firstRetainedSeq;
    return result;
  }

  /**
   * Call once a `process/read` response of `bytes` was written: everything before `nextSeq` is on
   * its way to the client (released once it leaves the unconfirmed window).
   */
  readDelivered(attachment: Attachment, processId: string, nextSeq: number, bytes: number): void {
    if (!attachment.current) return;
    const entry = this.table.get(processId);
    if (entry?.state !== 'running') return;
    entry.process.log.markDelivered(nextSeq - 1);
    entry.process.resumeIfRoom();
    this.addUnconfirmed(attachment, { entry, seq: nextSeq - 1, bytes, kind: 'read' });
  }

  write(params: exec.ProcessWriteParams): exec.ProcessWriteStatus {
    const entry = this.table.get(params.processId);
    if (!entry) return 'unknownProcess';
    if (entry.state === 'starting') return 'starting';
    const process = entry.process;
    if (!process.hasStdin) return 'stdinClosed';
    try {
      process.write(Buffer.from(params.chunk, 'base64'));
    } catch (error) {
      throw new RpcError(internalError('failed to write to process stdin'), { cause: error });
    }
    return 'accepted';
  }

  signal(params: exec.ProcessSignalParams): void {
    const entry = this.lookup(params.processId);
    if (params.signal === 'interrupt') entry.process.signal('SIGINT');
  }

  terminate(processId: string): boolean {
    const entry = this.table.get(processId);
    if (entry?.state !== 'running') return false;
    return entry.process.terminate();
  }

  /** Kills every process group and forgets the processes. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.expiryTimer);
    this.attachment = undefined;
    for (const entry of this.table.values()) {
      if (entry.state !== 'running') continue;
      clearTimeout(entry.retentionTimer);
      for (const waiter of [...entry.waiters]) waiter.wake('evicted');
      entry.process.dispose();
    }
    this.table.clear();
  }

  private lookup(processId: string): ProcessEntry {
    const entry = this.table.get(processId);
    if (!entry) throw new RpcError(invalidRequest(`unknown process id ${processId}`));
    if (entry.state === 'starting') {
      throw new RpcError(invalidRequest(`process id ${processId} is starting`));
    }
    return entry;
  }

  private waitForEvent(
    entry: ProcessEntry,
    attachment: Attachment,
    timeoutMs: number,
  ): Promise<'event' | 'evicted' | 'timeout'> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        attachment,
        wake: (outcome) => {
          clearTimeout(timer);
          entry.waiters.delete(waiter);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => {
        entry.waiters.delete(waiter);
        resolve('timeout');
      }, timeoutMs);
      entry.waiters.add(waiter);
    });
  }

  private onProcessEvent(entry: ProcessEntry, event: ProcessEvent): void {
    for (const waiter of [...entry.waiters]) waiter.wake('event');
    if (event.kind === 'closed') {
      entry.retentionTimer = setTimeout(() => {
        if (this.table.get(entry.process.processId) === entry) {
          this.table.delete(entry.process.processId);
          this.attachment?.cursors.delete(entry);
          this.attachment?.ready.delete(entry);
        }
      }, this.exitedTtlMs);
      entry.retentionTimer.unref();
    }
    const attachment = this.attachment;
    if (attachment?.cursors.has(entry)) {
      attachment.ready.add(entry);
      this.schedulePump(attachment);
    }
  }

  private track(attachment: Attachment, entry: ProcessEntry, start: number): void {
    attachment.cursors.set(entry, { start, next: start, confirmed: start - 1 });
    if (start < entry.process.log.nextSeq) {
      attachment.ready.add(entry);
      this.schedulePump(attachment);
    }
  }

  private acknowledge(attachment: Attachment, entry: ProcessEntry, afterSeq: number): void {
    if (!attachment.current) return;
    if (entry.process.log.release(afterSeq)) this.afterRelease(attachment, entry);
  }

  /** Extends the released prefix over what this attachment confirmed, then lets the child run. */
  private afterRelease(attachment: Attachment, entry: ProcessEntry): void {
    const cursor = attachment.cursors.get(entry);
    const log = entry.process.log;
    if (
      cursor &&
      log.releasedThrough >= cursor.start - 1 &&
      cursor.confirmed > log.releasedThrough
    ) {
      log.release(cursor.confirmed);
    }
    entry.process.resumeIfRoom();
  }

  /**
   * Records a write that may still be in flight. Once more than the unconfirmed window was written
   * after it, the socket buffers cannot hold it any more: the client has it, so it is released.
   */
  private addUnconfirmed(attachment: Attachment, item: Unconfirmed): void {
    attachment.unconfirmed.push(item);
    attachment.unconfirmedBytes += item.bytes;
    while (attachment.unconfirmedBytes > this.unconfirmedWindow) {
      const oldest = attachment.unconfirmed[attachment.unconfirmedHead] as Unconfirmed;
      attachment.unconfirmed[attachment.unconfirmedHead] = undefined as unknown as Unconfirmed;
      attachment.unconfirmedHead += 1;
      attachment.unconfirmedBytes -= oldest.bytes;
      this.confirm(attachment, oldest);
    }
    if (
      attachment.unconfirmedHead > 4096 &&
      attachment.unconfirmedHead * 2 > attachment.unconfirmed.length
    ) {
      attachment.unconfirmed.splice(0, attachment.unconfirmedHead);
      attachment.unconfirmedHead = 0;
    }
  }

  private confirm(attachment: Attachment, item: Unconfirmed): void {
    if (!attachment.current) return;
    const log = item.entry.process.log;
    if (item.kind === 'read') {
      if (log.release(item.seq)) this.afterRelease(attachment, item.entry);
      return;
    }
    const cursor = attachment.cursors.get(item.entry);
    if (!cursor || item.seq !== cursor.confirmed + 1) return;
    cursor.confirmed = item.seq;
    if (log.releasedThrough >= cursor.start - 1 && log.release(item.seq)) {
      item.entry.process.resumeIfRoom();
    }
  }

  private onWritten(attachment: Attachment, entry: ProcessEntry, seq: number, bytes: number): void {
    entry.process.log.markDelivered(seq);
    entry.process.resumeIfRoom();
    this.addUnconfirmed(attachment, { entry, seq, bytes, kind: 'notification' });
  }

  /**
   * Pumps once the current event-loop phase is over rather than after each callback: every read
   * the poll phase delivered (often from many processes) is then sent in one pass, as larger
   * writes, instead of one socket write per pipe read.
   */
  private schedulePump(attachment: Attachment): void {
    if (attachment.pumpScheduled || attachment.pumping) return;
    attachment.pumpScheduled = true;
    setImmediate(() => {
      attachment.pumpScheduled = false;
      this.pump(attachment);
    });
  }

  /** Sends pending events round-robin across processes while the byte window has room. */
  private pump(attachment: Attachment): void {
    if (attachment.pumping || !attachment.current) return;
    attachment.pumping = true;
    let batch: Outgoing[] = [];
    let batchBytes = 0;
    try {
      while (attachment.inflightBytes < this.windowBytes && attachment.ready.size > 0) {
        for (const entry of attachment.ready) {
          if (attachment.inflightBytes >= this.windowBytes) break;
          const cursor = attachment.cursors.get(entry);
          const log = entry.process.log;
          if (!cursor || cursor.next >= log.nextSeq) {
            attachment.ready.delete(entry);
            continue;
          }
          const seq = cursor.next;
          const event = log.eventAt(seq);
          if (!event) {
            // dropped (drop-oldest) before it could be sent: skip to what is still held
            cursor.next = Math.max(seq + 1, log.evictedThrough + 1);
            continue;
          }
          cursor.next = seq + 1;
          const bytes = estimateFrameBytes(event, entry.process.processId);
          attachment.inflightBytes += bytes;
          batch.push({ entry, event, seq, bytes });
          batchBytes += bytes;
          if (batch.length >= MAX_BATCH_FRAMES || batchBytes >= MAX_BATCH_BYTES) {
            this.sendBatch(attachment, batch);
            batch = [];
            batchBytes = 0;
          }
        }
      }
    } finally {
      if (batch.length > 0) this.sendBatch(attachment, batch);
      attachment.pumping = false;
    }
  }

  /**
   * Hands a batch of notifications to the connection. Writes complete in order, so one callback on
   * the last frame tells that all of them were written (an error there counts for the whole batch:
   * the output stays unreleased, which is the safe side).
   */
  private sendBatch(attachment: Attachment, batch: Outgoing[]): void {
    const done = (error?: Error) => {
      for (const item of batch) {
        attachment.inflightBytes -= item.bytes;
        if (!error) this.onWritten(attachment, item.entry, item.seq, item.bytes);
      }
      if (attachment.ready.size > 0) this.schedulePump(attachment);
    };
    const sink = attachment.sink;
    if (sink.sendEncoded) {
      sink.sendEncoded(batch.map(encodeOutgoing), done);
      return;
    }
    const last = batch.length - 1;
    for (let i = 0; i < last; i++) {
      const item = batch[i] as Outgoing;
      sink.send(toNotification(item.event, item.entry.process.processId));
    }
    const final = batch[last] as Outgoing;
    sink.send(toNotification(final.event, final.entry.process.processId), done);
  }
}

/** The wire form of one outgoing notification (output chunks without a JSON string in between). */
function encodeOutgoing(item: Outgoing): EncodedFrame {
  const { entry, event } = item;
  if (event.kind !== 'output') return encodeMessage(toNotification(event, entry.process.processId));
  entry.encoder ??= new OutputNotificationEncoder(entry.process.processId);
  return entry.encoder.encode(event.chunk);
}

interface Outgoing {
  entry: ProcessEntry;
  event: ProcessEvent;
  seq: number;
  bytes: number;
}

/** Frames per batch handed to the connection with one write callback. */
const MAX_BATCH_FRAMES = 32;
const MAX_BATCH_BYTES = 512 * 1024;
