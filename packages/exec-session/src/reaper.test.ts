import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pidAlive, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessReaper } from './reaper.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process group of a shell and a background `sleep`; resolves both pids. */
async function group(): Promise<{ leader: number; member: number }> {
  const child = spawn('/bin/sh', ['-c', 'sleep 600 & echo $!; wait'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const leader = child.pid as number;
  started.push(leader);
  const member = await new Promise<number>((resolve) =>
    child.stdout?.once('data', (data: Buffer) => resolve(Number(data.toString().trim()))),
  );
  child.stdout?.destroy();
  child.unref();
  return { leader, member };
}

describe('ProcessReaper', () => {
  it('kills every registered group, members included, when the pipe from the server closes', async () => {
    const reaper = new ProcessReaper();
    const a = await group();
    const b = await group();
    reaper.track(a.leader);
    reaper.track(b.leader);
    expect(reaper.size).toBe(2);
    expect(reaper.pid).toBeGreaterThan(0);
    // closing the pipe is what the kernel does when the server dies, however it dies
    reaper.close();
    await waitFor(() => ![a.leader, a.member, b.leader, b.member].some(pidAlive));
  });

  it('leaves alone a group it was told to forget', async () => {
    const reaper = new ProcessReaper();
    const kept = await group();
    const killed = await group();
    reaper.track(kept.leader);
    reaper.track(killed.leader);
    reaper.untrack(kept.leader);
    reaper.close();
    await waitFor(() => !pidAlive(killed.member));
    expect(pidAlive(kept.leader) && pidAlive(kept.member)).toBe(true);
  });

  it('forgets a released group once it is empty, and keeps watching one with members left', async () => {
    const reaper = new ProcessReaper({ sweepMs: 20 });
    const empty = await group();
    process.kill(-empty.leader, 'SIGKILL');
    // gone and reaped: nothing in the group answers a signal any more
    await waitFor(() => !groupExists(empty.leader));
    reaper.track(empty.leader);
    reaper.release(empty.leader);
    expect(reaper.size).toBe(0);

    const lingering = await group();
    reaper.track(lingering.leader);
    process.kill(lingering.leader, 'SIGKILL'); // the leader goes; its background sleep stays
    await waitFor(() => !pidAlive(lingering.leader));
    reaper.release(lingering.leader);
    expect(reaper.size).toBe(1);
    process.kill(lingering.member, 'SIGKILL');
    await waitFor(() => reaper.size === 0);
    reaper.close();
  });

  it('starts a new watchdog with the current list when the old one is killed', async () => {
    const troubles: Error[] = [];
    const reaper = new ProcessReaper({ onTrouble: (error) => troubles.push(error) });
    const target = await group();
    reaper.track(target.leader);
    const first = reaper.pid as number;
    process.kill(first, 'SIGKILL');
    await waitFor(() => reaper.pid !== undefined && reaper.pid !== first);
    expect(troubles[0]?.message).toMatch(/process reaper exited unexpectedly/);
    expect(pidAlive(target.member)).toBe(true);
    reaper.close();
    await waitFor(() => !pidAlive(target.member));
  });

  it('is not hit by signals sent to the server process group', async () => {
    const reaper = new ProcessReaper();
    const target = await group();
    reaper.track(target.leader);
    const pid = reaper.pid as number;
    // its own session and process group: a terminal's Ctrl-C to the server's group misses it
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[2])).toBe(pid); // pgrp
    expect(Number(fields[2])).not.toBe(process.pid);
    reaper.close();
  });
});
