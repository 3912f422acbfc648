import {
  app,
  ErrorCode,
  errorResponse,
  exec,
  invalidParams,
  type Message,
  type NotificationMessage,
  notification,
  type RequestMessage,
  RpcError,
  response,
} from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { ChannelClosedError } from './channel.js';
import { channelPair, type PairChannel } from './channel-pair.js';
import { RpcPeer, UnexpectedResultError } from './rpc-peer.js';

/** The far end of a pair, scripted by hand: it sees raw messages and answers as told. */
function farEnd(
  channel: PairChannel,
  answer: (message: Message, end: PairChannel) => void = () => {},
) {
  const received: Message[] = [];
  channel.start({
    message: (message) => {
      received.push(message);
      answer(message, channel);
    },
    invalid: () => {},
    closed: () => {},
  });
  return received;
}

describe('RpcPeer', () => {
  it('correlates answers given out of order with their requests', async () => {
    const [near, far] = channelPair();
    const held: RequestMessage[] = [];
    farEnd(far, (message, end) => {
      if (message.kind !== 'request') return;
      held.push(message);
      // answer all three at once, in reverse order
      if (held.length === 3) {
        for (const r of [...held].reverse()) end.send(response(r.id, { echo: r.params }));
      }
    });
    const peer = new RpcPeer(near);
    const answers = Promise.all([
      peer.request('a', { n: 1 }),
      peer.request('b', { n: 2 }),
      peer.request('c', { n: 3 }, { id: 'custom' }),
    ]);
    expect(peer.pendingRequests).toBe(3);
    expect(await answers).toEqual([{ echo: { n: 1 } }, { echo: { n: 2 } }, { echo: { n: 3 } }]);
    expect(held.map((r) => r.id)).toEqual([1, 2, 'custom']);
    expect(peer.pendingRequests).toBe(0);
  });

  it('rejects with protocol’s RpcError when the other side answers an error', async () => {
    const [near, far] = channelPair();
    farEnd(far, (message, end) => {
      if (message.kind === 'request') {
        end.send(errorResponse(message.id, invalidParams('bad things', { field: 'x' })));
      }
    });
    const peer = new RpcPeer(near);
    const failure = await peer.request('m', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RpcError);
    expect(failure).toMatchObject({
      code: ErrorCode.InvalidParams,
      message: 'bad things',
      data: { field: 'x' },
    });
  });

  it('rejects every pending request when the channel ends, and refuses new ones', async () => {
    const [near, far] = channelPair();
    farEnd(far);
    const peer = new RpcPeer(near);
    const closes: unknown[] = [];
    peer.on('close', (info) => closes.push(info));
    const first = peer.request('never/answered');
    const second = peer.request('never/answered');
    far.close(4002, 'going away');
    await expect(first).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(second).rejects.toThrow('connection closed (4002 going away)');
    expect(closes).toEqual([{ code: 4002, reason: 'going away' }]);
    expect(peer.pendingRequests).toBe(0);
    await expect(peer.request('after')).rejects.toBeInstanceOf(ChannelClosedError);
    expect(() => peer.notify('after')).toThrow(ChannelClosedError);
  });

  it('delivers notifications in order as events and keeps none of them', async () => {
    const [near, far] = channelPair();
    farEnd(far);
    const peer = new RpcPeer(near);
    const seen: NotificationMessage[] = [];
    const all: string[] = [];
    peer.on('notification', (n) => seen.push(n));
    peer.on('message', (m) => all.push(m.kind));
    for (let i = 0; i < 5_000; i++) far.send(notification('tick', { i }));
    far.send({ ...notification('stamped'), emittedAtMs: 42 });
    await waitFor(() => seen.length === 5_001);
    expect(seen.slice(0, 5_000).map((n) => (n.params as { i: number }).i)).toEqual(
      Array.from({ length: 5_000 }, (_, i) => i),
    );
    expect(seen[5_000]).toEqual({ kind: 'notification', method: 'stamped', emittedAtMs: 42 });
    expect(all.every((kind) => kind === 'notification')).toBe(true);
    // nothing is retained once delivered: a listener added now hears only what comes next
    const late: NotificationMessage[] = [];
    peer.on('notification', (n) => late.push(n));
    far.send(notification('after'));
    await waitFor(() => late.length === 1);
    expect(late.map((n) => n.method)).toEqual(['after']);
  });

  it('answers requests from the other side with a handler: result, RpcError, or internal error', async () => {
    const [near, far] = channelPair();
    const answers: Message[] = [];
    farEnd(far, (message) => {
      if (message.kind === 'response' || message.kind === 'error') answers.push(message);
    });
    new RpcPeer(near, {
      onRequest: async (request) => {
        if (request.method === 'ok') return { decision: 'accept', echo: request.params };
        if (request.method === 'refuse') throw new RpcError(invalidParams('no', { why: 1 }));
        if (request.method === 'nothing') return undefined;
        throw new Error('handler broke');
      },
    });
    far.send({ kind: 'request', id: 0, method: 'ok', params: { itemId: 'c1' } });
    far.send({ kind: 'request', id: 1, method: 'refuse' });
    far.send({ kind: 'request', id: 'two', method: 'boom' });
    far.send({ kind: 'request', id: 3, method: 'nothing' });
    await waitFor(() => answers.length === 4);
    const byId = new Map(answers.map((m) => [m.kind === 'notification' ? '' : String(m.id), m]));
    expect(byId.get('0')).toEqual({
      kind: 'response',
      id: 0,
      result: { decision: 'accept', echo: { itemId: 'c1' } },
    });
    expect(byId.get('1')).toEqual({
      kind: 'error',
      id: 1,
      error: { code: ErrorCode.InvalidParams, message: 'no', data: { why: 1 } },
    });
    expect(byId.get('two')).toEqual({
      kind: 'error',
      id: 'two',
      error: { code: ErrorCode.InternalError, message: 'handler broke' },
    });
    expect(byId.get('3')).toEqual({ kind: 'response', id: 3, result: null });
  });

  it('leaves requests for a manual answer without a handler, and refuses them with no listener', async () => {
    const [near, far] = channelPair();
    const answers: Message[] = [];
    farEnd(far, (message) => {
      if (message.kind === 'response' || message.kind === 'error') answers.push(message);
    });
    const peer = new RpcPeer(near);
    far.send({ kind: 'request', id: 9, method: 'nobody/listens' });
    await waitFor(() => answers.length === 1);
    expect(answers[0]).toMatchObject({ id: 9, error: { code: ErrorCode.MethodNotFound } });

    const asked: RequestMessage[] = [];
    peer.on('request', (r) => asked.push(r));
    far.send({ kind: 'request', id: 10, method: 'approve?', params: { x: 1 } });
    await waitFor(() => asked.length === 1);
    expect(answers).toHaveLength(1);
    peer.respond(10, { decision: 'decline' });
    peer.respondError(11, new RpcError({ code: -32000, message: 'custom' }));
    await waitFor(() => answers.length === 3);
    expect(answers.slice(1)).toEqual([
      { kind: 'response', id: 10, result: { decision: 'decline' } },
      { kind: 'error', id: 11, error: { code: -32000, message: 'custom' } },
    ]);
  });

  it('skips ids chosen by hand, refuses a duplicate, and ignores answers to nothing', async () => {
    const [near, far] = channelPair();
    const requests: RequestMessage[] = [];
    farEnd(far, (message) => {
      if (message.kind === 'request') requests.push(message);
    });
    const peer = new RpcPeer(near);
    const manual = peer.request('m', undefined, { id: 1 });
    await expect(peer.request('m', undefined, { id: 1 })).rejects.toThrow(/already awaiting/);
    const automatic = peer.request('m');
    await waitFor(() => requests.length === 2);
    expect(requests.map((r) => r.id)).toEqual([1, 2]);
    far.send(response(99, 'stray'));
    far.send(response(2, 'two'));
    far.send(response(1, 'one'));
    expect(await Promise.all([manual, automatic])).toEqual(['one', 'two']);
  });

  it('types a call by a method table and parses its result', async () => {
    const [near, far] = channelPair();
    farEnd(far, (message, end) => {
      if (message.kind !== 'request') return;
      if (message.method === 'process/terminate') end.send(response(message.id, { running: true }));
      else end.send(response(message.id, { userAgent: 42 }));
    });
    const peer = new RpcPeer(near);
    const terminated = await peer.call(exec.requests, 'process/terminate', { processId: 'p' });
    expect(terminated.running).toBe(true);
    const failure = await peer
      .call(app.clientRequests, 'initialize', { clientInfo: { name: 'n', version: '1' } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnexpectedResultError);
    expect(failure).toMatchObject({ code: 'UNEXPECTED_RESULT', method: 'initialize' });
  });
});
