import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as app from './app/index.js';
import {
  ErrorCode,
  internalError,
  invalidRequest,
  isRpcError,
  notFound,
  RpcError,
  serverOverloaded,
  sessionAlreadyAttached,
} from './errors.js';
import { parseWith } from './validate.js';
import { describeZodError } from './zod-message.js';

describe('error constructors', () => {
  it('use the codes and exact messages of the reference', () => {
    expect(serverOverloaded()).toEqual({
      code: -32001,
      message: 'Server overloaded; retry later.',
    });
    expect(sessionAlreadyAttached('abc')).toEqual({
      code: -32010,
      message: 'session abc is already attached to another connection',
    });
    expect(invalidRequest('Not initialized')).toEqual({ code: -32600, message: 'Not initialized' });
    expect(notFound('gone').code).toBe(ErrorCode.NotFound);
    expect(internalError('boom', { reason: 'x' })).toEqual({
      code: -32603,
      message: 'boom',
      data: { reason: 'x' },
    });
    expect(ErrorCode).toEqual({
      InvalidRequest: -32600,
      MethodNotFound: -32601,
      InvalidParams: -32602,
      InternalError: -32603,
      ServerOverloaded: -32001,
      NotFound: -32004,
      SessionAlreadyAttached: -32010,
    });
  });

  it('RpcError carries the wire error', () => {
    const err = new RpcError(invalidRequest('bad', { why: 1 }));
    expect(isRpcError(err)).toBe(true);
    expect(isRpcError(new Error('x'))).toBe(false);
    expect(err.toErrorObject()).toEqual({ code: -32600, message: 'bad', data: { why: 1 } });
    expect(new RpcError(invalidRequest('bad')).toErrorObject()).not.toHaveProperty('data');
  });
});

describe('describeZodError', () => {
  const schema = z.object({
    threadId: z.string(),
    limit: z.number().int().optional(),
    argv: z.array(z.string()).min(1),
    inner: z.object({ flag: z.boolean() }).optional(),
    mode: z.enum(['a', 'b']).optional(),
  });
  const message = (input: unknown) => {
    const outcome = parseWith(schema, input);
    if (outcome.ok) throw new Error('expected failure');
    return outcome.message;
  };

  it('names a missing field like serde does', () => {
    expect(message({ argv: ['x'] })).toBe('missing field `threadId`');
  });

  it('names the found and expected types', () => {
    expect(message({ threadId: 5, argv: ['x'] })).toBe(
      'invalid type: integer `5`, expected a string at `threadId`',
    );
    expect(message({ threadId: 't', argv: 'true' })).toBe(
      'invalid type: string "true", expected a sequence at `argv`',
    );
    expect(message({ threadId: 't', argv: ['x'], inner: { flag: 'no' } })).toBe(
      'invalid type: string "no", expected a boolean at `inner.flag`',
    );
    expect(message(null)).toBe('invalid type: null, expected a map');
  });

  it('says when a list must not be empty and when a variant is unknown', () => {
    expect(message({ threadId: 't', argv: [] })).toBe('`argv` must not be empty');
    expect(message({ threadId: 't', argv: ['x'], mode: 'c' })).toBe(
      'unknown variant `c`, expected `a` or `b` at `mode`',
    );
  });

  it('leaves the path off type and variant messages when asked, as serde from_value does', () => {
    const bare = (input: unknown) => {
      const outcome = parseWith(schema, input, { pathSuffix: false });
      if (outcome.ok) throw new Error('expected failure');
      return outcome.message;
    };
    expect(bare({ threadId: 't', argv: 'true' })).toBe(
      'invalid type: string "true", expected a sequence',
    );
    expect(bare({ threadId: 't', argv: ['x'], mode: 'c' })).toBe(
      'unknown variant `c`, expected `a` or `b`',
    );
    expect(bare({ argv: ['x'] })).toBe('missing field `threadId`');
  });

  it('works without the input', () => {
    const result = schema.safeParse({});
    expect(result.success).toBe(false);
    if (!result.success) expect(describeZodError(result.error)).toMatch(/threadId/);
  });
});

describe('describeZodError with the schema: serde names the variants of a union', () => {
  it('lists an untagged union in declaration order, single-field objects by their tag', () => {
    const schema = app.ThreadStartParams;
    const input = { approvalPolicy: 'sometimes' };
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(
      describeZodError(result.error, input, {
        pathSuffix: false,
        schema,
        hiddenVariants: new Set(['on-failure']),
      }),
    ).toBe(
      'unknown variant `sometimes`, expected one of `untrusted`, `on-request`, `granular`, `never`',
    );
  });

  it('lists the tags of a tagged union, wherever it sits', () => {
    const schema = app.TurnStartParams;
    const input = { threadId: 't', input: [{ type: 'nope' }] };
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(
      describeZodError(result.error, input, {
        pathSuffix: false,
        schema,
        hiddenVariants: new Set(['on-failure']),
      }),
    ).toBe(
      'unknown variant `nope`, expected one of `text`, `image`, `localImage`, `audio`, `localAudio`, `skill`, `mention`',
    );
  });
});
