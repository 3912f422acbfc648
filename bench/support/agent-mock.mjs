// Child process of bench/agent-turns.bench.mjs: the zero-latency mock model. It runs
// @tether/agent-core's MockResponsesServer (POST /v1/responses, the real SSE shape) in its own
// process, so writing 30,000 SSE events neither competes with the clients' event loop nor hides
// inside the server's CPU figures.
//
// Every request whose last user input carries the bench marker gets the current scripted reply:
// one assistant message streamed as `deltas` deltas, each `<seq>:` (zero-padded) then filler, so
// the subscribers can check their order. Any other request (a side request such as a title or
// memory summary some clients send) gets a three-delta text reply and is counted apart.
//
// IPC with the parent:
//   child -> parent: { type: 'ready', baseUrl }
//   parent -> child: { type: 'reply', deltas, chars }   child -> parent: { type: 'reply-set' }
//   parent -> child: { type: 'stats' }   child -> parent: { type: 'stats', bench, side, sideSamples }
//                                        (counts since the previous 'stats'; the log is cleared)
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';

const MARKER = process.argv[2] ?? 'tether-bench';

let current = mockReply.text(['Hello', ' from', ' mock.']);
let bench = 0;
let side = 0;
const sideSamples = [];

/** The text of the last user message of a Responses request body ('' when there is none). */
function lastUserText(body) {
  const input = Array.isArray(body.input) ? body.input : [];
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i];
    if (item?.role !== 'user') continue;
    if (typeof item.content === 'string') return item.content;
    if (Array.isArray(item.content)) {
      return item.content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
    }
    return '';
  }
  return '';
}

function makeDeltas(count, chars) {
  const deltas = new Array(count);
  for (let seq = 0; seq < count; seq++) {
    const head = `${String(seq).padStart(6, '0')}:`;
    deltas[seq] = `${head}${'x'.repeat(Math.max(0, chars - head.length - 1))} `;
  }
  return deltas;
}

const mock = await MockResponsesServer.start({
  responder: (body) => {
    if (lastUserText(body).includes(MARKER) && body.stream !== false) {
      bench += 1;
      return current;
    }
    side += 1;
    if (sideSamples.length < 3) {
      sideSamples.push(JSON.stringify(body).slice(0, 300));
    }
    return mockReply.text(['Bench', ' side', ' reply.']);
  },
});

process.on('message', (message) => {
  if (message.type === 'reply') {
    current = mockReply.text(makeDeltas(message.deltas, message.chars ?? 12));
    process.send({ type: 'reply-set' });
  } else if (message.type === 'stats') {
    process.send({ type: 'stats', bench, side, sideSamples: sideSamples.splice(0) });
    bench = 0;
    side = 0;
    // the mock keeps every request (bodies grow with the conversation); the bench never reads them
    mock.requests.length = 0;
  } else if (message.type === 'stop') {
    mock.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', baseUrl: mock.baseUrl });
