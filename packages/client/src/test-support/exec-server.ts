import { type ExecConnection, ExecService, type ExecServiceOptions } from '@tether/exec-session';
import { encodeMessage } from '@tether/protocol';
import {
  CloseCodes,
  Inbound,
  silentLogger,
  startWebSocket,
  type WebSocketAuth,
} from '@tether/transport';

export interface TestExecServer {
  readonly url: string;
  readonly service: ExecService;
  close(): Promise<void>;
}

/**
 * An exec-server for the client's tests, built from the packages below the client (the
 * tether-exec-server app depends on this package for its own tests, so it cannot be used here):
 * transport's websocket acceptor, whose writer confirms each write, feeding an ExecService.
 */
export async function startTestExecServer(
  options: ExecServiceOptions & { auth?: WebSocketAuth } = {},
): Promise<TestExecServer> {
  const logger = silentLogger();
  const inbound = new Inbound({ logger });
  const listener = await startWebSocket(inbound, {
    host: '127.0.0.1',
    port: 0,
    logger,
    // as tether-exec-server: answers of any size the service produces go out
    maxPayload: 64 * 1024 * 1024,
    ...(options.auth ? { auth: options.auth } : {}),
  });
  const service = new ExecService(options);
  const connections = new Map<number, ExecConnection>();
  const loop = (async () => {
    for await (const event of inbound.events) {
      if (event.type === 'opened') {
        const connection = event.connection;
        connections.set(
          connection.id,
          service.connect({
            send: (message, onWritten) =>
              connection.writer.write(encodeMessage(message), onWritten),
            drop: (reason) => connection.disconnect({ code: CloseCodes.PolicyViolation, reason }),
          }),
        );
      } else if (event.type === 'message') {
        connections.get(event.connectionId)?.handle(event.message);
      } else if (event.type === 'closed') {
        connections.get(event.connectionId)?.close();
        connections.delete(event.connectionId);
      }
    }
  })();
  let closing: Promise<void> | undefined;
  return {
    url: listener.url,
    service,
    close: () => {
      closing ??= (async () => {
        await listener.close();
        service.shutdown();
        inbound.events.close();
        await loop;
      })();
      return closing;
    },
  };
}
