import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Changes, sleep, tempHome, waitFor } from '@tether/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ExecServer, startExecServer } from './server.js';

/**
 * Replays the requests of the transcripts recorded against codex 0.169.0 (the protocol package's
 * fixtures) against tether-exec-server, one request at a time, each sent once the processes the
 * reference had reported exited or closed (and the streamed bodies it had finished) before it are
 * reported so here too, and compares each answer with the reference's: error objects exactly,
 * results in full or by their members. Transcripts that need several
 * connections, timing (TTL, resume) or frame limits are covered by their own tests instead.
 */

const require = createRequire(import.meta.url);
const FIXTURES = join(
  dirname(require.resolve('@tether/protocol/package.json')),
  'fixtures/transcripts/exec-server',
);
const REPLAYED = [
  'bad-inputs.jsonl',
  'environment.jsonl',
  'exit-before-output.jsonl',
  'fs-handles.jsonl',
  'fs-write-walk.jsonl',
  'fs.jsonl',
  'handshake.jsonl',
  'http-request.jsonl',
  'pipe-process-ordering.jsonl',
  'pipe-stdin.jsonl',
  'read-longpoll.jsonl',
  'terminate.jsonl',
  'tty-process.jsonl',
];
/** The port the HTTP transcript's local server has in the recording. */
const RECORDED_HTTP_HOST = '127.0.0.1:18080';

let server: ExecServer;
let http: Server;
let httpHost: string;

beforeAll(async () => {
  server = await startExecServer();
  // the routes http-request.jsonl was recorded with: METHOD PATH BODY, a stream, a broken body,
  // a slow answer
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        setTimeout(() => {
          res.write('data: two\n\n');
          setTimeout(() => res.end('data: end\n\n'), 100);
        }, 100);
      } else if (req.url === '/abort') {
        res.writeHead(200);
        res.write('partial');
        setTimeout(() => res.destroy(), 50);
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 1000);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpHost = `127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
  await server.close();
});

interface Frame {
  direction: '>' | '<';
  text: string;
}

/** The default connection's frames (labelled lines belong to other connections). */
function frames(file: string): Frame[] {
  const out: Frame[] = [];
  for (const line of readFileSync(join(FIXTURES, file), 'utf8').split('\n')) {
    const match = /^([<>]) (.*)$/.exec(line);
    if (match) out.push({ direction: match[1] as '>' | '<', text: match[2] as string });
  }
  return out;
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The state a notification marks, or undefined for one that marks none: a process exited or
 * closed, a streamed body finished. (Output chunks are left out: how output is cut into chunks,
 * and so their seqs, depends on timing.)
 */
function notificationKey(value: Record<string, unknown>): string | undefined {
  const params = (value.params ?? {}) as Record<string, unknown>;
  if (value.method === 'process/exited' || value.method === 'process/closed') {
    return `${value.method} ${String(params.processId)}`;
  }
  if (value.method === 'http/request/bodyDelta' && params.done === true) {
    return `body done ${String(params.requestId)}`;
  }
  return undefined;
}

/** Methods whose whole result is the same on every run (directory order aside). */
const DETERMINISTIC = new Set(['fs/readFile', 'fs/readBlock', 'fs/walk', 'fs/readDirectory']);

/**
 * An answer reduced to what must match: the error object; the whole result for the methods whose
 * result does not vary between runs (a directory listing sorted, since its order is the
 * directory's); otherwise the result's member names.
 */
function shape(method: string, answer: Record<string, unknown> | undefined): string {
  if (answer === undefined) return 'no answer';
  if (answer.error !== undefined) return JSON.stringify(answer.error);
  const result = answer.result;
  if (DETERMINISTIC.has(method)) {
    if (method !== 'fs/readDirectory') return JSON.stringify(result);
    const entries = (result as { entries: Array<{ fileName: string }> }).entries;
    return JSON.stringify([...entries].sort((a, b) => (a.fileName < b.fileName ? -1 : 1)));
  }
  return `result {${Object.keys(typeof result === 'object' && result !== null ? result : {})
    .sort()
    .join(', ')}}`;
}

async function replay(
  file: string,
): Promise<Array<{ request: string; reference: string; tether: string }>> {
  const scratch = tempHome('replay-');
  // what the recorder made before the transcript starts (its notes say so)
  if (file === 'fs-handles.jsonl') {
    writeFileSync(join(scratch, 'a.txt'), 'hello world, this is a file\n');
    mkdirSync(join(scratch, 'dir'));
  }
  if (file === 'fs-write-walk.jsonl') {
    const tree = join(scratch, 'tree');
    mkdirSync(join(tree, 'a/b'), { recursive: true });
    mkdirSync(join(tree, '.hidden'));
    writeFileSync(join(tree, 'f1'), 'x');
    writeFileSync(join(tree, 'a/f2'), 'yy');
    writeFileSync(join(tree, 'a/b/f3'), 'zzz');
    writeFileSync(join(tree, '.hidden/h'), 'h');
    writeFileSync(join(tree, 'B'), 'upper');
    symlinkSync(join(tree, 'a'), join(tree, 'link'));
    symlinkSync(join(tree, 'f1'), join(tree, 'flink'));
    symlinkSync(join(tree, 'nowhere'), join(tree, 'dangling'));
    execFileSync('mkfifo', [join(tree, 'fifo')]);
    writeFileSync(join(scratch, 'existing'), 'old content here');
  }
  const local = (text: string) =>
    text.replaceAll('$SCRATCH', scratch).replaceAll(RECORDED_HTTP_HOST, httpHost);
  const recorded = new Map<unknown, Record<string, unknown>>();
  for (const frame of frames(file)) {
    const value = frame.direction === '<' ? parse(frame.text) : undefined;
    if (value && value.id !== undefined && value.id !== -1) recorded.set(value.id, value);
  }
  const ws = new WebSocket(server.url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const answers = new Map<unknown, Record<string, unknown>>();
  const notified = new Set<string>();
  const changes = new Changes();
  ws.on('message', (data: Buffer) => {
    const value = parse(data.toString('utf8'));
    if (value && value.id !== undefined) answers.set(value.id, value);
    else if (value) {
      const key = notificationKey(value);
      if (key) notified.add(key);
    }
    changes.notify();
  });
  // what never came is recorded as a difference below, so running out of time is not an error
  const settle = (done: () => boolean) =>
    waitFor(() => done() || ws.readyState !== WebSocket.OPEN, { changes }).catch(() => undefined);
  /** Notifications the reference had sent before the current request went out. */
  const expected: string[] = [];
  ws.on('close', () => changes.notify());
  const differences: Array<{ request: string; reference: string; tether: string }> = [];
  for (const frame of frames(file)) {
    if (frame.direction === '<') {
      const value = parse(frame.text);
      const key = value && value.id === undefined ? notificationKey(value) : undefined;
      if (key) expected.push(key);
      continue;
    }
    // the state the reference was in when this was sent: the same notifications came first
    await settle(() => expected.every((key) => notified.has(key)));
    for (const key of expected.filter((k) => !notified.has(k))) {
      differences.push({ request: frame.text, reference: key, tether: 'not notified' });
    }
    expected.length = 0;
    const text = local(frame.text);
    const request = parse(text);
    ws.send(text);
    if (request === undefined || request.id === undefined || request.id === null) {
      // a notification or a malformed frame: give the server a moment, answers are not compared
      await sleep(50);
      continue;
    }
    await settle(() => answers.has(request.id));
    const method = String(request.method);
    const reference = shape(method, recorded.get(request.id)).replaceAll(
      RECORDED_HTTP_HOST,
      httpHost,
    );
    const tether = shape(method, answers.get(request.id)).replaceAll(scratch, '$SCRATCH');
    if (reference !== tether) differences.push({ request: frame.text, reference, tether });
  }
  ws.terminate();
  rmSync(scratch, { recursive: true, force: true });
  return differences;
}

describe('the reference transcripts replayed against tether-exec-server', () => {
  it('replays every single-connection transcript there is', () => {
    // a new single-connection transcript must be added to REPLAYED (or left out on purpose here)
    const multi = [
      'double-attach.jsonl',
      'frame-limits.jsonl',
      'large-output.jsonl',
      'resume-after-ttl.jsonl',
      'resume-late-within-ttl.jsonl',
      'resume-within-ttl.jsonl',
    ];
    const all = readdirSync(FIXTURES).filter((name) => name.endsWith('.jsonl'));
    expect([...REPLAYED, ...multi].sort()).toEqual(all.sort());
  });

  it.each(REPLAYED)('%s: every answer matches the reference', async (file) => {
    expect(await replay(file)).toEqual([]);
  });
});
