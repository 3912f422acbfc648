'use strict';
/**
 * The spawn helper (CommonJS, run as `node spawn-helper.cjs <socket path>` by spawner.ts). It
 * forks children on the server's behalf. It listens on a private unix socket; for each spawn
 * request the server opens one connection per
 * stdio stream, starting with a fixed-size header that names the request and the stream, and sends
 * the request itself over the IPC channel (the two may arrive in either order). Once it has both,
 * the helper spawns the child with those connections as its stdio (detached: its own process
 * group), closes its own copies and reports the pid; later the exit.
 */
const { spawn } = require('node:child_process');
const net = require('node:net');
const socketPath = process.argv[2];
// the server may be gone by the time a message is sent: never let that become an uncaught error
const send = (message) => {
  if (process.connected) process.send(message, () => {});
};
process.on('error', () => {});
// every process group started here, until its leader exits
const groups = new Set();
// fixed-size header: 15 digits of request id and a stream code (i, o or e)
const STREAMS = { i: 'stdin', o: 'stdout', e: 'stderr' };
const requests = new Map();
function requestFor(id) {
  let request = requests.get(id);
  if (!request) {
    request = { message: undefined, sockets: {}, count: 0 };
    requests.set(id, request);
  }
  return request;
}
function drop(id) {
  const request = requests.get(id);
  if (!request) return;
  requests.delete(id);
  for (const socket of Object.values(request.sockets)) socket.destroy();
}
function maybeStart(id) {
  const request = requests.get(id);
  if (!request?.message || request.count < (request.message.stdin ? 3 : 2)) return;
  requests.delete(id);
  start(request.message, request.sockets);
}
function start(m, sockets) {
  const close = () => {
    for (const socket of Object.values(sockets)) socket.destroy();
  };
  let child;
  try {
    child = spawn(m.file, m.args, {
      cwd: m.cwd,
      env: m.env,
      argv0: m.argv0,
      detached: true,
      stdio: [sockets.stdin || 'ignore', sockets.stdout, sockets.stderr],
    });
  } catch (error) {
    close();
    send({ type: 'error', id: m.id, code: error.code, message: error.message });
    return;
  }
  // the child has its own copies now (spawn dups them synchronously): drop ours at once
  close();
  child.once('error', (error) =>
    send({ type: 'error', id: m.id, code: error.code, message: error.message }),
  );
  if (child.pid) groups.add(child.pid);
  child.once('spawn', () => send({ type: 'spawned', id: m.id, pid: child.pid }));
  child.once('exit', (code, signal) => {
    groups.delete(child.pid);
    send({ type: 'exit', id: m.id, code, signal });
  });
}
const server = net.createServer({ pauseOnConnect: true }, (socket) => {
  socket.on('error', () => {});
  const onReadable = () => {
    const header = socket.read(16);
    if (header === null) {
      if (socket.readableEnded) socket.destroy();
      return;
    }
    socket.off('readable', onReadable);
    const text = header.toString('latin1');
    const name = STREAMS[text[15]];
    const id = Number(text.slice(0, 15));
    const request = name ? requestFor(id) : undefined;
    if (!request || request.sockets[name]) {
      socket.destroy();
      return;
    }
    request.sockets[name] = socket;
    request.count += 1;
    maybeStart(id);
  };
  socket.on('readable', onReadable);
});
server.once('error', (error) => {
  send({ type: 'failed', message: error.message });
  process.exit(1);
});
server.listen(socketPath, () => send({ type: 'ready' }));
process.on('message', (m) => {
  if (!m) return;
  if (m.type === 'spawn') {
    requestFor(m.id).message = m;
    maybeStart(m.id);
  } else if (m.type === 'cancel') {
    drop(m.id);
  }
});
// the server is gone (closed the channel, or died): nothing it started may outlive it
process.on('disconnect', () => {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {}
  }
  process.exit(0);
});
