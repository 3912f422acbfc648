import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { authorizeUpgrade, resolveWebSocketAuth } from './auth.js';

const dir = mkdtempSync(join(tmpdir(), 'tether-authflags-'));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('resolveWebSocketAuth flag validation', () => {
  it('defaults to no auth', async () => {
    expect(await resolveWebSocketAuth({})).toEqual({ mode: 'none' });
  });

  it('uses the reference messages for inconsistent flags', async () => {
    await expect(resolveWebSocketAuth({ wsTokenFile: '/x' })).rejects.toThrow(
      'websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`',
    );
    await expect(resolveWebSocketAuth({ wsAuth: 'capability-token' })).rejects.toThrow(
      '`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set',
    );
    await expect(
      resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenFile: '/a', wsTokenSha256: 'b' }),
    ).rejects.toThrow('`--ws-token-file` and `--ws-token-sha256` are mutually exclusive');
    await expect(
      resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenSha256: 'abc' }),
    ).rejects.toThrow('`--ws-token-sha256` must be a 64-character hex SHA-256 digest');
    await expect(
      resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenFile: 'relative/token' }),
    ).rejects.toThrow('`--ws-token-file` must be an absolute path');
    await expect(
      resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenFile: '/a', wsIssuer: 'x' }),
    ).rejects.toThrow(
      '`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and `--ws-max-clock-skew-seconds` require `--ws-auth signed-bearer-token`',
    );
    await expect(resolveWebSocketAuth({ wsAuth: 'signed-bearer-token' })).rejects.toThrow(
      '`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set',
    );
    await expect(
      resolveWebSocketAuth({ wsAuth: 'signed-bearer-token', wsTokenSha256: 'a'.repeat(64) }),
    ).rejects.toThrow(
      '`--ws-token-file` and `--ws-token-sha256` require `--ws-auth capability-token`, not `signed-bearer-token`',
    );
    await expect(resolveWebSocketAuth({ wsAuth: 'magic' })).rejects.toThrow('--ws-auth');
  });

  it('reads and checks secret files', async () => {
    const short = file('short', 'tooshort');
    await expect(
      resolveWebSocketAuth({ wsAuth: 'signed-bearer-token', wsSharedSecretFile: short }),
    ).rejects.toThrow(`signed websocket bearer secret ${short} must be at least 32 bytes`);
    const empty = file('empty', '  \n');
    await expect(
      resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenFile: empty }),
    ).rejects.toThrow(`websocket auth secret ${empty} must not be empty`);
    await expect(
      resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenFile: join(dir, 'missing') }),
    ).rejects.toThrow('failed to read websocket auth secret');
    const secret = file('secret', `${'s'.repeat(32)}\n`);
    const auth = await resolveWebSocketAuth({
      wsAuth: 'signed-bearer-token',
      wsSharedSecretFile: secret,
      wsIssuer: '  iss  ',
      wsAudience: '   ',
    });
    expect(auth).toMatchObject({
      mode: 'signed-bearer-token',
      maxClockSkewSeconds: 30,
      issuer: 'iss',
    });
    expect(auth).not.toHaveProperty('audience');
  });
});

describe("signed bearer secrets are the file's bytes", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const bearer = async (key: Uint8Array) =>
    `Bearer ${await new SignJWT({ exp: now() + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(key)}`;
  const load = (path: string) =>
    resolveWebSocketAuth({ wsAuth: 'signed-bearer-token', wsSharedSecretFile: path });

  it('a binary secret (head -c 32 /dev/urandom) verifies tokens signed with its real bytes', async () => {
    let bytes = randomBytes(32);
    // make sure it is not accidentally valid UTF-8 (which would be read as text)
    bytes[0] = 0xff;
    const auth = await load(file('binary', bytes));
    expect(await authorizeUpgrade(auth, await bearer(bytes))).toEqual({ ok: true });
    // what a lossy UTF-8 decode would have made of it must not work
    const lossy = Buffer.from(bytes.toString('utf8'), 'utf8');
    expect(await authorizeUpgrade(auth, await bearer(lossy))).toMatchObject({ ok: false });
    bytes = Buffer.concat([bytes, Buffer.from('\n')]);
    // a binary secret is taken as it is: a trailing byte is part of it
    const withNewline = await load(file('binary-nl', bytes));
    expect(await authorizeUpgrade(withNewline, await bearer(bytes))).toEqual({ ok: true });
  });

  it('eleven 0xFF bytes are eleven bytes, not 33 bytes of replacement characters: refused', async () => {
    const path = file('ff', Buffer.alloc(11, 0xff));
    await expect(load(path)).rejects.toThrow(
      `signed websocket bearer secret ${path} must be at least 32 bytes`,
    );
  });

  it('a text secret is trimmed as the reference trims it (its trailing newline is not part of it)', async () => {
    const text = 'correct horse battery staple and more';
    const auth = await load(file('text', `  ${text}\n`));
    expect(await authorizeUpgrade(auth, await bearer(new TextEncoder().encode(text)))).toEqual({
      ok: true,
    });
    expect(
      await authorizeUpgrade(auth, await bearer(new TextEncoder().encode(`${text}\n`))),
    ).toMatchObject({ ok: false });
  });
});
