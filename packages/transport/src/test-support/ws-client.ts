import type { ClientRequest, IncomingMessage } from 'node:http';
import WebSocket from 'ws';

/** Opens a websocket or reports the HTTP status and body that refused the upgrade. */
export function openWs(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ ws: WebSocket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

export async function connectWs(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<WebSocket> {
  const result = await openWs(url, options);
  if (!('ws' in result)) throw new Error(`upgrade refused: ${result.status} ${result.body}`);
  return result.ws;
}

/** Collects parsed JSON messages a websocket receives. */
export function collect(ws: WebSocket): unknown[] {
  const messages: unknown[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  return messages;
}

export function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) =>
    ws.once('message', (data) => resolve(JSON.parse(data.toString()))),
  );
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}
