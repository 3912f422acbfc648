import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { type SpawnedChild, Spawner } from './spawner.js';

let spawner: Spawner;
afterAll(() => spawner?.close());

interface Outcome {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Reads a helper-spawned child to its end the way ManagedProcess does (into `out` as it comes). */
function finish(
  child: SpawnedChild,
  out: { stdout: string; stderr: string } = { stdout: '', stderr: '' },
): Promise<Outcome> {
  return new Promise((resolve) => {
    let open = 2;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const done = () => {
      if (open === 0 && exit) resolve({ ...out, ...exit });
    };
    for (const name of ['stdout', 'stderr'] as const) {
      const output = child[name];
      output.read(
        (data) => {
          out[name] += data.toString();
        },
        () => {
          open -= 1;
          output.destroy();
          done();
        },
      );
    }
    child.onExit((code, signal) => {
      exit = { code, signal };
      done();
    });
  });
}

const request = (
  file: string,
  args: string[],
  extra: Partial<Parameters<Spawner['spawn']>[0]> = {},
) => ({
  file,
  args,
  cwd: '/tmp',
  env: { PATH: '/usr/bin:/bin' },
  argv0: file,
  stdin: false,
  ...extra,
});

describe('Spawner (fork from a small helper, stdio over unix sockets)', () => {
  it('starts children with env, cwd and argv0, and reports exits', async () => {
    spawner = await Spawner.start();
    const child = await spawner.spawn(
      request('/bin/sh', ['-c', 'echo "$FOO $0 $(pwd)"; echo err >&2; exit 7'], {
        env: { FOO: 'bar' },
        argv0: 'custom',
      }),
    );
    expect(await finish(child)).toEqual({
      stdout: 'bar custom /tmp\n',
      stderr: 'err\n',
      code: 7,
      signal: null,
    });
  });

  it('never loses output or the end of a short-lived child (100 in a row)', async () => {
    for (let i = 0; i < 100; i++) {
      const child = await spawner.spawn(request('/bin/echo', [`n${i}`]));
      expect((await finish(child)).stdout).toBe(`n${i}\n`);
    }
  });

  it('connects stdin, puts the child in its own process group, and reports signals', async () => {
    const child = await spawner.spawn(request('/bin/cat', [], { stdin: true }));
    child.stdin?.write('through stdin\n');
    const seen = { stdout: '', stderr: '' };
    const outcome = finish(child, seen);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (seen.stdout.includes('through stdin')) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    process.kill(-child.pid, 'SIGKILL');
    expect(await outcome).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  it('fails with the OS error when the program cannot be executed', async () => {
    await expect(spawner.spawn(request('/definitely/not/here', []))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('keeps every read intact: later reads never overwrite the buffers handed out before', async () => {
    const child = await spawner.spawn(request('/usr/bin/seq', ['1', '400000']));
    const kept: Buffer[] = [];
    await new Promise<void>((resolve) => {
      let open = 2;
      for (const name of ['stdout', 'stderr'] as const) {
        child[name].read(
          (data) => {
            if (name === 'stdout') kept.push(data);
          },
          () => {
            open -= 1;
            if (open === 0) resolve();
          },
        );
      }
    });
    expect(kept.length).toBeGreaterThan(10);
    expect(
      Buffer.concat(kept).equals(
        execFileSync('/usr/bin/seq', ['1', '400000'], { maxBuffer: 64 * 1024 * 1024 }),
      ),
    ).toBe(true);
  });

  it('stops reading while paused, so the child blocks, and loses nothing on resume', async () => {
    // 8 MB is more than any socket buffer holds: the child cannot finish while we do not read
    const child = await spawner.spawn(request('/usr/bin/head', ['-c', '8000000', '/dev/zero']));
    let received = 0;
    let exited = false;
    child.onExit(() => {
      exited = true;
    });
    const ended = new Promise<void>((resolve) => {
      child.stderr.read(
        () => {},
        () => {},
      );
      child.stdout.read((data) => {
        received += data.length;
        if (received > 0 && !paused) {
          paused = true;
          child.stdout.pause();
        }
      }, resolve);
    });
    let paused = false;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(paused).toBe(true);
    const whilePaused = received;
    expect(exited).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toBe(whilePaused);
    child.stdout.resume();
    await ended;
    expect(received).toBe(8_000_000);
  });
});
