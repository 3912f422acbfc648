import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponsesClient } from './client.js';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe('ResponsesClient queryParams', () => {
  it("adds a provider's query_params to the request URL", async () => {
    const urls: string[] = [];
    const server = createServer((req, res) => {
      urls.push(req.url ?? '');
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'stop here', type: 'invalid_request_error' } }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => server.close());
    const { port } = server.address() as AddressInfo;
    const client = new ResponsesClient({
      model: 'm',
      baseUrl: `http://127.0.0.1:${port}/openai/`,
      queryParams: { 'api-version': '2025-04-01', x: 'a b' },
      maxRetries: 0,
    });
    expect(client.url).toBe(
      `http://127.0.0.1:${port}/openai/responses?api-version=2025-04-01&x=a+b`,
    );
    await expect(async () => {
      for await (const _ of client.stream({ input: [] })) {
        // nothing: the server refuses
      }
    }).rejects.toThrow();
    expect(urls).toEqual(['/openai/responses?api-version=2025-04-01&x=a+b']);
  });
});
