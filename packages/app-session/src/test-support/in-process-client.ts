import type { Message } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import type { AppService } from '../service.js';
import { sinkConnection } from '../sink-connection.js';

/**
 * A client of the service without sockets, initialized: `call` sends a request and resolves with
 * the response or error answering it; `received` is everything the connection was sent.
 */
export async function inProcessClient(service: AppService, name: string) {
  const received: Message[] = [];
  const handler = service.connect(sinkConnection({ send: (message) => received.push(message) }));
  let nextId = 1;
  const call = async (method: string, params?: unknown): Promise<Message> => {
    const id = nextId++;
    await handler.handle({ kind: 'request', id, method, params });
    return waitFor(
      () => received.find((m) => (m.kind === 'response' || m.kind === 'error') && m.id === id),
      { what: `an answer to ${method}` },
    );
  };
  await call('initialize', { clientInfo: { name, version: '1' } });
  await handler.handle({ kind: 'notification', method: 'initialized' });
  return { call, received, handler };
}
