// The exec-server side of the benchmarks: start tether's or the reference's server, and a raw
// websocket JSON-RPC client (no tether code in between, so both servers are measured alike).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
// the raw websocket client the tether client uses (no root dependency needed)
const WebSocket = createRequire(`${root}packages/client/package.json`)('ws');
const tetherCli = `${root}apps/exec-server/dist/cli.js`;
// the native binary (the npm `codex` launcher is a Node wrapper: its RSS would not be the server's)
export const codexBin =
  process.env.TETHER_CODEX_BIN ??
  [
    '/tmp/codex-ref/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex',
    '/tmp/codex-ref/node_modules/.bin/codex',
  ].find((path) => existsSync(path));

export function startServer(kind) {
  const [command, args] =
    kind === 'tether'
      ? [process.execPath, [tetherCli, '--listen', 'ws://127.0.0.1:0', '--log-level', 'warn']]
      : [codexBin, ['exec-server', '--listen', 'ws://127.0.0.1:0']];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (data) => {
      out += data;
      const match = /ws:\/\/[0-9.:]+/.exec(out);
      if (match) resolve({ child, url: match[0] });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

export class Client {
  static open(url) {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      maxPayload: 0,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.onNotification = () => {};
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.id !== undefined && !message.method) {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      } else this.onNotification(message);
    });
  }
  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) =>
        m.error ? reject(new Error(m.error.message)) : resolve(m.result),
      );
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  async init() {
    await this.call('initialize', { clientName: 'bench' });
    this.ws.send(JSON.stringify({ method: 'initialized', params: {} }));
  }
  close() {
    this.ws.terminate();
  }
}

export const startParams = (processId, argv) => ({
  processId,
  argv,
  cwd: 'file:///tmp',
  env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
  tty: false,
});
