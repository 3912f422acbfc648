import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type exec, internalError, invalidRequest, RpcError } from '@tether/protocol';

/** Timeout of the whole exchange when `timeoutMs` is absent (`null` means none). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Redirects followed before giving up. */
export const MAX_HTTP_REDIRECTS = 10;
/**
 * Buffered response bodies one connection may hold until their results are written (32 MiB; their
 * base64 stays under the connection's 64 MiB outbound limit). Larger bodies need `streamResponse`.
 */
export const MAX_BUFFERED_HTTP_BODY_BYTES = 32 * 1024 * 1024;
/** Requests (streams included) one connection may have in flight. */
export const MAX_HTTP_REQUESTS_IN_FLIGHT = 64;
/** The longest delay `setTimeout` keeps (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;
/**
 * Streamed body bytes (all streams of a connection together) handed to the connection and not
 * yet written, past which every stream stops reading (4 MiB: with the buffered-body budget, the
 * base64 of both stays well under the connection's 64 MiB outbound limit).
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that do not follow a redirect to another origin. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Sends one `http/request/bodyDelta` notification; `onWritten` fires once it is on the socket. */
export type BodyDeltaSender = (
  params: exec.HttpRequestBodyDeltaNotification,
  onWritten: (error?: Error) => void,
) => void;

/** Only visible ASCII (and tab) response header values are reported, as on the reference. */
function visibleAscii(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code > 0x7e) return false;
  }
  return true;
}

interface Outgoing {
  method: string;
  url: URL;
  /** Lower-case name → values, in order (a repeated name sends one line per value). */
  headers: Map<string, string[]>;
  body: Buffer | undefined;
}

/** The request to make (the params were validated by the protocol schema). */
function prepare(params: exec.HttpRequestParams): Outgoing {
  const url = new URL(params.url);
  const headers = new Map<string, string[]>();
  for (const { name, value } of params.headers ?? []) {
    const key = name.toLowerCase();
    // Node writes header strings as latin1: hand it the UTF-8 bytes the client meant
    const wire = Buffer.from(value, 'utf8').toString('latin1');
    headers.set(key, [...(headers.get(key) ?? []), wire]);
  }
  if (!headers.has('accept')) headers.set('accept', ['*/*']);
  const body =
    params.bodyBase64 === undefined || params.bodyBase64 === null
      ? undefined
      : Buffer.from(params.bodyBase64, 'base64');
  return { method: params.method, url, headers, body };
}

/** The request to make after a redirect response, or undefined when it is not one to follow. */
function redirected(previous: Outgoing, response: IncomingMessage): Outgoing | undefined {
  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  if (!REDIRECTS.has(status) || location === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(location, previous.url);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const headers = new Map(previous.headers);
  let { method, body } = previous;
  if (status <= 303) {
    // 301/302/303 turn into a GET without a body (HEAD stays HEAD); 307/308 replay the request
    if (method !== 'GET' && method !== 'HEAD') method = 'GET';
    body = undefined;
    headers.delete('content-type');
    headers.delete('content-length');
  }
  if (url.origin !== previous.url.origin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  }
  if (!(previous.url.protocol === 'https:' && url.protocol === 'http:')) {
    const referer = new URL(previous.url);
    referer.username = '';
    referer.password = '';
    referer.hash = '';
    headers.set('referer', [referer.href]);
  }
  return { method, url, headers, body };
}

function responseHeaders(response: IncomingMessage): exec.HttpHeader[] {
  const raw = response.rawHeaders;
  const headers: exec.HttpHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (visibleAscii(value)) headers.push({ name: name.toLowerCase(), value });
  }
  return headers;
}

/** One request in flight: aborting it stops the exchange wherever it is. */
interface InFlight {
  request: ClientRequest | undefined;
  response: IncomingMessage | undefined;
  abort(reason: Error): void;
}

class HttpFailure extends Error {}

/** What {@link HttpRequests.run} resolves with. */
export interface HttpOutcome {
  result: exec.HttpRequestResult;
  /** With `streamResponse`: call once the result was handed to the connection. */
  stream?: () => void;
  /** Call once the result was written (or will never be): frees its share of the body budget. */
  written(): void;
}

/**
 * The `http/request` calls of one connection. Requests run concurrently (at most
 * {@link MAX_HTTP_REQUESTS_IN_FLIGHT}); each one's timeout covers the whole exchange (redirects and
 * body included). Buffered bodies share one budget per connection
 * ({@link MAX_BUFFERED_HTTP_BODY_BYTES}) until their result is written, so results cannot outgrow
 * the connection's outbound queue. A streamed body is read only as fast as the connection writes
 * it (at most 1 MiB handed over and not yet written). Everything in flight is aborted when the
 * connection closes ({@link closeAll}).
 */
export class HttpRequests {
  private readonly inFlight = new Set<InFlight>();
  private closed = false;
  /** Bytes of buffered bodies read and not yet written to the connection. */
  private buffered = 0;
  /** Streamed bytes handed to the connection and not yet written, all streams together. */
  private streamed = 0;
  /** Streams paused because the shared window was full. */
  private readonly held = new Set<IncomingMessage>();

  constructor(private readonly sendDelta: BodyDeltaSender) {}

  /** Runs one request (the params were validated by the protocol schema). */
  async run(params: exec.HttpRequestParams): Promise<HttpOutcome> {
    if (this.closed) throw new RpcError(internalError('http/request failed: connection closed'));
    if (this.inFlight.size >= MAX_HTTP_REQUESTS_IN_FLIGHT) {
      throw new RpcError(
        invalidRequest(
          `at most ${MAX_HTTP_REQUESTS_IN_FLIGHT} http requests may be in flight per connection`,
        ),
      );
    }
    let outgoing = prepare(params);
    const requested = params.timeoutMs === undefined ? DEFAULT_HTTP_TIMEOUT_MS : params.timeoutMs;
    // setTimeout fires at once beyond 2^31 - 1 ms (24.8 days): treat that as no timeout
    const timeoutMs = requested !== null && requested <= MAX_TIMER_MS ? requested : null;
    const target = outgoing.url.href;
    let failed: Error | undefined;
    const flight: InFlight = {
      request: undefined,
      response: undefined,
      abort: (reason) => {
        failed ??= reason;
        flight.request?.destroy(reason);
        flight.response?.destroy(reason);
      },
    };
    this.inFlight.add(flight);
    const timer =
      timeoutMs === null
        ? undefined
        : setTimeout(() => flight.abort(new HttpFailure('operation timed out')), timeoutMs);
    const finish = () => {
      if (timer) clearTimeout(timer);
      this.inFlight.delete(flight);
    };
    let response: IncomingMessage;
    try {
      for (let hops = 0; ; hops += 1) {
        response = await this.send(outgoing, flight, () => failed);
        const next = redirected(outgoing, response);
        if (next === undefined) break;
        // the redirect's own body is not wanted: close it rather than read it to its end
        response.destroy();
        if (hops >= MAX_HTTP_REDIRECTS) {
          throw new RpcError(
            internalError(`http/request failed: error following redirect for url (${target})`),
          );
        }
        outgoing = next;
      }
    } catch (error) {
      finish();
      if (error instanceof RpcError) throw error;
      throw new RpcError(
        internalError(`http/request failed: error sending request for url (${target})`),
        { cause: error },
      );
    }
    const head = { status: response.statusCode ?? 0, headers: responseHeaders(response) };
    if (params.streamResponse) {
      response.pause();
      return {
        result: { ...head, bodyBase64: '' },
        stream: () => this.stream(params.requestId, response, flight, finish),
        written: () => {},
      };
    }
    let held = 0;
    const release = () => {
      this.buffered -= held;
      held = 0;
    };
    try {
      const body = await readBody(response, (bytes) => {
        if (this.buffered + bytes > MAX_BUFFERED_HTTP_BODY_BYTES) return false;
        this.buffered += bytes;
        held += bytes;
        return true;
      });
      return { result: { ...head, bodyBase64: body.toString('base64') }, written: release };
    } catch (error) {
      release();
      throw new RpcError(
        internalError(`failed to read http/request response body: ${(error as Error).message}`),
        { cause: error },
      );
    } finally {
      finish();
    }
  }

  /** The shared window has room again: every stream it held reads on. */
  private resumeHeld(): void {
    for (const response of this.held) response.resume();
    this.held.clear();
  }

  /** Aborts every request and stream (the connection is gone). */
  closeAll(): void {
    this.closed = true;
    for (const flight of this.inFlight) flight.abort(new HttpFailure('connection closed'));
    this.inFlight.clear();
  }

  private send(
    outgoing: Outgoing,
    flight: InFlight,
    failure: () => Error | undefined,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const already = failure();
      if (already) {
        reject(already);
        return;
      }
      // a repeated name goes out as one line per value; Node wants single values (`host`) as strings
      const headers: Record<string, string | string[]> = {};
      for (const [name, values] of outgoing.headers) {
        headers[name] = values.length === 1 ? (values[0] as string) : values;
      }
      if (outgoing.body !== undefined) headers['content-length'] = String(outgoing.body.length);
      const make = outgoing.url.protocol === 'https:' ? httpsRequest : httpRequest;
      let req: ClientRequest;
      try {
        req = make(outgoing.url, { method: outgoing.method, headers });
      } catch (error) {
        reject(error);
        return;
      }
      // Node upper-cases the method; HTTP methods are case-sensitive, so send it as given
      req.method = outgoing.method;
      flight.request = req;
      let answered = false;
      req.once('response', (res) => {
        answered = true;
        // errors are handled where the body is read; this keeps a stray one from being fatal
        res.on('error', () => {});
        flight.response = res;
        resolve(res);
      });
      // `on`, not `once`: aborting after the response came emits another error
      req.on('error', (error) => reject(failure() ?? error));
      // closed with neither a response nor an error: a 101 or a CONNECT nobody takes over
      req.once('close', () => {
        if (!answered) reject(failure() ?? new HttpFailure('closed without a response'));
      });
      req.end(outgoing.body);
    });
  }

  private stream(
    requestId: string,
    response: IncomingMessage,
    flight: InFlight,
    finish: () => void,
  ): void {
    let seq = 1;
    let ended = false;
    const done = (error: string | null) => {
      if (ended) return;
      ended = true;
      finish();
      if (this.closed) return;
      this.sendDelta({ requestId, seq, deltaBase64: '', done: true, error }, () => {});
    };
    if (this.closed) {
      finish();
      return;
    }
    if (response.destroyed) {
      // aborted (timed out) between the result and now: its close event has come and gone
      done('error decoding response body');
      return;
    }
    response.on('data', (chunk: Buffer) => {
      if (ended || this.closed) return;
      this.streamed += chunk.length;
      this.sendDelta(
        { requestId, seq, deltaBase64: chunk.toString('base64'), done: false, error: null },
        (error) => {
          this.streamed -= chunk.length;
          if (error) flight.abort(error);
          else if (this.streamed < STREAM_WINDOW_BYTES) this.resumeHeld();
        },
      );
      seq += 1;
      if (this.streamed >= STREAM_WINDOW_BYTES) {
        response.pause();
        this.held.add(response);
      }
    });
    response.once('close', () => this.held.delete(response));
    response.once('end', () => done(null));
    response.on('error', () => done('error decoding response body'));
    response.once('close', () => {
      if (!response.complete) done('error decoding response body');
    });
    response.resume();
  }
}

/** Reads a whole body; `reserve` says whether `bytes` more may be held. */
function readBody(response: IncomingMessage, reserve: (bytes: number) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (response.destroyed) {
      // aborted (timed out) before the body was asked for: its close event has come and gone
      reject(new HttpFailure('error decoding response body'));
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      if (!reserve(chunk.length)) {
        response.destroy(
          new HttpFailure(
            `response bodies buffered for this connection (this one and those not yet written) exceed ${MAX_BUFFERED_HTTP_BODY_BYTES} bytes (use streamResponse)`,
          ),
        );
        return;
      }
      bytes += chunk.length;
      chunks.push(chunk);
    });
    response.once('end', () => resolve(Buffer.concat(chunks, bytes)));
    response.on('error', (error) =>
      reject(
        error instanceof HttpFailure ? error : new HttpFailure('error decoding response body'),
      ),
    );
    response.once('close', () => {
      if (!response.complete) reject(new HttpFailure('error decoding response body'));
    });
  });
}
