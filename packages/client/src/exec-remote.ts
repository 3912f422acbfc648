import type { exec } from '@tether/protocol';

/** What the file and HTTP helpers need from the client: typed requests. */
export interface ExecRequester {
  request<M extends exec.RequestMethod>(
    method: M,
    params: exec.ParamsOf<M>,
  ): Promise<exec.ResultOf<M>>;
}

/** Largest block `fs/readBlock` returns (1 MiB). */
export const MAX_READ_BLOCK_BYTES = 1024 * 1024;

/**
 * A file opened on the exec-server with `fs/open`, for block reads or (`mode: 'replace'`) block
 * writes. It belongs to the connection that opened it: a dropped connection closes it on the
 * server (calls then fail with "unknown file handle").
 */
export class ExecFile {
  constructor(
    private readonly client: ExecRequester,
    readonly handleId: string,
  ) {}

  /** Up to `length` bytes at `offset`; `eof` once fewer than `length` were left. */
  async read(offset: number, length: number): Promise<{ data: Buffer; eof: boolean }> {
    const result = await this.client.request('fs/readBlock', {
      handleId: this.handleId,
      offset,
      len: length,
    });
    return { data: Buffer.from(result.chunk, 'base64'), eof: result.eof };
  }

  /** Writes all of `data` (1 byte to 1 MiB) at `offset` (a file opened with `mode: 'replace'`). */
  async write(offset: number, data: Buffer | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await this.client.request('fs/writeBlock', {
      handleId: this.handleId,
      offset,
      chunk: bytes.toString('base64'),
    });
  }

  /** The file from `offset` to its end, block by block. */
  async *blocks(blockSize = MAX_READ_BLOCK_BYTES, offset = 0): AsyncGenerator<Buffer> {
    for (let at = offset; ; ) {
      const { data, eof } = await this.read(at, blockSize);
      if (data.length > 0) yield data;
      at += data.length;
      if (eof) return;
    }
  }

  close(): Promise<void> {
    return this.client.request('fs/close', { handleId: this.handleId }).then(() => undefined);
  }
}

export interface HttpRequestOptions {
  method?: string;
  /** Header lines in order; a repeated name is sent once per entry. */
  headers?: Array<{ name: string; value: string }> | Record<string, string>;
  body?: Buffer | string;
  /** Whole-exchange timeout: 30 s on the server when absent, none when `null`. */
  timeoutMs?: number | null;
}

export interface HttpResponse {
  status: number;
  headers: exec.HttpHeader[];
}

export function httpParams(
  url: string,
  options: HttpRequestOptions,
  requestId: string,
  streamResponse: boolean,
): exec.HttpRequestParams {
  const headers = Array.isArray(options.headers)
    ? options.headers
    : Object.entries(options.headers ?? {}).map(([name, value]) => ({ name, value }));
  return {
    requestId,
    method: options.method ?? 'GET',
    url,
    headers,
    ...(options.body === undefined
      ? {}
      : {
          bodyBase64: (typeof options.body === 'string'
            ? Buffer.from(options.body)
            : options.body
          ).toString('base64'),
        }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(streamResponse ? { streamResponse: true } : {}),
  };
}

/**
 * The body of a streamed `http/request`: deltas put back in seq order (they may arrive before the
 * result on the reference), ended by the `done` delta, failed by its `error` or by a dropped
 * connection.
 */
export class HttpBodyStream {
  private readonly early = new Map<number, exec.HttpRequestBodyDeltaNotification>();
  private readonly ready: Buffer[] = [];
  private readyBytes = 0;
  private next = 1;
  private done = false;
  private iterated = false;
  /** The reader stopped early: what still arrives is dropped. */
  private abandoned = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  /**
   * The client's flow control listens: `consumed` runs whenever the reader took bytes, `waiting`
   * when it starts (+1) and stops (-1) waiting for more.
   */
  constructor(
    private readonly hooks: { consumed(): void; waiting(delta: 1 | -1): void } = {
      consumed: () => {},
      waiting: () => {},
    },
  ) {}

  /** Bytes received and not yet taken by the reader. */
  get bufferedBytes(): number {
    return this.readyBytes;
  }

  accept(delta: exec.HttpRequestBodyDeltaNotification): void {
    this.early.set(delta.seq, delta);
    for (let d = this.early.get(this.next); d; d = this.early.get(this.next)) {
      this.early.delete(this.next);
      this.next += 1;
      if (d.deltaBase64.length > 0 && !this.abandoned) {
        const piece = Buffer.from(d.deltaBase64, 'base64');
        this.ready.push(piece);
        this.readyBytes += piece.length;
      }
      if (d.done) {
        this.done = true;
        if (d.error !== null) this.failure = new Error(`http/request body failed: ${d.error}`);
      }
    }
    this.wake();
  }

  fail(error: Error): void {
    if (this.done) return;
    this.failure ??= error;
    this.wake();
  }

  get finished(): boolean {
    return this.done || this.failure !== undefined;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /**
   * The body, once: a second iteration throws. A reader that stops early (`break`) gives the rest
   * up: it is dropped as it arrives rather than held.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.iterated) throw new Error('an http/request body can be read only once');
    this.iterated = true;
    let complete = false;
    try {
      for (;;) {
        const piece = this.ready.shift();
        if (piece) {
          this.readyBytes -= piece.length;
          this.hooks.consumed();
          yield piece;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.done) {
          complete = true;
          return;
        }
        this.hooks.waiting(1);
        try {
          await new Promise<void>((resolve) => {
            this.waiter = resolve;
          });
        } finally {
          this.hooks.waiting(-1);
        }
      }
    } finally {
      if (!complete) {
        this.abandoned = true;
        this.ready.length = 0;
        this.readyBytes = 0;
        this.hooks.consumed();
      }
    }
  }
}
