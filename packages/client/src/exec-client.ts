import { decodeMessage, type ErrorObject, exec, type RequestId } from '@tether/protocol';
import WebSocket from 'ws';
import {
  ExecFile,
  HttpBodyStream,
  type HttpRequestOptions,
  type HttpResponse,
  httpParams,
} from './exec-remote.js';

/** A JSON-RPC error answered by the exec-server. */
export class ExecServerError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(error: ErrorObject) {
    super(error.message);
    this.name = 'ExecServerError';
    this.code = error.code;
    this.data = error.data;
  }
}

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

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

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
 */
export class ExecServerClient {
  readonly url: string;
  sessionId = '';
  environmentInfo: exec.EnvironmentInfo | undefined;
  private ws!: WebSocket;
  private readonly options: ExecClientOptions;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly processes = new Map<string, ExecProcess>();
  private nextId = 1;
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
    const headers: Record<string, string> = {};
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const ws = new WebSocket(this.url, { headers, perMessageDeflate: false, maxPayload: 0 });
    this.ws = ws;
    this.paused = false;
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number) => {
        const error = new Error(`exec-server connection closed (${code})`);
        for (const pending of this.pending.values()) pending.reject(error);
        this.pending.clear();
        // requests and their streams belong to the connection: the server aborted them
        for (const stream of this.httpStreams.values()) stream.fail(error);
        this.httpStreams.clear();
        resolve(code);
      });
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => this.receive(data));
    const result = await this.request('initialize', {
      clientName: this.options.clientName ?? '@tether/client',
      ...(resumeSessionId ? { resumeSessionId } : {}),
    });
    this.sessionId = result.sessionId;
    this.environmentInfo = result.environmentInfo;
    ws.send(JSON.stringify({ method: 'initialized', params: {} }));
  }

  private receive(data: Buffer): void {
    const decoded = decodeMessage(data.toString('utf8'));
    if (!decoded.ok) return;
    const message = decoded.message;
    if (message.kind === 'response' || message.kind === 'error') {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!pending) return;
      if (message.kind === 'error') pending.reject(new ExecServerError(message.error));
      else pending.resolve(message.result);
      return;
    }
    if (message.kind !== 'notification') return;
    if (message.method === 'http/request/bodyDelta') {
      const delta = message.params as exec.HttpRequestBodyDeltaNotification;
      const stream = this.httpStreams.get(delta.requestId);
      if (!stream) return;
      stream.accept(delta);
      this.bodyChanged(delta.requestId, stream);
      return;
    }
    const params = message.params as { processId?: string; seq?: number } | undefined;
    const process = params?.processId ? this.processes.get(params.processId) : undefined;
    if (!process) return;
    if (message.method === 'process/output') {
      const p = message.params as exec.ProcessOutputNotification;
      process.accept({
        kind: 'output',
        seq: p.seq,
        stream: p.stream,
        data: Buffer.from(p.chunk, 'base64'),
      });
    } else if (message.method === 'process/exited') {
      const p = message.params as exec.ProcessExitedNotification;
      process.accept({ kind: 'exited', seq: p.seq, exitCode: p.exitCode });
    } else if (message.method === 'process/closed') {
      const p = message.params as exec.ProcessClosedNotification;
      process.accept({ kind: 'closed', seq: p.seq });
    }
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
    const limit = this.options.highWaterBytes ?? 16 * 1024 * 1024;
    let buffered = 0;
    for (const process of this.processes.values()) buffered += process.bufferedBytes;
    for (const stream of this.httpStreams.values()) buffered += stream.bufferedBytes;
    // never while a request awaits its answer or a reader waits for data: either may come behind
    // the unread output on the same socket, and whoever holds that output may be waiting for it
    const awaiting = this.pending.size > 0 || this.waitingReaders > 0;
    if (!this.paused && buffered > limit && !awaiting) {
      this.paused = true;
      this.ws.pause();
    } else if (this.paused && (buffered <= limit / 2 || awaiting)) {
      this.paused = false;
      this.ws.resume();
    }
  }

  nextWriteId(): number {
    return this.writeIds++;
  }

  /** Sends a request and resolves with its typed result; a JSON-RPC error rejects. */
  request<M extends exec.RequestMethod>(
    method: M,
    params: exec.ParamsOf<M>,
  ): Promise<exec.ResultOf<M>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error('exec-server connection is not open'));
        return;
      }
      this.pending.set(id, {
        resolve: (value) => {
          this.pending.delete(id);
          this.checkFlow();
          (resolve as (value: unknown) => void)(value);
        },
        reject: (error) => {
          this.pending.delete(id);
          this.checkFlow();
          reject(error);
        },
      });
      this.checkFlow();
      this.ws.send(JSON.stringify({ id, method, params }));
    });
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
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
    await this.closed;
    for (;;) {
      try {
        await this.open(this.sessionId);
        break;
      } catch (error) {
        const attached = error instanceof ExecServerError && error.code === -32010;
        this.ws.terminate();
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
    writeFile: (path: string, data: Buffer | string): Promise<void> =>
      this.request('fs/writeFile', {
        path: exec.pathToFileUri(path),
        dataBase64: (typeof data === 'string' ? Buffer.from(data) : data).toString('base64'),
      }).then(() => undefined),
    createDirectory: (path: string, recursive = true): Promise<void> =>
      this.request('fs/createDirectory', { path: exec.pathToFileUri(path), recursive }).then(
        () => undefined,
      ),
    getMetadata: (path: string) =>
      this.request('fs/getMetadata', { path: exec.pathToFileUri(path) }),
    readDirectory: (path: string) =>
      this.request('fs/readDirectory', { path: exec.pathToFileUri(path) }).then((r) => r.entries),
    remove: (path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> =>
      this.request('fs/remove', { path: exec.pathToFileUri(path), ...options }).then(
        () => undefined,
      ),
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
    this.ws.terminate();
  }

  /** Closes the connection; the server detaches the session (its processes keep running). */
  async close(): Promise<void> {
    this.closedByUser = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close();
    }
    await this.closed;
  }

  get isClosedByUser(): boolean {
    return this.closedByUser;
  }
}
