import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { errors as joseErrors, jwtVerify } from 'jose';

/** The websocket auth flags as given on the command line (all optional strings). */
export interface WebSocketAuthFlags {
  wsAuth?: string | undefined;
  wsTokenFile?: string | undefined;
  wsTokenSha256?: string | undefined;
  wsSharedSecretFile?: string | undefined;
  wsIssuer?: string | undefined;
  wsAudience?: string | undefined;
  wsMaxClockSkewSeconds?: string | number | undefined;
}

export type WebSocketAuth =
  | { mode: 'none' }
  | { mode: 'capability-token'; digest: Buffer }
  | {
      mode: 'signed-bearer-token';
      secret: Uint8Array;
      issuer?: string;
      audience?: string;
      maxClockSkewSeconds: number;
    };

export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 30;
export const MIN_SIGNED_BEARER_SECRET_BYTES = 32;

/** A websocket auth configuration that cannot be used; the message says which flag is wrong. */
export class AuthConfigError extends Error {
  readonly code = 'INVALID_WS_AUTH';
}

const blank = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
};

async function readSecret(path: string): Promise<Buffer> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (error) {
    throw new AuthConfigError(
      `failed to read websocket auth secret ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const secret = secretBytes(content);
  if (secret.length === 0) {
    throw new AuthConfigError(`websocket auth secret ${path} must not be empty`);
  }
  return secret;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes a secret file holds, as a key: a text file (valid UTF-8) is trimmed of surrounding
 * whitespace as the reference trims it (a trailing newline is not part of the secret); any other
 * file is its raw bytes, untouched (`head -c 32 /dev/urandom > secret` is a 32-byte key, not 32
 * replacement characters).
 */
export function secretBytes(content: Buffer): Buffer {
  let text: string;
  try {
    text = utf8.decode(content);
  } catch {
    return content;
  }
  return Buffer.from(text.trim(), 'utf8');
}

function requireAbsolute(flag: string, path: string): void {
  if (!isAbsolute(path)) throw new AuthConfigError(`${flag} must be an absolute path`);
}

/**
 * Validates the websocket auth flags (with the reference's messages) and reads the secret files.
 */
export async function resolveWebSocketAuth(flags: WebSocketAuthFlags): Promise<WebSocketAuth> {
  const mode = flags.wsAuth;
  const signedOnly =
    flags.wsSharedSecretFile !== undefined ||
    flags.wsIssuer !== undefined ||
    flags.wsAudience !== undefined ||
    flags.wsMaxClockSkewSeconds !== undefined;
  const tokenFlags = flags.wsTokenFile !== undefined || flags.wsTokenSha256 !== undefined;

  if (mode === undefined) {
    if (signedOnly || tokenFlags) {
      throw new AuthConfigError(
        'websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`',
      );
    }
    return { mode: 'none' };
  }

  if (mode === 'capability-token') {
    if (signedOnly) {
      throw new AuthConfigError(
        '`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and `--ws-max-clock-skew-seconds` require `--ws-auth signed-bearer-token`',
      );
    }
    if (flags.wsTokenFile !== undefined && flags.wsTokenSha256 !== undefined) {
      throw new AuthConfigError('`--ws-token-file` and `--ws-token-sha256` are mutually exclusive');
    }
    if (flags.wsTokenSha256 !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(flags.wsTokenSha256)) {
        throw new AuthConfigError('`--ws-token-sha256` must be a 64-character hex SHA-256 digest');
      }
      return { mode: 'capability-token', digest: Buffer.from(flags.wsTokenSha256, 'hex') };
    }
    if (flags.wsTokenFile !== undefined) {
      requireAbsolute('`--ws-token-file`', flags.wsTokenFile);
      const token = await readSecret(flags.wsTokenFile);
      return { mode: 'capability-token', digest: createHash('sha256').update(token).digest() };
    }
    throw new AuthConfigError(
      '`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set',
    );
  }

  if (mode === 'signed-bearer-token') {
    if (tokenFlags) {
      throw new AuthConfigError(
        '`--ws-token-file` and `--ws-token-sha256` require `--ws-auth capability-token`, not `signed-bearer-token`',
      );
    }
    if (flags.wsSharedSecretFile === undefined) {
      throw new AuthConfigError(
        '`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set',
      );
    }
    requireAbsolute('`--ws-shared-secret-file`', flags.wsSharedSecretFile);
    const secret = await readSecret(flags.wsSharedSecretFile);
    if (secret.length < MIN_SIGNED_BEARER_SECRET_BYTES) {
      throw new AuthConfigError(
        `signed websocket bearer secret ${flags.wsSharedSecretFile} must be at least ${MIN_SIGNED_BEARER_SECRET_BYTES} bytes`,
      );
    }
    let skew = DEFAULT_MAX_CLOCK_SKEW_SECONDS;
    if (flags.wsMaxClockSkewSeconds !== undefined) {
      skew = Number(flags.wsMaxClockSkewSeconds);
      if (!Number.isSafeInteger(skew) || skew < 0) {
        throw new AuthConfigError(
          '`--ws-max-clock-skew-seconds` must be a non-negative whole number of seconds',
        );
      }
    }
    const auth: WebSocketAuth = { mode: 'signed-bearer-token', secret, maxClockSkewSeconds: skew };
    const issuer = blank(flags.wsIssuer);
    const audience = blank(flags.wsAudience);
    if (issuer) auth.issuer = issuer;
    if (audience) auth.audience = audience;
    return auth;
  }

  throw new AuthConfigError(
    `invalid value \`${mode}\` for \`--ws-auth\`; expected \`capability-token\` or \`signed-bearer-token\``,
  );
}

export type AuthDecision = { ok: true } | { ok: false; reason: string };

function bearerToken(header: string | undefined): { token?: string; reason?: string } {
  if (header === undefined) return { reason: 'missing websocket bearer token' };
  const match = /^\s*(\S+)\s+(.*)$/.exec(header);
  if (match?.[1]?.toLowerCase() !== 'bearer') {
    return { reason: 'invalid authorization header' };
  }
  const token = (match[2] ?? '').trim();
  if (!token) return { reason: 'missing websocket bearer token' };
  return { token };
}

/**
 * Checks the `Authorization` header of an HTTP upgrade against the configured auth. Returns the
 * short 401 reason on failure.
 */
export async function authorizeUpgrade(
  auth: WebSocketAuth,
  authorization: string | undefined,
): Promise<AuthDecision> {
  if (auth.mode === 'none') return { ok: true };
  const { token, reason } = bearerToken(authorization);
  if (!token) return { ok: false, reason: reason ?? 'missing websocket bearer token' };

  if (auth.mode === 'capability-token') {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    return timingSafeEqual(digest, auth.digest)
      ? { ok: true }
      : { ok: false, reason: 'invalid websocket bearer token' };
  }

  try {
    const options: Parameters<typeof jwtVerify>[2] = {
      algorithms: ['HS256'],
      clockTolerance: auth.maxClockSkewSeconds,
      requiredClaims: ['exp'],
    };
    const { payload } = await jwtVerify(token, auth.secret, options);
    if (auth.issuer !== undefined && payload.iss !== auth.issuer) {
      return { ok: false, reason: 'websocket jwt issuer mismatch' };
    }
    if (auth.audience !== undefined) {
      const aud = payload.aud;
      const audiences = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
      if (!audiences.includes(auth.audience)) {
        return { ok: false, reason: 'websocket jwt audience mismatch' };
      }
    }
    return { ok: true };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired)
      return { ok: false, reason: 'expired websocket jwt' };
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'nbf') {
      return { ok: false, reason: 'websocket jwt is not valid yet' };
    }
    if (
      error instanceof joseErrors.JWSSignatureVerificationFailed ||
      error instanceof joseErrors.JOSEAlgNotAllowed
    ) {
      return { ok: false, reason: 'invalid websocket bearer token' };
    }
    return { ok: false, reason: 'invalid websocket jwt' };
  }
}

/** The websocket auth flags as `node:util` `parseArgs` options, shared by both executables. */
export const WEB_SOCKET_AUTH_CLI_OPTIONS = {
  'ws-auth': { type: 'string' },
  'ws-token-file': { type: 'string' },
  'ws-token-sha256': { type: 'string' },
  'ws-shared-secret-file': { type: 'string' },
  'ws-issuer': { type: 'string' },
  'ws-audience': { type: 'string' },
  'ws-max-clock-skew-seconds': { type: 'string' },
} as const;

/** Picks the websocket auth flags out of `parseArgs` values. */
export function webSocketAuthFlagsFrom(
  values: {
    [K in keyof typeof WEB_SOCKET_AUTH_CLI_OPTIONS]?: string | undefined;
  },
): WebSocketAuthFlags {
  return {
    wsAuth: values['ws-auth'],
    wsTokenFile: values['ws-token-file'],
    wsTokenSha256: values['ws-token-sha256'],
    wsSharedSecretFile: values['ws-shared-secret-file'],
    wsIssuer: values['ws-issuer'],
    wsAudience: values['ws-audience'],
    wsMaxClockSkewSeconds: values['ws-max-clock-skew-seconds'],
  };
}
