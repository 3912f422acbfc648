// The exec-server side of the benchmarks: start tether's or the reference's server, and a thin
// JSON-RPC client on @tether/client's websocket channel and RpcPeer. Both servers are measured
// through the same client; it decodes each message once (decodeMessage: one JSON.parse and a
// shape check) and keeps nothing it has delivered, so its cost per notification is that of the
// raw JSON.parse client it replaced plus an event dispatch.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectWebSocket, RpcPeer } from '@tether/client';
import { launchExecServer, launchServer } from '@tether/test-kit';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tetherCli = `${root}apps/exec-server/dist/cli.js`;
// the native binary (the npm `codex` launcher is a Node wrapper: its RSS would not be the server's)
export const codexBin =
  process.env.TETHER_CODEX_BIN ??
  [
    '/tmp/codex-ref/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex',
    '/tmp/codex-ref/node_modules/.bin/codex',
  ].find((path) => existsSync(path));

/** Starts tether's or the reference's exec-server; resolves with the process and its URL. */
export async function startServer(kind) {
  const server =
    kind === 'tether'
      ? launchExecServer(tetherCli, ['--listen', 'ws://127.0.0.1:0', '--log-level', 'warn'])
      : launchServer({
          command: codexBin,
          args: ['exec-server', '--listen', 'ws://127.0.0.1:0'],
          banner: { stream: 'stdout', pattern: /ws:\/\/[0-9.:]+/ },
        });
  return { server, pid: server.child.pid, url: await server.url };
}

export class Client {
  static async open(url) {
    // a process/read answer may be large; skip re-validating UTF-8 the server already encoded
    const channel = await connectWebSocket(url, { skipUTF8Validation: true, maxPayload: 0 });
    return new Client(channel);
  }
  constructor(channel) {
    this.peer = new RpcPeer(channel);
    this.onNotification = () => {};
    this.peer.on('notification', (message) => this.onNotification(message));
  }
  /** Resolves with the result; a JSON-RPC error rejects (RpcError). */
  call(method, params) {
    return this.peer.request(method, params);
  }
  async init() {
    await this.call('initialize', { clientName: 'bench' });
    this.peer.notify('initialized', {});
  }
  close() {
    this.peer.terminate();
  }
}

export const startParams = (processId, argv) => ({
  processId,
  argv,
  cwd: 'file:///tmp',
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
  tty: false,
});
