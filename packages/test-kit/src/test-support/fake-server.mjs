// A stand-in server for test-kit's own tests: listens on a free loopback port and prints its URL the
// way tether's servers do. Argument: `stderr` (`listening on: <url>` on stderr, as the app-server),
// `stdout` (the bare URL as the first line of stdout, as the exec-server), `silent` (no banner), or
// `exit <code>` (a line on stderr, then that exit code without listening).
import { createServer } from 'node:http';

const [mode, code] = process.argv.slice(2);
if (mode === 'exit') {
  process.stderr.write('fake-server: refusing to start\n');
  process.exit(Number(code));
}
const server = createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  if (mode === 'stdout') process.stdout.write(`${url}\n`);
  else if (mode === 'stderr') process.stderr.write(`fake-server\n  listening on: ${url}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
