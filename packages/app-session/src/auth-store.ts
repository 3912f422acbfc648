/**
 * The API key a client signed in with (`account/login/start {type: "apiKey"}`), kept where the
 * reference keeps it: `auth.json` in the state directory, `{"auth_mode": "apikey",
 * "OPENAI_API_KEY": "..."}`, readable by the owner only. Every read goes to the file, so a key
 * stored (or removed) by one server, or by hand, applies to the next model request of every server
 * sharing the directory, without a restart.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const AUTH_FILE = 'auth.json';

const AuthFile = z.looseObject({
  auth_mode: z.string().nullish(),
  OPENAI_API_KEY: z.string().nullish(),
});

export class AuthStore {
  readonly file: string;

  constructor(readonly home: string) {
    this.file = join(home, AUTH_FILE);
  }

  /** The stored key, or null when none is stored (or the file cannot be read as one). */
  apiKey(): string | null {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return null;
    }
    const parsed = AuthFile.safeParse(json);
    const key = parsed.success ? parsed.data.OPENAI_API_KEY : null;
    return key ? key : null;
  }

  /**
   * Stores the key: written to a private temporary file beside `auth.json` and renamed over it, so
   * a reader sees the old file or the new one, never half of one, and the key is never readable by
   * anyone else, not even for a moment.
   */
  save(apiKey: string): void {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    const body = `${JSON.stringify({ auth_mode: 'apikey', OPENAI_API_KEY: apiKey }, null, 2)}\n`;
    const temp = join(this.home, `.${AUTH_FILE}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      writeFileSync(temp, body, { mode: 0o600, flag: 'wx' });
      renameSync(temp, this.file);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  }

  /** Removes the stored key; true when there was a file to remove. */
  clear(): boolean {
    try {
      rmSync(this.file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}

/**
 * The key the model client sends for a provider: for OpenAI itself (a provider that requires
 * OpenAI auth) a signed-in key wins over the environment, as in the reference. Any other provider
 * gets only its own `env_key` (or bearer token), never the signed-in OpenAI key: that key must not
 * reach a third-party server (the reference does not send it there either).
 */
export function apiKeyFor(
  provider: { apiKey: string | null; requiresOpenaiAuth: boolean },
  store: AuthStore,
): string | null {
  if (provider.requiresOpenaiAuth) return store.apiKey() ?? provider.apiKey;
  return provider.apiKey;
}
