import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { sleep, waitFor } from '@tether/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_BUFFERED_HTTP_BODY_BYTES,
  MAX_HTTP_REDIRECTS,
  MAX_HTTP_REQUESTS_IN_FLIGHT,
  STREAM_WINDOW_BYTES,
} from './http-request.js';
import { newService, TestClient } from './test-support/harness.js';

type Route = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

const routes = new Map<string, Route>();
/** What each request to the test server looked like, by path. */
const seen = new Map<string, { method: string; headers: string[]; body: Buffer }>();
let server: Server;
let base: string;
const service = newService();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] as string;
      const body = Buffer.concat(chunks);
      seen.set(path, { method: req.method ?? '', headers: req.rawHeaders, body });
      const route = routes.get(path);
      if (route) route(req, body, res);
      else res.writeHead(404).end('no route');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  service.shutdown();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function connected(): Promise<TestClient> {
  const client = new TestClient(service);
  await client.initialize();
  return client;
}

interface HttpResult {
  status: number;
  headers: Array<{ name: string; value: string }>;
  bodyBase64: string;
}

const get = (path: string, extra: Record<string, unknown> = {}) => ({
  requestId: 'r',
  method: 'GET',
  url: `${base}${path}`,
  ...extra,
});

/** The header lines a request arrived with, names lower-cased. */
function sentHeaders(path: string): Array<[string, string]> {
  const raw = seen.get(path)?.headers ?? [];
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) {
    pairs.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string]);
  }
  return pairs;
}

function deltas(client: TestClient, requestId: string) {
  return client
    .notifications('http/request/bodyDelta')
    .filter((p) => p.requestId === requestId) as Array<{
    seq: number;
    deltaBase64: string;
    done: boolean;
    error: string | null;
  }>;
}

const streamed = (client: TestClient, requestId: string) =>
  Buffer.concat(deltas(client, requestId).map((d) => Buffer.from(d.deltaBase64, 'base64')));

describe('http/request', () => {
  it('makes the request and returns status, headers in order and the body', async () => {
    routes.set('/echo', (req, body, res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('X-Latin', 'caf\u00e9'); // not visible ASCII: left out
      res.writeHead(201, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.concat([Buffer.from(`${req.method} `), body, Buffer.from([0, 255])]));
    });
    const client = await connected();
    const reply = await client.request(
      'http/request',
      get('/echo', {
        method: 'POST',
        headers: [
          { name: 'X-Twice', value: '1' },
          { name: 'x-twice', value: '2' },
          { name: 'X-Utf8', value: 'héllo' },
        ],
        bodyBase64: Buffer.from('payload').toString('base64'),
      }),
    );
    const result = reply.result as HttpResult;
    expect(result.status).toBe(201);
    expect(result.headers.filter((h) => h.name === 'set-cookie')).toEqual([
      { name: 'set-cookie', value: 'a=1' },
      { name: 'set-cookie', value: 'b=2' },
    ]);
    expect(result.headers.some((h) => h.name === 'x-latin')).toBe(false);
    expect(result.headers.find((h) => h.name === 'content-type')?.value).toBe(
      'application/octet-stream',
    );
    expect(Buffer.from(result.bodyBase64, 'base64')).toEqual(
      Buffer.concat([Buffer.from('POST payload'), Buffer.from([0, 255])]),
    );
    const headers = sentHeaders('/echo');
    expect(headers.filter(([name]) => name === 'x-twice')).toEqual([
      ['x-twice', '1'],
      ['x-twice', '2'],
    ]);
    // the value's UTF-8 bytes went out as they are
    expect(
      Buffer.from(headers.find(([name]) => name === 'x-utf8')?.[1] ?? '', 'latin1').toString(),
    ).toBe('héllo');
    expect(headers).toContainEqual(['accept', '*/*']);
    // a method is sent as given (HTTP methods are case-sensitive)
    routes.set('/method', (req, _body, res) => res.end(req.method));
    const custom = (await client.call('http/request', get('/method', { method: 'PURGE' }))) as
      | HttpResult
      | undefined;
    expect(Buffer.from(custom?.bodyBase64 ?? '', 'base64').toString()).toBe('PURGE');
    client.disconnect();
  });

  it('answers bad requests like the reference', async () => {
    const client = await connected();
    const err = async (params: unknown) => (await client.request('http/request', params)).error;
    const invalid = (message: string) => ({ code: -32602, message });
    expect(await err({ method: 'GET', url: `${base}/x` })).toEqual(
      invalid('missing field `requestId`'),
    );
    expect(await err(get('/x', { method: 'G ET' }))).toEqual(
      invalid('http/request method is invalid: invalid HTTP method'),
    );
    expect(await err(get('/x', { method: '' }))).toEqual(
      invalid('http/request method is invalid: invalid HTTP method'),
    );
    expect(await err(get('', { url: 'not a url' }))).toEqual(
      invalid('http/request url is invalid: relative URL without a base'),
    );
    expect(await err(get('', { url: 'http://127.0.0.1:99999/' }))).toEqual(
      invalid('http/request url is invalid: invalid port number'),
    );
    expect(await err(get('', { url: 'http://[::1' }))).toEqual(
      invalid('http/request url is invalid: invalid IPv6 address'),
    );
    expect(await err(get('', { url: 'file:///etc/hostname' }))).toEqual(
      invalid('http/request only supports http and https URLs, got file'),
    );
    expect(await err(get('/x', { headers: [{ name: 'bad name', value: '1' }] }))).toEqual(
      invalid('http/request header name is invalid: invalid HTTP header name'),
    );
    expect(await err(get('/x', { headers: [{ name: 'x', value: 'a\nb' }] }))).toEqual(
      invalid('http/request header value is invalid for x: failed to parse header value'),
    );
    expect(await err(get('/x', { headers: null }))).toEqual(
      invalid('invalid type: null, expected a sequence'),
    );
    expect(await err(get('/x', { bodyBase64: 'not base64!' }))).toEqual(
      invalid('Invalid symbol 32, offset 3.'),
    );
    // nothing listens on port 1: the URL in the message is the parsed one
    expect(await err(get('', { url: 'http://127.0.0.1:1' }))).toEqual({
      code: -32603,
      message: 'http/request failed: error sending request for url (http://127.0.0.1:1/)',
    });
    client.disconnect();
    const early = new TestClient(service);
    expect(await early.request('http/request', get('/x'))).toEqual({
      error: { code: -32600, message: 'client must call initialize before using http methods' },
    });
    early.disconnect();
  });

  it('times the whole exchange out after timeoutMs; null waits as long as it takes', async () => {
    routes.set('/slow', (_req, _body, res) => {
      setTimeout(() => res.end('late'), 600);
    });
    routes.set('/slow-body', (_req, _body, res) => {
      res.writeHead(200);
      res.write('start');
      setTimeout(() => res.end('late'), 600);
    });
    const client = await connected();
    expect((await client.request('http/request', get('/slow', { timeoutMs: 100 }))).error).toEqual({
      code: -32603,
      message: `http/request failed: error sending request for url (${base}/slow)`,
    });
    // the timeout covers the body too
    expect(
      (await client.request('http/request', get('/slow-body', { timeoutMs: 200 }))).error,
    ).toEqual({
      code: -32603,
      message: 'failed to read http/request response body: operation timed out',
    });
    const waited = (await client.call(
      'http/request',
      get('/slow', { timeoutMs: null }),
    )) as unknown;
    expect(Buffer.from((waited as HttpResult).bodyBase64, 'base64').toString()).toBe('late');
    client.disconnect();
  });

  it('says so when the body breaks off, buffered or streamed', async () => {
    routes.set('/abort', (_req, _body, res) => {
      res.writeHead(200);
      res.write('partial');
      setTimeout(() => res.destroy(), 50);
    });
    const client = await connected();
    expect((await client.request('http/request', get('/abort'))).error).toEqual({
      code: -32603,
      message: 'failed to read http/request response body: error decoding response body',
    });
    await client.call('http/request', get('/abort', { requestId: 's', streamResponse: true }));
    await client.waitFor(() => deltas(client, 's').some((d) => d.done));
    expect(streamed(client, 's').toString()).toBe('partial');
    expect(deltas(client, 's').at(-1)).toEqual({
      requestId: 's',
      seq: deltas(client, 's').length,
      deltaBase64: '',
      done: true,
      error: 'error decoding response body',
    });
    client.disconnect();
  });

  it('streams the body as it arrives: result first, then deltas in seq order, then done', async () => {
    let sendRest: (() => void) | undefined;
    routes.set('/sse', (_req, _body, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: one\n\n');
      sendRest = () => {
        res.write('data: two\n\n');
        res.end('data: end\n\n');
      };
    });
    const client = await connected();
    const result = (await client.call(
      'http/request',
      get('/sse', { requestId: 'sse-1', streamResponse: true }),
    )) as unknown as HttpResult;
    expect(result.status).toBe(200);
    expect(result.bodyBase64).toBe('');
    // the first event arrives while the server still holds the response open
    await client.waitFor(() => streamed(client, 'sse-1').toString() === 'data: one\n\n');
    const responseIndex = client.messages.findIndex((m) => m.kind === 'response' && m.id === 2);
    const firstDelta = client.messages.findIndex(
      (m) => m.kind === 'notification' && m.method === 'http/request/bodyDelta',
    );
    expect(responseIndex).toBeGreaterThanOrEqual(0);
    expect(firstDelta).toBeGreaterThan(responseIndex);
    sendRest?.();
    await client.waitFor(() => deltas(client, 'sse-1').some((d) => d.done));
    const all = deltas(client, 'sse-1');
    expect(all.map((d) => d.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.filter((d) => d.done)).toHaveLength(1);
    expect(all.at(-1)).toMatchObject({ done: true, deltaBase64: '', error: null });
    expect(streamed(client, 'sse-1').toString()).toBe('data: one\n\ndata: two\n\ndata: end\n\n');
    client.disconnect();
  });

  it('reads streamed bodies only as fast as the connection writes them, one window for all, losing nothing', async () => {
    const total = 24 * 1024 * 1024;
    const streams = ['s0', 's1', 's2'];
    const finished = new Set<string>();
    routes.set('/big-stream', (req, _body, res) => {
      const name = new URL(req.url ?? '', 'http://x').searchParams.get('n') ?? '';
      res.writeHead(200);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const piece = Buffer.alloc(64 * 1024, sent / (64 * 1024));
          sent += piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end(() => finished.add(name));
      };
      pump();
    });
    const client = await connected();
    client.stalled = true; // the socket stops draining
    for (const name of streams) {
      await client.call(
        'http/request',
        get(`/big-stream?n=${name}`, { requestId: name, streamResponse: true, timeoutMs: null }),
      );
    }
    await client.waitFor(() => streams.every((name) => streamed(client, name).length > 0));
    await sleep(500);
    // held back: one shared window (plus a read per stream) was handed over, and no server
    // could finish writing
    const handed = streams.reduce((sum, name) => sum + streamed(client, name).length, 0);
    expect(handed).toBeLessThan(STREAM_WINDOW_BYTES + streams.length * 256 * 1024);
    expect(finished.size).toBe(0);
    client.drain();
    for (const name of streams) {
      await client.waitFor(() => deltas(client, name).some((d) => d.done), 60_000);
      const body = streamed(client, name);
      expect(body.length).toBe(total);
      for (let i = 0; i < total; i += 64 * 1024) expect(body[i]).toBe((i / (64 * 1024)) & 0xff);
    }
    expect(finished.size).toBe(streams.length);
    client.disconnect();
  });

  it('aborts what is in flight when the connection closes', async () => {
    let closed = false;
    routes.set('/endless', (req, _body, res) => {
      res.writeHead(200);
      res.write('first');
      res.on('close', () => {
        closed = true;
      });
      void req;
    });
    const client = await connected();
    await client.call(
      'http/request',
      get('/endless', { requestId: 'e', streamResponse: true, timeoutMs: null }),
    );
    await client.waitFor(() => streamed(client, 'e').length > 0);
    // let the delta's write be confirmed, so that only the close itself can stop the stream
    await sleep(50);
    client.disconnect();
    await waitFor(() => closed);
  });

  it('aborts a request still waiting for its response when the connection closes', async () => {
    let closed = false;
    routes.set('/hang', (req) => {
      req.socket.on('close', () => {
        closed = true;
      });
    });
    const client = await connected();
    const reply = client.request('http/request', get('/hang', { timeoutMs: null }));
    await waitFor(() => seen.has('/hang'));
    client.disconnect();
    await waitFor(() => closed);
    void reply;
  });

  it('follows redirects as the reference does', async () => {
    routes.set('/moved', (_req, _body, res) => res.writeHead(302, { Location: '/landing' }).end());
    routes.set('/kept', (_req, _body, res) => res.writeHead(307, { Location: '/landing' }).end());
    routes.set('/landing', (req, body, res) => res.end(`${req.method} ${body.toString()}`));
    const client = await connected();
    const text = (result: unknown) =>
      Buffer.from((result as HttpResult).bodyBase64, 'base64').toString();
    const post = { method: 'POST', bodyBase64: Buffer.from('data').toString('base64') };
    // 302: the POST becomes a GET without its body, and says where it came from
    expect(text(await client.call('http/request', get('/moved', post)))).toBe('GET ');
    expect(sentHeaders('/landing')).toContainEqual(['referer', `${base}/moved`]);
    // 307: the same request again
    expect(text(await client.call('http/request', get('/kept', post)))).toBe('POST data');
    let loops = 0;
    routes.set('/loop', (_req, _body, res) => {
      loops += 1;
      res.writeHead(302, { Location: '/loop' }).end();
    });
    expect((await client.request('http/request', get('/loop'))).error).toEqual({
      code: -32603,
      message: `http/request failed: error following redirect for url (${base}/loop)`,
    });
    // the first request and the redirects followed
    expect(loops).toBe(MAX_HTTP_REDIRECTS + 1);
    // 303 turns even a PUT into a GET; HEAD stays HEAD
    routes.set('/see-other', (_req, _body, res) =>
      res.writeHead(303, { Location: '/landing' }).end(),
    );
    expect(
      text(await client.call('http/request', get('/see-other', { ...post, method: 'PUT' }))),
    ).toBe('GET ');
    const head = (await client.call('http/request', get('/moved', { method: 'HEAD' }))) as unknown;
    expect((head as HttpResult).status).toBe(200);
    expect(seen.get('/landing')?.method).toBe('HEAD');
    // a redirect whose body never ends is closed, not read to its end
    let redirectClosed = false;
    routes.set('/moved-slowly', (_req, _body, res) => {
      res.writeHead(302, { Location: '/landing' });
      res.write('a body that never ends');
      res.on('close', () => {
        redirectClosed = true;
      });
    });
    expect(text(await client.call('http/request', get('/moved-slowly')))).toBe('GET ');
    await waitFor(() => redirectClosed);
    client.disconnect();
  });

  it('does not follow credentials to another origin', async () => {
    const other = createServer((req, res) => res.end(JSON.stringify(req.headers)));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherBase = `http://localhost:${(other.address() as AddressInfo).port}`;
    routes.set('/away', (_req, _body, res) =>
      res.writeHead(302, { Location: `${otherBase}/there` }).end(),
    );
    const client = await connected();
    const result = (await client.call(
      'http/request',
      get('/away', {
        headers: [
          { name: 'Authorization', value: 'Bearer secret' },
          { name: 'Cookie', value: 'session=secret' },
          { name: 'X-Kept', value: 'yes' },
        ],
      }),
    )) as unknown as HttpResult;
    const headers = JSON.parse(Buffer.from(result.bodyBase64, 'base64').toString());
    expect(headers.authorization).toBeUndefined();
    expect(headers.cookie).toBeUndefined();
    expect(headers['x-kept']).toBe('yes');
    client.disconnect();
    other.closeAllConnections();
    await new Promise((resolve) => other.close(resolve));
  });

  it('holds buffered bodies against one budget per connection until their results are written', async () => {
    const size = 20 * 1024 * 1024;
    routes.set('/twenty', (_req, _body, res) => res.end(Buffer.alloc(size, 1)));
    const client = await connected();
    client.stalled = true; // results are handed over but not written
    const first = await client.request('http/request', get('/twenty'));
    expect(Buffer.from((first.result as HttpResult).bodyBase64, 'base64').length).toBe(size);
    expect((await client.request('http/request', get('/twenty'))).error).toEqual({
      code: -32603,
      message: `failed to read http/request response body: response bodies buffered for this connection (this one and those not yet written) exceed ${MAX_BUFFERED_HTTP_BODY_BYTES} bytes (use streamResponse)`,
    });
    client.drain(); // the first result is written: its share is free again
    const third = await client.request('http/request', get('/twenty'));
    expect(Buffer.from((third.result as HttpResult).bodyBase64, 'base64').length).toBe(size);
    client.disconnect();
  });

  it(`allows ${MAX_HTTP_REQUESTS_IN_FLIGHT} requests in flight per connection`, async () => {
    const waiting: Array<() => void> = [];
    routes.set('/held', (_req, _body, res) => waiting.push(() => res.end('ok')));
    const client = await connected();
    const replies = Array.from({ length: MAX_HTTP_REQUESTS_IN_FLIGHT }, () =>
      client.request('http/request', get('/held', { timeoutMs: null })),
    );
    await waitFor(() => waiting.length === MAX_HTTP_REQUESTS_IN_FLIGHT);
    expect((await client.request('http/request', get('/held'))).error).toEqual({
      code: -32600,
      message: `at most ${MAX_HTTP_REQUESTS_IN_FLIGHT} http requests may be in flight per connection`,
    });
    for (const release of waiting.splice(0)) release();
    expect((await Promise.all(replies)).every((r) => r.result)).toBe(true);
    client.disconnect();
  });

  it('answers a response it cannot take (101 Switching Protocols) with an error, not silence', async () => {
    const upgrading = (_req: IncomingMessage, socket: Duplex) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n');
    };
    server.on('upgrade', upgrading);
    const client = await connected();
    const reply = await client.request(
      'http/request',
      get('/up', {
        timeoutMs: null,
        headers: [
          { name: 'Connection', value: 'upgrade' },
          { name: 'Upgrade', value: 'x' },
        ],
      }),
    );
    server.off('upgrade', upgrading);
    expect(reply.error).toEqual({
      code: -32603,
      message: `http/request failed: error sending request for url (${base}/up)`,
    });
    client.disconnect();
  });

  it('treats a timeout too long for a timer as none, rather than firing at once', async () => {
    routes.set('/short-wait', (_req, _body, res) => setTimeout(() => res.end('waited'), 100));
    const client = await connected();
    const result = await client.call(
      'http/request',
      get('/short-wait', { timeoutMs: 3_000_000_000 }),
    );
    expect(Buffer.from((result as unknown as HttpResult).bodyBase64, 'base64').toString()).toBe(
      'waited',
    );
    client.disconnect();
  });

  it('refuses to buffer a body over the limit and points at streamResponse', async () => {
    routes.set('/huge', (_req, _body, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(MAX_BUFFERED_HTTP_BODY_BYTES + 1));
    });
    const client = await connected();
    expect((await client.request('http/request', get('/huge'))).error).toEqual({
      code: -32603,
      message: `failed to read http/request response body: response bodies buffered for this connection (this one and those not yet written) exceed ${MAX_BUFFERED_HTTP_BODY_BYTES} bytes (use streamResponse)`,
    });
    client.disconnect();
  });
});
