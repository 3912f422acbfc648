import { ErrorCode, exec, isRpcError, type NotificationMessage, parseWith } from '@tether/protocol';
import { ChannelClosedError } from './channel.js';
import { connectWebSocket } from './channel-websocket.js';
import {
  ExecFile,
  HttpBodyStream,
  type HttpRequestOptions,
  type HttpResponse,
  httpParams,
} from './exec-remote.js';
import { RpcPeer } from './rpc-peer.js';

/** One event of a process, in seq order. */
export type ProcessOutputEvent =
  | { kind: 'output'; seq: number; stream: exec.ProcessOutputStream; data: Buffer }
  | { kind: 'exited'; seq: number; exitCode: number }
  | { kind: 'closed'; seq: number };

export interface ExecClientOptions {
  /** Sent as `Authorization: Bearer TOKEN` at the websocket upgrade. */
  token?: string;
  clientName?: string;
  /** Resume this session instead of starting a fresh one. */
  resumeSessionId?: string;
  /**
   * Buffered output (bytes not yet taken from the iterators) above which the client stops reading
   * its socket, so the server holds the rest back (16 MiB).
   */
  highWaterBytes?: number;
}

/**
 * The client's view of one process: events in seq order with no gaps or duplicates, whether they
 * came as notifications or through `process/read` after a resume.
 */
export class ExecProcess {
  readonly processId: string;
  /** Highest seq such that every event up to it was delivered in order. */
  lastSeq = 0;
  exitCode: number | undefined;
  closed = false;
  private readonly early = new Map<number, ProcessOutputEvent>();
  private readonly queue: ProcessOutputEvent[] = [];
  private queuedBytes = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly client: ExecServerClient;
  private exitSeqKnown: number | undefined;
  private failure: Error | undefined;

  constructor(client: ExecServerClient, processId: string) {
    this.client = client;
    this.processId = processId;
  }

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  /** Adds an event; events arriving ahead of a gap wait until the gap is filled. */
  accept(event: ProcessOutputEvent): void {
    if (event.seq <= this.lastSeq || this.early.has(event.seq)) return;
    if (event.kind === 'exited') this.exitSeqKnown = event.seq;
    this.early.set(event.seq, event);
    for (
      let next = this.early.get(this.lastSeq + 1);
      next;
      next = this.early.get(this.lastSeq + 1)
    ) {
      this.early.delete(next.seq);
      this.lastSeq = next.seq;
      if (next.kind === 'exited') this.exitCode = next.exitCode;
      if (next.kind === 'closed') this.closed = true;
      if (next.kind === 'output') this.queuedBytes += next.data.length;
      this.queue.push(next);
    }
    this.wake();
  }

  /**
   * Applies a `process/read` result. Exit and close use seqs but never appear in chunks: when a
   * read finds no chunk after its cursor, `nextSeq - 1` is the last event so far (the close, once
   * `closed`), and the one seq still unseen before it is the exit.
   */
  applyRead(result: exec.ProcessReadResult): void {
    for (const chunk of result.chunks) {
      this.accept({
        kind: 'output',
        seq: chunk.seq,
        stream: chunk.stream,
        data: Buffer.from(chunk.chunk, 'base64'),
      });
    }
    if (result.chunks.length > 0) return;
    const end = result.nextSeq - 1;
    const closeSeq = result.closed ? end : undefined;
    if (result.exited && this.exitSeqKnown === undefined && result.exitCode !== null) {
      for (let seq = this.lastSeq + 1; seq <= end && seq !== closeSeq; seq++) {
        if (!this.early.has(seq)) {
          this.accept({ kind: 'exited', seq, exitCode: result.exitCode });
          break;
        }
      }
    }
    if (closeSeq !== undefined) this.accept({ kind: 'closed', seq: closeSeq });
  }

  fail(error: Error): void {
    this.failure = error;
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
    this.client.checkFlow();
  }

  /** Events in seq order until `process/closed`. */
  async *events(): AsyncGenerator<ProcessOutputEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        if (event.kind === 'output') this.queuedBytes -= event.data.length;
        this.client.checkFlow();
        yield event;
        if (event.kind === 'closed') return;
        continue;
      }
      if (this.failure) throw this.failure;
      this.client.readerWaiting(1);
      try {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      } finally {
        this.client.readerWaiting(-1);
      }
    }
  }

  /** Output bytes in order (stdout, stderr and pty interleaved as they were numbered). */
  async *output(): AsyncGenerator<Buffer> {
    for await (const event of this.events()) if (event.kind === 'output') yield event.data;
  }

  /** Collects everything until the process closes. */
  async collect(): Promise<{ output: Buffer; exitCode: number | undefined }> {
    const parts: Buffer[] = [];
    for await (const data of this.output()) parts.push(data);
    return { output: Buffer.concat(parts), exitCode: this.exitCode };
  }

  write(data: Buffer | string): Promise<exec.ProcessWriteStatus> {
    const chunk = (typeof data === 'string' ? Buffer.from(data) : data).toString('base64');
    return this.client
      .request('process/write', {
        processId: this.processId,
        chunk,
        writeId: `w${this.client.nextWriteId()}`,
      })
      .then((result) => result.status);
  }

  terminate(): Promise<boolean> {
    return this.client
      .request('process/terminate', { processId: this.processId })
      .then((r) => r.running);
  }

  interrupt(): Promise<void> {
    return this.client
      .request('process/signal', { processId: this.processId, signal: 'interrupt' })
      .then(() => undefined);
  }

  read(params: Omit<exec.ProcessReadParams, 'processId'> = {}): Promise<exec.ProcessReadResult> {
    return this.client.request('process/read', { processId: this.processId, ...params });
  }
}

/**
 * A typed client for an exec-server (tether's or codex's) over websocket: initialize, process and
 * fs calls, an async iterator per process, and `resume()` after a dropped connection, which
 * re-attaches the session and catches every open process up with `process/read {afterSeq}`.
 * JSON-RPC errors reject with protocol's `RpcError`; results and notifications are parsed with the
 * protocol's schemas.
 */
export class ExecServerClient {
  readonly url: string;
  sessionId = '';
  environmentInfo: exec.EnvironmentInfo | undefined;
  /** The peer of the current connection (a new one after each `resume`). */
  private peer: RpcPeer | undefined;
  private readonly options: ExecClientOptions;
  private readonly processes = new Map<string, ExecProcess>();
  private writeIds = 1;
  private handleIds = 1;
  private httpIds = 1;
  private readonly httpStreams = new Map<string, HttpBodyStream>();
  private waitingReaders = 0;
  private paused = false;
  private closedByUser = false;
  /** Resolves when the current connection closes (code). */
  closed: Promise<number> = Promise.resolve(0);

  private constructor(url: string, options: ExecClientOptions) {
    this.url = url;
    this.options = options;
  }

  /** Connects and initializes (fresh session, or `resumeSessionId`). */
  static async connect(url: string, options: ExecClientOptions = {}): Promise<ExecServerClient> {
    const client = new ExecServerClient(url, options);
    await client.open(options.resumeSessionId);
    return client;
  }

  private async open(resumeSessionId?: string): Promise<void> {
    const channel = await connectWebSocket(this.url, {
      ...(this.options.token ? { token: this.options.token } : {}),
      // a process/read or fs/readFile answer may be large; the server bounds what it sends
      maxPayload: 0,
    });
    const peer = new RpcPeer(channel);
    this.peer = peer;
    this.paused = false;
    peer.on('notification', (message) => this.receive(message));
    this.closed = peer.closed.then((info) => {
      // requests and their streams belong to the connection: the server aborted them
      const error = new ChannelClosedError(info);
      for (const stream of this.httpStreams.values()) stream.fail(error);
      this.httpStreams.clear();
      return info.code;
    });
    const result = await this.request('initialize', {
      clientName: this.options.clientName ?? '@tether/client',
      ...(resumeSessionId ? { resumeSessionId } : {}),
    });
    this.sessionId = result.sessionId;
    this.environmentInfo = result.environmentInfo;
    peer.notify('initialized', {});
  }

  private receive(message: NotificationMessage): void {
    const { method } = message;
    if (!exec.isNotificationMethod(method)) return;
    // a malformed event would leave a gap its reader waits on forever: fail that reader instead
    if (method === 'http/request/bodyDelta') {
      const requestId = stringField(message.params, 'requestId');
      const stream = requestId === undefined ? undefined : this.httpStreams.get(requestId);
      if (!stream || requestId === undefined) return;
      const parsed = parseWith(exec.notifications[method], message.params);
      if (parsed.ok) stream.accept(parsed.value);
      else stream.fail(new Error(`malformed ${method}: ${parsed.message}`));
      this.bodyChanged(requestId, stream);
      return;
    }
    const processId = stringField(message.params, 'processId');
    const process = processId === undefined ? undefined : this.processes.get(processId);
    if (!process) return;
    const event = processEvent(method, message.params);
    if (typeof event === 'string') process.fail(new Error(`malformed ${method}: ${event}`));
    else process.accept(event);
  }

  /**
   * A streamed body received or gave up bytes. A finished body stays counted until it is read,
   * so its bytes keep holding the socket back; once read (or given up) it is forgotten.
   */
  private bodyChanged(requestId: string, stream: HttpBodyStream): void {
    if (stream.finished && stream.bufferedBytes === 0) this.httpStreams.delete(requestId);
    this.checkFlow();
  }

  /** A reader (process events, HTTP body) started (+1) or stopped (-1) waiting for data. */
  readerWaiting(delta: 1 | -1): void {
    this.waitingReaders += delta;
    this.checkFlow();
  }

  /**
   * Stops reading the socket while iterators lag behind (the server then holds output back), but
   * not while a request awaits its answer or a reader waits for data.
   */
  checkFlow(): void {
    const peer = this.peer;
    if (!peer) return;
    const limit = this.options.highWaterBytes ?? 16 * 1024 * 1024;
    let buffered = 0;
    for (const process of this.processes.values()) buffered += process.bufferedBytes;
    for (const stream of this.httpStreams.values()) buffered += stream.bufferedBytes;
    // never while a request awaits its answer or a reader waits for data: either may come behind
    // the unread output on the same socket, and whoever holds that output may be waiting for it
    const awaiting = peer.pendingRequests > 0 || this.waitingReaders > 0;
    if (!this.paused && buffered > limit && !awaiting) {
      this.paused = true;
      peer.channel.pause();
    } else if (this.paused && (buffered <= limit / 2 || awaiting)) {
      this.paused = false;
      peer.channel.resume();
    }
  }

  nextWriteId(): number {
    return this.writeIds++;
  }

  /**
   * Sends a request and resolves with its typed result. A JSON-RPC error rejects with `RpcError`,
   * a closed connection with `ChannelClosedError`.
   */
  async request<M extends exec.RequestMethod>(
    method: M,
    params: exec.ParamsOf<M>,
  ): Promise<exec.ResultOf<M>> {
    const peer = this.peer;
    if (!peer) throw new Error('the exec-server client is not connected');
    const answer = peer.call(exec.requests, method, params);
    // an answer is awaited: the socket must be read
    this.checkFlow();
    try {
      return await answer;
    } finally {
      this.checkFlow();
    }
  }

  /** Starts a process; its events are available from the returned handle. */
  async start(params: exec.ProcessStartParams): Promise<ExecProcess> {
    const process = new ExecProcess(this, params.processId);
    this.processes.set(params.processId, process);
    try {
      await this.request('process/start', params);
    } catch (error) {
      this.processes.delete(params.processId);
      throw error;
    }
    return process;
  }

  /** A handle for a process started by an earlier connection of this session. */
  process(processId: string): ExecProcess {
    let process = this.processes.get(processId);
    if (!process) {
      process = new ExecProcess(this, processId);
      this.processes.set(processId, process);
    }
    return process;
  }

  /**
   * Reconnects with `initialize {resumeSessionId}` (retrying while the server still sees the old
   * connection attached) and reads every open process from its last seq until it has caught up.
   */
  async resume(options: { retryForMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.retryForMs ?? 10_000);
    this.peer?.terminate();
    await this.closed;
    for (;;) {
      try {
        await this.open(this.sessionId);
        break;
      } catch (error) {
        // the server has not yet seen the old connection go: try again shortly
        const attached = isRpcError(error) && error.code === ErrorCode.SessionAlreadyAttached;
        this.peer?.terminate();
        if (!attached || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await Promise.all(
      [...this.processes.values()].filter((p) => !p.closed).map((p) => this.catchUp(p)),
    );
  }

  /** Reads a process from its last seq until the gap left by a detach is filled. */
  private async catchUp(process: ExecProcess): Promise<void> {
    const target = process.lastSeq;
    let cursor = target;
    for (;;) {
      const result = await process.read({ afterSeq: cursor, maxBytes: 4 * 1024 * 1024 });
      process.applyRead(result);
      if (result.chunks.length === 0) return;
      cursor = result.nextSeq - 1;
    }
  }

  fs = {
    readFile: (path: string): Promise<Buffer> =>
      this.request('fs/readFile', { path: exec.pathToFileUri(path) }).then((r) =>
        Buffer.from(r.dataBase64, 'base64'),
      ),
    /** With `sandbox`, the server refuses the write as that sandbox would (EROFS outside its roots). */
    writeFile: (
      path: string,
      data: Buffer | string,
      options: { sandbox?: exec.SandboxContext | undefined } = {},
    ): Promise<void> =>
      this.request('fs/writeFile', {
        path: exec.pathToFileUri(path),
        dataBase64: (typeof data === 'string' ? Buffer.from(data) : data).toString('base64'),
        ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      }).then(() => undefined),
    createDirectory: (
      path: string,
      recursive = true,
      options: { sandbox?: exec.SandboxContext | undefined } = {},
    ): Promise<void> =>
      this.request('fs/createDirectory', {
        path: exec.pathToFileUri(path),
        recursive,
        ...(options.sandbox ? { sandbox: options.sandbox } : {}),
      }).then(() => undefined),
    getMetadata: (path: string) =>
      this.request('fs/getMetadata', { path: exec.pathToFileUri(path) }),
    readDirectory: (path: string) =>
      this.request('fs/readDirectory', { path: exec.pathToFileUri(path) }).then((r) => r.entries),
    remove: (
      path: string,
      options: {
        recursive?: boolean;
        force?: boolean;
        sandbox?: exec.SandboxContext | undefined;
      } = {},
    ): Promise<void> => {
      const { sandbox, ...rest } = options;
      return this.request('fs/remove', {
        path: exec.pathToFileUri(path),
        ...rest,
        ...(sandbox ? { sandbox } : {}),
      }).then(() => undefined);
    },
    copy: (source: string, destination: string, recursive = false): Promise<void> =>
      this.request('fs/copy', {
        sourcePath: exec.pathToFileUri(source),
        destinationPath: exec.pathToFileUri(destination),
        recursive,
      }).then(() => undefined),
    canonicalize: (path: string): Promise<string> =>
      this.request('fs/canonicalize', { path: exec.pathToFileUri(path) }).then((r) =>
        exec.fileUriToPath(r.path),
      ),
    /**
     * Opens a regular file for block reads, or with `mode: 'replace'` creates or truncates it for
     * block writes (the handle lives as long as this connection).
     */
    open: async (path: string, options: { mode?: exec.FsOpenMode } = {}): Promise<ExecFile> => {
      const handleId = `f${this.handleIds++}`;
      await this.request('fs/open', {
        handleId,
        path: exec.pathToFileUri(path),
        ...(options.mode ? { mode: options.mode } : {}),
      });
      return new ExecFile(this, handleId);
    },
    /** A breadth-first listing under `path` (see `fs/walk` for the limits), paths as local paths. */
    walk: async (
      path: string,
      options: exec.WalkOptions,
    ): Promise<{
      entries: Array<{ path: string; kind: 'file' | 'directory' }>;
      errors: Array<{ path: string; message: string }>;
      truncated: boolean;
    }> => {
      const result = await this.request('fs/walk', { path: exec.pathToFileUri(path), options });
      return {
        entries: result.entries.map((e) => ({ path: exec.fileUriToPath(e.path), kind: e.kind })),
        errors: result.errors.map((e) => ({
          path: exec.fileUriToPath(e.path),
          message: e.message,
        })),
        truncated: result.truncated,
      };
    },
  };

  /** An HTTP request made from the exec-server's machine; the whole body in the result. */
  async http(
    url: string,
    options: HttpRequestOptions = {},
  ): Promise<HttpResponse & { body: Buffer }> {
    const requestId = `h${this.httpIds++}`;
    const result = await this.request('http/request', httpParams(url, options, requestId, false));
    return {
      status: result.status,
      headers: result.headers,
      body: Buffer.from(result.bodyBase64, 'base64'),
    };
  }

  /**
   * An HTTP request whose body streams: resolves with status and headers, then `body` yields the
   * body as it arrives (and throws if it breaks off or the connection drops).
   */
  async httpStream(
    url: string,
    options: HttpRequestOptions = {},
  ): Promise<HttpResponse & { body: AsyncIterable<Buffer> }> {
    const requestId = `h${this.httpIds++}`;
    const stream = new HttpBodyStream({
      consumed: () => this.bodyChanged(requestId, stream),
      waiting: (delta) => this.readerWaiting(delta),
    });
    this.httpStreams.set(requestId, stream);
    try {
      const result = await this.request('http/request', httpParams(url, options, requestId, true));
      return { status: result.status, headers: result.headers, body: stream };
    } catch (error) {
      this.httpStreams.delete(requestId);
      throw error;
    }
  }

  /** Drops the connection without a close frame (as a network failure would). */
  drop(): void {
    this.peer?.terminate();
  }

  /** Closes the connection; the server detaches the session (its processes keep running). */
  async close(): Promise<void> {
    this.closedByUser = true;
    this.peer?.close();
    await this.closed;
  }

  get isClosedByUser(): boolean {
    return this.closedByUser;
  }
}

/** A string member of untrusted params, to find whom a malformed notification was for. */
function stringField(params: unknown, key: 'processId' | 'requestId'): string | undefined {
  if (typeof params !== 'object' || params === null || !(key in params)) return undefined;
  const value: unknown = Reflect.get(params, key);
  return typeof value === 'string' ? value : undefined;
}

/** A process notification as an event, or why it does not parse. */
function processEvent(
  method: 'process/output' | 'process/exited' | 'process/closed',
  params: unknown,
): ProcessOutputEvent | string {
  switch (method) {
    case 'process/output': {
      const parsed = parseWith(exec.notifications[method], params);
      if (!parsed.ok) return parsed.message;
      const p = parsed.value;
      return { kind: 'output', seq: p.seq, stream: p.stream, data: Buffer.from(p.chunk, 'base64') };
    }
    case 'process/exited': {
      const parsed = parseWith(exec.notifications[method], params);
      if (!parsed.ok) return parsed.message;
      return { kind: 'exited', seq: parsed.value.seq, exitCode: parsed.value.exitCode };
    }
    case 'process/closed': {
      const parsed = parseWith(exec.notifications[method], params);
      if (!parsed.ok) return parsed.message;
      return { kind: 'closed', seq: parsed.value.seq };
    }
  }
}
