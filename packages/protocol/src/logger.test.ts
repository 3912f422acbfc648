import { describe, expect, it } from 'vitest';
import { type Logger, silentLogger } from './logger.js';

describe('silentLogger', () => {
  it('accepts both calling forms and children, and keeps nothing', () => {
    const logger: Logger = silentLogger();
    expect(logger.info({ threadId: 't' }, 'started')).toBeUndefined();
    expect(logger.warn('no fields')).toBeUndefined();
    const child = logger.child({ connectionId: 1 });
    expect(child.error({ err: new Error('x') })).toBeUndefined();
    // One shared instance: a default argument costs no allocation per call site.
    expect(child).toBe(logger);
    expect(silentLogger()).toBe(logger);
  });
});
