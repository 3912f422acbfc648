import { describe, expect, it } from 'vitest';
import { expectReferenceShape, expectWireShape, WireShapeError } from './wire-shape.js';

describe('expectWireShape', () => {
  it('accepts a notification the reference would send and refuses a wrong one', () => {
    const good = {
      method: 'item/agentMessage/delta',
      params: { threadId: 't', turnId: 'u', itemId: 'i', delta: 'hi' },
    };
    expect(() => expectWireShape(good)).not.toThrow();
    const missing = { method: 'item/agentMessage/delta', params: { threadId: 't', delta: 'hi' } };
    expect(() => expectWireShape(missing)).toThrow(/itemId/);
    const wrongType = { ...good, params: { ...good.params, delta: 3 } };
    expect(() => expectWireShape(wrongType)).toThrow(WireShapeError);
  });

  it('checks server requests by method, and refuses a method the reference lacks', () => {
    const request = {
      id: 0,
      method: 'item/fileChange/requestApproval',
      params: {
        threadId: 't',
        turnId: 'u',
        itemId: 'i',
        startedAtMs: 1,
        reason: null,
        grantRoot: null,
      },
    };
    expect(() => expectWireShape(request)).not.toThrow();
    expect(() => expectWireShape({ ...request, params: { threadId: 't' } })).toThrow(/turnId/);
    expect(() => expectWireShape({ method: 'thread/madeUp', params: {} })).toThrow(
      /no ServerNotification named thread\/madeUp/,
    );
  });

  it('checks a value against a named v2 definition', () => {
    expect(() =>
      expectReferenceShape('TurnPlanStep', { step: 'write tests', status: 'inProgress' }),
    ).not.toThrow();
    expect(() => expectReferenceShape('TurnPlanStep', { step: 'x', status: 'maybe' })).toThrow(
      /TurnPlanStep/,
    );
    expect(() => expectReferenceShape('NoSuchThing', {})).toThrow(/nothing at/);
  });
});
