import { describe, expect, it } from 'vitest';
import { Changes, sleep, WaitForTimeoutError, waitFor } from './wait.js';

describe('waitFor', () => {
  it('resolves with the first truthy value of the check', async () => {
    let calls = 0;
    const found = await waitFor(() => {
      calls += 1;
      return calls >= 3 && { calls };
    });
    expect(found).toEqual({ calls: 3 });
  });

  it('awaits an async check', async () => {
    let ready = false;
    setTimeout(() => {
      ready = true;
    }, 20);
    await expect(waitFor(async () => ready)).resolves.toBe(true);
  });

  it('fails after the timeout with an error that says what it waited for', async () => {
    const started = Date.now();
    const error = await waitFor(() => false, {
      timeoutMs: 50,
      what: () => 'the moon',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitForTimeoutError);
    expect(error).toMatchObject({
      code: 'WAIT_FOR_TIMEOUT',
      message: 'waitFor timed out after 50 ms waiting for the moon',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('fails at once when the check throws', async () => {
    await expect(
      waitFor(() => {
        throw new Error('broken check');
      }),
    ).rejects.toThrow('broken check');
  });

  it('checks again as soon as its changes say so, not at the next poll', async () => {
    const changes = new Changes();
    let value = 0;
    const started = Date.now();
    const waiting = waitFor(() => value === 1, { changes, intervalMs: 10_000 });
    await sleep(10);
    value = 1;
    changes.notify();
    await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('Changes', () => {
  it('calls its listeners until they unsubscribe', () => {
    const changes = new Changes();
    let heard = 0;
    const stop = changes.subscribe(() => {
      heard += 1;
    });
    changes.notify();
    stop();
    changes.notify();
    expect(heard).toBe(1);
  });
});

describe('sleep', () => {
  it('waits at least the given time', async () => {
    const started = Date.now();
    await sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
