import { afterEach, expect, it } from 'vitest';
import { MockResponsesServer, mockReply } from './mock-responses.js';

const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const mock of mocks.splice(0)) await mock.close();
});

it('lists the models it is told to serve on GET /v1/models, and 404s when told it has none', async () => {
  const mock = await MockResponsesServer.start({ models: ['qwen3-coder', 'llama3'] });
  mocks.push(mock);
  const listed = await fetch(`${mock.baseUrl}/models`, { headers: { authorization: 'Bearer k' } });
  expect(await listed.json()).toMatchObject({
    object: 'list',
    data: [
      { id: 'qwen3-coder', object: 'model' },
      { id: 'llama3', object: 'model' },
    ],
  });
  expect(mock.modelListRequests[0]?.authorization).toBe('Bearer k');
  mock.setModels(null);
  expect((await fetch(`${mock.baseUrl}/models`)).status).toBe(404);
});

it('sends the extra headers of a scripted stream', async () => {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  mock.enqueue(mockReply.text('hi', { headers: { 'x-codex-primary-used-percent': '7' } }));
  const response = await fetch(`${mock.baseUrl}/responses`, {
    method: 'POST',
    body: JSON.stringify({ model: 'm', input: [] }),
  });
  expect(response.headers.get('x-codex-primary-used-percent')).toBe('7');
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  await response.text();
});
