import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pgrep, pidAlive } from './processes.js';
import { waitFor } from './wait.js';

describe('pidAlive', () => {
  it('is true while a process runs and false once it was killed', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = child.pid as number;
    expect(pidAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !pidAlive(pid));
  });

  it('counts a zombie (dead, not reaped by its parent) as gone', async () => {
    // the shell backgrounds a short sleep, then becomes a long one that never reaps it
    const child = spawn('/bin/sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      let out = '';
      child.stdout.on('data', (data: Buffer) => {
        out += data.toString();
      });
      const pid = Number(await waitFor(() => /^(\d+)\n/.exec(out)?.[1]));
      await waitFor(() => !pidAlive(pid));
      // it is still there for kill(0): only its state says it is dead
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('pgrep', () => {
  it('finds processes by their command line, exactly or not, and returns [] for none', async () => {
    const marker = 800_000 + (process.pid % 90_000);
    const child = spawn('sleep', [String(marker)], { stdio: 'ignore' });
    try {
      await waitFor(() => pgrep(`sleep ${marker}`).includes(child.pid as number));
      expect(pgrep(`sleep ${marker}`, { exact: true })).toEqual([child.pid]);
      expect(pgrep(`sleep ${String(marker).slice(1)}`, { exact: true })).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
    await waitFor(() => pgrep(`sleep ${marker}`).length === 0);
  });
});
