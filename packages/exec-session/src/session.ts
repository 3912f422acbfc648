import { exec, internalError, invalidRequest, RpcError } from '@tether/protocol';
import {
  type DeliveredProcess,
  type DeliveryLimits,
  type DeliveryOptions,
  deliveryLimits,
  type MessageSink,
  OutputDelivery,
} from './delivery.js';
import { ManagedProcess, type ManagedProcessOptions, type ProcessSpec } from './managed-process.js';
import { osErrorMessage } from './os-error.js';
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

export interface SessionOptions extends ManagedProcessOptions, DeliveryOptions {
  /** How long an exited process stays readable (and its id taken) after it closed (75 s). */
  exitedProcessTtlMs?: number;
  /** How sandboxed processes are run (which bubblewrap; what else to hide or protect). */
  sandbox?: SandboxSettings;
}

/** Where bubblewrap is and what every sandbox hides or keeps read-only besides its profile. */
export interface SandboxSettings extends BwrapOptions {
  /** The bwrap to use (default: the first on the server's PATH). */
  bwrap?: string;
}

export const DEFAULT_EXITED_PROCESS_TTL_MS = 75_000;
export const RESUMED_ELSEWHERE_MESSAGE = 'session has been resumed by another connection';

interface Waiter {
  attachment: Attachment;
  wake(outcome: 'event' | 'evicted'): void;
}

interface ProcessEntry extends DeliveredProcess {
  /** The attachment whose `process/start` created it. */
  startedBy: Attachment;
  /** True once the start response was handed to the connection: notifications may follow it. */
  announced: boolean;
  waiters: Set<Waiter>;
  retentionTimer: NodeJS.Timeout | undefined;
}

type TableEntry = { state: 'starting' } | ({ state: 'running' } & ProcessEntry);

/**
 * One connection's hold on a session. Notifications flow only to the current attachment; once the
 * session is resumed elsewhere, an old attachment's requests and long polls get
 * `session has been resumed by another connection`.
 */
export class Attachment {
  readonly session: Session;
  /** What this attachment notifies, and what it sent that may still be in flight. */
  readonly delivery: OutputDelivery;

  constructor(session: Session, sink: MessageSink, limits: DeliveryLimits) {
    this.session = session;
    this.delivery = new OutputDelivery(sink, () => this.current, limits);
  }

  /** True while this is the session's attachment. */
  get current(): boolean {
    return this.session.attachment === this;
  }
}

/** `process/read` result plus the additive `firstRetainedSeq` when output was dropped. */
export type ReadResult = exec.ProcessReadResult & { firstRetainedSeq?: number };

/**
 * A session: the process table of one client, whichever connection it currently uses. It starts,
 * writes to, signals and forgets processes, and answers reads with long polls; pushing their output
 * to the attached connection is the attachment's {@link OutputDelivery}.
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
  private readonly limits: DeliveryLimits;
  private disposed = false;

  constructor(id: string, options: SessionOptions = {}) {
    this.id = id;
    this.options = options;
    this.exitedTtlMs = options.exitedProcessTtlMs ?? DEFAULT_EXITED_PROCESS_TTL_MS;
    this.limits = deliveryLimits(options);
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
    const attachment = new Attachment(this, sink, this.limits);
    this.attachment = attachment;
    this.detachedAt = undefined;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    for (const entry of this.table.values()) {
      if (entry.state !== 'running') continue;
      for (const waiter of [...entry.waiters]) {
        if (waiter.attachment !== attachment) waiter.wake('evicted');
      }
      if (entry.announced) attachment.delivery.track(entry, entry.process.log.nextSeq);
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
    attachment.delivery.track(
      entry,
      attachment === entry.startedBy ? 1 : entry.process.log.nextSeq,
    );
  }

  /** Answers `process/read`: acknowledges `afterSeq`, long-polls up to `waitMs`. */
  async read(attachment: Attachment, params: exec.ProcessReadParams): Promise<ReadResult> {
    const resumedElsewhere = () => !attachment.current && this.attachment !== undefined;
    if (resumedElsewhere()) throw new RpcError(invalidRequest(RESUMED_ELSEWHERE_MESSAGE));
    const entry = this.lookup(params.processId);
    const afterSeq = params.afterSeq ?? 0;
    const log = entry.process.log;
    attachment.delivery.acknowledge(entry, afterSeq);
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
    attachment.delivery.readDelivered(entry, nextSeq, bytes);
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
          this.attachment?.delivery.forget(entry);
        }
      }, this.exitedTtlMs);
      entry.retentionTimer.unref();
    }
    this.attachment?.delivery.wake(entry);
  }
}
