import { type Connection, Inbound, silentLogger, startWebSocket } from '@tether/transport';
import WebSocket from 'ws';
import { OutboundRouter, type OutboundRouterOptions } from '../router.js';

/** A websocket server whose connections are registered with a router (initialized on open). */
export async function routedServer(options: OutboundRouterOptions = {}) {
  const logger = silentLogger();
  const inbound = new Inbound({ logger });
  const listener = await startWebSocket(inbound, { host: '127.0.0.1', port: 0, logger });
  const router = new OutboundRouter({ logger, ...options });
  const connections: Connection[] = [];
  const openedWaiters: Array<(c: Connection) => void> = [];
  void (async () => {
    for await (const event of inbound.events) {
      if (event.type === 'opened') {
        router.addConnection(event.connection);
        router.setInitialized(event.connection.id);
        connections.push(event.connection);
        openedWaiters.shift()?.(event.connection);
      } else if (event.type === 'closed') {
        router.removeConnection(event.connectionId);
      }
    }
  })();
  const connect = async (): Promise<{ ws: WebSocket; connection: Connection }> => {
    const opened = new Promise<Connection>((resolve) => openedWaiters.push(resolve));
    const ws = new WebSocket(listener.url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { ws, connection: await opened };
  };
  const close = async () => {
    await listener.close();
    inbound.events.close();
  };
  return { router, connect, close, connections };
}

export function closeEvent(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}
