import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@tether/protocol';
import { unpairedCall } from '../conversation.js';
import type { ResponseInputItem } from '../model/index.js';
import { CHAT_COMPLETIONS_PATHS, chatStreamEvents, unansweredToolCall } from './mock-chat.js';
import { emitReasoning, type MockReasoningOutput } from './mock-reasoning.js';

/** Token counts reported in `response.completed` (missing numbers are 0; total is computed). */
export interface MockUsage {
  inputTokens?: number;
  cachedInputTokens?: number;
  outputTokens?: number;
  reasoningOutputTokens?: number;
}

export interface MockToolCall {
  name: string;
  /** The call's arguments: a JSON string as the model would send it, or a value to stringify. */
  arguments: string | Record<string, unknown>;
  callId?: string;
}

/** A custom (freeform) tool call: the model's `input` is plain text (an `apply_patch` patch). */
export interface MockCustomToolCall {
  name: string;
  input: string;
  callId?: string;
}

/** One output item of a scripted response. */
export type MockOutput =
  | { type: 'text'; deltas: string[] }
  | ({ type: 'toolCall' } & MockToolCall)
  | ({ type: 'customToolCall' } & MockCustomToolCall)
  | MockReasoningOutput;

/** How a scripted stream ends after its output items. */
export type MockStreamEnd =
  | { type: 'completed' }
  | { type: 'failed'; message: string; code: string }
  | { type: 'error'; message: string; code: string }
  | { type: 'incomplete'; reason: string };

/** A scripted answer to one request; build them with `mockReply`. */
export type MockReply =
  | {
      readonly kind: 'stream';
      readonly outputs: readonly MockOutput[];
      readonly end: MockStreamEnd;
      /** `null` leaves `usage` out of `response.completed`. */
      readonly usage: MockUsage | null;
      /** Pause between two events. */
      readonly delayMs: number;
      /**
       * Stop after this many events: `drop` destroys the socket, `hang` goes silent with the
       * connection open, `end` finishes the HTTP response properly.
       */
      readonly cut?: { readonly afterEvents: number; readonly action: 'drop' | 'hang' | 'end' };
      /** Extra response headers (rate-limit headers, for instance). */
      readonly headers?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'http';
      readonly status: number;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
      /** Pause before answering. */
      readonly delayMs: number;
    }
  /** Read the request and never answer (not even headers). */
  | { readonly kind: 'hang' };

export type MockStreamReply = Extract<MockReply, { kind: 'stream' }>;

export interface MockReplyOptions {
  /** Usage in `response.completed`; `null` leaves it out. Default 10 input and 5 output tokens. */
  usage?: MockUsage | null;
  /** Extra response headers, e.g. `x-codex-primary-used-percent` or `x-ratelimit-*`. */
  headers?: Record<string, string>;
}

const DEFAULT_USAGE: MockUsage = { inputTokens: 10, outputTokens: 5 };

function stream(
  outputs: MockOutput[],
  end: MockStreamEnd,
  options: MockReplyOptions = {},
): MockStreamReply {
  return {
    kind: 'stream',
    outputs,
    end,
    usage: options.usage === undefined ? DEFAULT_USAGE : options.usage,
    delayMs: 0,
    ...(options.headers ? { headers: { ...options.headers } } : {}),
  };
}

/** Builders for the mock's scripted replies. */
export const mockReply = {
  /** An assistant message streamed as these deltas, then `response.completed`. */
  text(deltas: string | string[], options?: MockReplyOptions): MockStreamReply {
    const list = typeof deltas === 'string' ? [deltas] : deltas;
    return stream([{ type: 'text', deltas: list }], { type: 'completed' }, options);
  },
  /** A `function_call` item, then `response.completed`. */
  toolCall(call: MockToolCall, options?: MockReplyOptions): MockStreamReply {
    return stream([{ type: 'toolCall', ...call }], { type: 'completed' }, options);
  },
  /** A `custom_tool_call` item, then `response.completed`. */
  customToolCall(call: MockCustomToolCall, options?: MockReplyOptions): MockStreamReply {
    return stream([{ type: 'customToolCall', ...call }], { type: 'completed' }, options);
  },
  /** A message, then a `function_call` item, then `response.completed`. */
  textAndToolCall(
    deltas: string | string[],
    call: MockToolCall,
    options?: MockReplyOptions,
  ): MockStreamReply {
    const list = typeof deltas === 'string' ? [deltas] : deltas;
    return stream(
      [
        { type: 'text', deltas: list },
        { type: 'toolCall', ...call },
      ],
      { type: 'completed' },
      options,
    );
  },
  /** Any sequence of output items (several tool calls, several messages), then completion. */
  output(outputs: MockOutput[], options?: MockReplyOptions): MockStreamReply {
    return stream(outputs, { type: 'completed' }, options);
  },
  /** A non-streaming HTTP answer; a string body is sent as is, anything else as JSON. */
  httpError(status: number, body?: unknown, headers: Record<string, string> = {}): MockReply {
    const text =
      body === undefined
        ? JSON.stringify({
            error: { message: `mock HTTP ${status}`, type: 'mock_error', param: null, code: null },
          })
        : typeof body === 'string'
          ? body
          : JSON.stringify(body);
    const hasType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
    const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
    return {
      kind: 'http',
      status,
      body: text,
      headers: hasType ? { ...headers } : { 'content-type': type, ...headers },
      delayMs: 0,
    };
  },
  /** `response.created`, then `response.failed` with this message (API code `server_error`). */
  failed(message: string, options: { code?: string } = {}): MockStreamReply {
    return stream(
      [],
      { type: 'failed', message, code: options.code ?? 'server_error' },
      { usage: null },
    );
  },
  /** `response.created`, then an `error` event. */
  errorEvent(message: string, options: { code?: string } = {}): MockStreamReply {
    return stream(
      [],
      { type: 'error', message, code: options.code ?? 'server_error' },
      { usage: null },
    );
  },
  /** The reply's items, then `response.incomplete` with this reason (`max_output_tokens`...). */
  incomplete(reason: string, reply: MockStreamReply = mockReply.text(['Hello'])): MockStreamReply {
    return { ...reply, end: { type: 'incomplete', reason } };
  },
  /**
   * Sends the first `afterEvents` SSE events of `reply` (default a text reply), then destroys
   * the socket. `afterEvents: 0` sends only the 200 status and headers.
   */
  drop(options: { afterEvents: number; reply?: MockStreamReply }): MockStreamReply {
    const reply = options.reply ?? mockReply.text(['Hello', ' from', ' mock.']);
    return { ...reply, cut: { afterEvents: Math.max(0, options.afterEvents), action: 'drop' } };
  },
  /**
   * Sends the first `afterEvents` SSE events of `reply` (default a text reply), then ends the
   * HTTP response properly, so the stream closes cleanly without `response.completed`.
   */
  truncate(options: { afterEvents: number; reply?: MockStreamReply }): MockStreamReply {
    const reply = options.reply ?? mockReply.text(['Hello', ' from', ' mock.']);
    return { ...reply, cut: { afterEvents: Math.max(0, options.afterEvents), action: 'end' } };
  },
  /**
   * Never finishes: without `afterEvents` the request gets no answer at all; with it, the status,
   * headers and that many events of `reply`, then silence with the connection open.
   */
  hang(options: { afterEvents?: number; reply?: MockStreamReply } = {}): MockReply {
    if (options.afterEvents === undefined) return { kind: 'hang' };
    const reply = options.reply ?? mockReply.text(['Hello', ' from', ' mock.']);
    return { ...reply, cut: { afterEvents: Math.max(0, options.afterEvents), action: 'hang' } };
  },
  /** The same reply with a pause between events (or before an HTTP answer). */
  slow<R extends MockReply>(reply: R, options: { delayMs: number }): R {
    if (reply.kind === 'hang') return reply;
    return { ...reply, delayMs: Math.max(0, options.delayMs) };
  },
};

/** How the mock's handling of a request ended. */
export type MockRequestOutcome =
  /** Still answering (or hanging). */
  | 'pending'
  /** The scripted reply was sent completely. */
  | 'completed'
  /** The script destroyed the socket (`drop`). */
  | 'dropped'
  /** The client closed the connection before the reply was complete (an aborted request). */
  | 'clientClosed'
  /** `close()` ended it. */
  | 'serverClosed';

/** A request the mock received on its Responses endpoint. */
export interface MockRequest {
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (`{}` when it was not a JSON object). */
  readonly body: Record<string, unknown>;
  readonly rawBody: string;
  /** The script was empty and the default reply was sent. */
  readonly defaulted: boolean;
  readonly reply: MockReply;
  /** Updated as the exchange goes; `finished` resolves with the final value. */
  outcome: MockRequestOutcome;
  readonly finished: Promise<Exclude<MockRequestOutcome, 'pending'>>;
}

export interface MockResponsesOptions {
  /** Default 0: a free port. The server always binds 127.0.0.1. */
  port?: number;
  logger?: Logger;
  /** The answer when the script is empty; default a short text reply. */
  defaultReply?: MockReply;
  /**
   * Chooses the reply from the request body before the script is consulted (return undefined to
   * use the script): for clients that send side requests the script cannot predict.
   */
  responder?: (body: Record<string, unknown>) => MockReply | undefined;
  /**
   * The model ids `GET /v1/models` lists (default none); change them later with `setModels`.
   * `null` answers that route 404, as a server without it does.
   */
  models?: string[] | null;
  /**
   * Refuse, as the real API does (HTTP 400, before the script is consulted), a request whose
   * `input` has a tool call without its output or an output without its call. Default true.
   */
  requireCallOutputs?: boolean;
}

const RESPONSES_PATHS = new Set(['/v1/responses', '/responses']);

/**
 * A loopback server speaking the OpenAI Responses API's streaming shape, answering each request
 * with the next scripted reply. Point a client's base URL at `baseUrl`.
 */
export class MockResponsesServer {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string;
  readonly port: number;
  /** Requests to the Responses endpoint, in arrival order. */
  readonly requests: MockRequest[] = [];
  /** `GET /v1/models` requests, with their headers, in arrival order. */
  readonly modelListRequests: IncomingHttpHeaders[] = [];
  private models: string[] | null = [];
  private readonly script: MockReply[] = [];
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];
  private readonly live = new Set<() => void>();
  private responseCounter = 0;
  private closing = false;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly logger: Logger,
    private readonly defaultReply: MockReply,
    private readonly responder: MockResponsesOptions['responder'],
    private readonly requireCallOutputs: boolean,
  ) {
    const address = server.address() as AddressInfo;
    this.port = address.port;
    this.baseUrl = `http://127.0.0.1:${address.port}/v1`;
  }

  static async start(options: MockResponsesOptions = {}): Promise<MockResponsesServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const mock = new MockResponsesServer(
      server,
      options.logger ?? silentLogger(),
      options.defaultReply ?? mockReply.text(['Hello', ' from', ' mock.']),
      options.responder,
      options.requireCallOutputs ?? true,
    );
    if (options.models !== undefined) mock.setModels(options.models);
    server.on('request', (req, res) => mock.handle(req, res));
    return mock;
  }

  /** What `GET /v1/models` lists from now on (`null`: that route answers 404). */
  setModels(models: string[] | null): void {
    this.models = models === null ? null : [...models];
  }

  /** Appends replies to the script; each request takes the next one. */
  enqueue(...replies: MockReply[]): void {
    this.script.push(...replies);
  }

  /** Replies not consumed yet. */
  get pendingReplies(): number {
    return this.script.length;
  }

  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<MockRequest[]> {
    if (this.requests.length >= count) return Promise.resolve(this.requests);
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve: () => resolve(this.requests) });
    });
  }

  /** Stops listening and closes every connection, including hanging ones. */
  close(): Promise<void> {
    if (this.closed === undefined) {
      this.closing = true;
      this.closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      for (const stop of [...this.live]) stop();
    }
    return this.closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method === 'GET' && path === '/v1/models' && this.models !== null) {
        this.modelListRequests.push(req.headers);
        sendModelList(res, this.models);
        return;
      }
      const isModelPath = RESPONSES_PATHS.has(path) || CHAT_COMPLETIONS_PATHS.has(path);
      if (req.method !== 'POST' || !isModelPath) {
        sendJson(res, 404, {
          error: { message: `mock: no route for ${req.method} ${path}`, type: 'not_found' },
        });
        return;
      }
      this.respond(req, res, path, rawBody);
    });
  }

  private respond(req: IncomingMessage, res: ServerResponse, path: string, rawBody: string): void {
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      }
    } catch {
      // recorded with an empty body
    }
    const chat = CHAT_COMPLETIONS_PATHS.has(path);
    const refusal = !this.requireCallOutputs
      ? undefined
      : chat
        ? refuseUnansweredToolCalls(body)
        : refuseUnpairedCalls(body);
    const scripted = refusal ?? this.responder?.(body) ?? this.script.shift();
    const reply = scripted ?? this.defaultReply;
    const index = this.requests.length;
    if (scripted === undefined) {
      this.logger.warn({ index }, 'mock-responses: script empty, sending the default text reply');
    }
    let settle: (outcome: Exclude<MockRequestOutcome, 'pending'>) => void = () => {};
    const finished = new Promise<Exclude<MockRequestOutcome, 'pending'>>((resolve) => {
      settle = resolve;
    });
    const record: MockRequest = {
      index,
      method: req.method ?? 'POST',
      path,
      headers: req.headers,
      body,
      rawBody,
      defaulted: scripted === undefined,
      reply,
      outcome: 'pending',
      finished,
    };
    this.requests.push(record);
    for (const waiter of [...this.waiters]) {
      if (this.requests.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }

    const exchange = new Exchange(res);
    const end = (outcome: Exclude<MockRequestOutcome, 'pending'>) => {
      if (record.outcome !== 'pending') return;
      record.outcome = outcome;
      this.live.delete(stop);
      settle(outcome);
    };
    const stop = () => {
      end('serverClosed');
      res.destroy();
    };
    this.live.add(stop);
    res.on('close', () => {
      exchange.markClosed();
      if (!res.writableFinished) end(this.closing ? 'serverClosed' : 'clientClosed');
    });
    res.on('finish', () => end('completed'));

    const responseId = `${chat ? 'chatcmpl' : 'resp'}_mock_${++this.responseCounter}`;
    const model = typeof body.model === 'string' ? body.model : 'mock-model';
    // the same scripted reply, shaped as the endpoint that was called streams it
    const shape = (stream: MockStreamReply) =>
      chat
        ? chatStreamEvents(stream, responseId, model, body)
        : streamEvents(stream, responseId, model);
    this.play(exchange, reply, shape, () => end('dropped')).catch((error: unknown) => {
      this.logger.error({ err: error, index }, 'mock-responses: reply failed');
      res.destroy();
    });
  }

  private async play(
    exchange: Exchange,
    reply: MockReply,
    shape: (reply: MockStreamReply) => string[],
    dropped: () => void,
  ): Promise<void> {
    const res = exchange.res;
    if (reply.kind === 'hang') return;
    if (reply.kind === 'http') {
      if (reply.delayMs > 0 && !(await exchange.pause(reply.delayMs))) return;
      res.writeHead(reply.status, {
        ...reply.headers,
        'content-length': Buffer.byteLength(reply.body),
      });
      res.end(reply.body);
      return;
    }
    const events = shape(reply);
    res.writeHead(200, {
      ...reply.headers,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    const limit = reply.cut?.afterEvents ?? events.length;
    for (let i = 0; i < events.length && i < limit; i++) {
      if (i > 0 && reply.delayMs > 0 && !(await exchange.pause(reply.delayMs))) return;
      if (!(await exchange.write(events[i] ?? ''))) return;
    }
    if (reply.cut === undefined || reply.cut.action === 'end') {
      res.end();
      return;
    }
    if (reply.cut.action === 'hang') return;
    await exchange.flushed();
    dropped();
    res.socket?.destroy();
  }
}

/** Writes to one response, noticing a closed connection and waiting out backpressure. */
class Exchange {
  private closed = false;
  private readonly wakeups = new Set<() => void>();

  constructor(readonly res: ServerResponse) {}

  markClosed(): void {
    this.closed = true;
    for (const wake of this.wakeups) wake();
    this.wakeups.clear();
  }

  /** Sleeps; `false` when the connection closed meanwhile. */
  pause(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.wakeups.delete(wake);
        resolve(!this.closed);
      }, ms);
      this.wakeups.add(wake);
    });
  }

  /** Writes a chunk, waiting for `drain` when the buffer is full; `false` when closed. */
  write(chunk: string): Promise<boolean> {
    if (this.closed || this.res.destroyed) return Promise.resolve(false);
    if (this.res.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.wakeups.delete(done);
        resolve(!this.closed);
      };
      this.res.on('drain', done);
      this.wakeups.add(done);
    });
  }

  /** Resolves once everything written so far has been handed to the socket. */
  flushed(): Promise<void> {
    const socket = this.res.socket;
    if (this.closed || socket === null || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.write('', () => resolve());
    });
  }
}

/** The real API's answer to input with a call and no output (or an output and no call). */
function refuseUnpairedCalls(body: Record<string, unknown>): MockReply | undefined {
  const input = body.input;
  if (!Array.isArray(input)) return undefined;
  const items = input.filter(
    (item): item is ResponseInputItem =>
      typeof item === 'object' && item !== null && typeof item.type === 'string',
  );
  const problem = unpairedCall(items);
  if (problem === undefined) return undefined;
  return mockReply.httpError(400, {
    error: { message: problem, type: 'invalid_request_error', param: 'input', code: null },
  });
}

/** The Chat Completions API's answer to `messages` with a tool call left unanswered. */
function refuseUnansweredToolCalls(body: Record<string, unknown>): MockReply | undefined {
  const problem = unansweredToolCall(body);
  if (problem === undefined) return undefined;
  return mockReply.httpError(400, {
    error: { message: problem, type: 'invalid_request_error', param: 'messages', code: null },
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

type Payload = Record<string, unknown>;

function sse(type: string, sequence: number, payload: Payload): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...payload })}\n\n`;
}

function usageJson(usage: MockUsage): Payload {
  const input = usage.inputTokens ?? 0;
  const output = usage.outputTokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.reasoningOutputTokens ?? 0 },
    total_tokens: input + output,
  };
}

/** The SSE events of a stream reply, as the real API shapes them. */
export function streamEvents(reply: MockStreamReply, responseId: string, model: string): string[] {
  const events: string[] = [];
  const emit = (type: string, payload: Payload) => events.push(sse(type, events.length, payload));
  const createdAt = Math.floor(Date.now() / 1000);
  const response = (status: string, extra: Payload = {}): Payload => ({
    id: responseId,
    object: 'response',
    created_at: createdAt,
    status,
    model,
    output: [],
    ...extra,
  });
  emit('response.created', { response: response('in_progress') });
  emit('response.in_progress', { response: response('in_progress') });
  const done: Payload[] = [];
  const serial = responseId.replace(/^resp_/, '');
  reply.outputs.forEach((output, outputIndex) => {
    if (output.type === 'reasoning') {
      const id = output.id ?? `rs_${serial}_${outputIndex}`;
      done.push(emitReasoning(emit, output, id, outputIndex));
    } else if (output.type === 'text') {
      const id = `msg_${serial}_${outputIndex}`;
      const text = output.deltas.join('');
      const part = (value: string) => ({ type: 'output_text', text: value, annotations: [] });
      const at = { item_id: id, output_index: outputIndex, content_index: 0 };
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      });
      emit('response.content_part.added', { ...at, part: part('') });
      for (const delta of output.deltas) {
        emit('response.output_text.delta', { ...at, delta, logprobs: [] });
      }
      emit('response.output_text.done', { ...at, text, logprobs: [] });
      emit('response.content_part.done', { ...at, part: part(text) });
      const item = {
        id,
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [part(text)],
      };
      emit('response.output_item.done', { output_index: outputIndex, item });
      done.push(item);
    } else if (output.type === 'customToolCall') {
      const id = `ctc_${serial}_${outputIndex}`;
      const callId = output.callId ?? `call_${serial}_${outputIndex}`;
      const item = (status: string, input: string) => ({
        id,
        type: 'custom_tool_call',
        status,
        call_id: callId,
        name: output.name,
        input,
      });
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: item('in_progress', ''),
      });
      const at = { item_id: id, output_index: outputIndex };
      emit('response.custom_tool_call_input.delta', { ...at, delta: output.input });
      emit('response.custom_tool_call_input.done', { ...at, input: output.input });
      const completed = item('completed', output.input);
      emit('response.output_item.done', { output_index: outputIndex, item: completed });
      done.push(completed);
    } else {
      const id = `fc_${serial}_${outputIndex}`;
      const callId = output.callId ?? `call_${serial}_${outputIndex}`;
      const args =
        typeof output.arguments === 'string' ? output.arguments : JSON.stringify(output.arguments);
      const item = (status: string, value: string) => ({
        id,
        type: 'function_call',
        status,
        arguments: value,
        call_id: callId,
        name: output.name,
      });
      emit('response.output_item.added', {
        output_index: outputIndex,
        item: item('in_progress', ''),
      });
      const at = { item_id: id, output_index: outputIndex };
      emit('response.function_call_arguments.delta', { ...at, delta: args });
      emit('response.function_call_arguments.done', { ...at, arguments: args });
      const completed = item('completed', args);
      emit('response.output_item.done', { output_index: outputIndex, item: completed });
      done.push(completed);
    }
  });
  const end = reply.end;
  switch (end.type) {
    case 'completed':
      emit('response.completed', {
        response: response('completed', {
          output: done,
          usage: reply.usage === null ? null : usageJson(reply.usage),
        }),
      });
      break;
    case 'failed':
      emit('response.failed', {
        response: response('failed', {
          output: done,
          error: { code: end.code, message: end.message },
        }),
      });
      break;
    case 'incomplete':
      emit('response.incomplete', {
        response: response('incomplete', {
          output: done,
          incomplete_details: { reason: end.reason },
        }),
      });
      break;
    case 'error':
      emit('error', { code: end.code, message: end.message, param: null });
      break;
  }
  return events;
}

/** `GET /v1/models` as OpenAI-compatible servers answer it (vLLM, Ollama, llama.cpp's server). */
function sendModelList(res: ServerResponse, models: readonly string[]): void {
  sendJson(res, 200, {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'mock' })),
  });
}
