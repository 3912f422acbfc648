/**
 * The account methods for an API-key setup, as the reference offers them to clients: who is
 * signed in (`account/read`), signing in with a key and out again (`account/login/start`,
 * `account/logout`, with `account/login/completed` and `account/updated` to every client), and the
 * rate limits the provider's response headers reported (`account/rateLimits/read`). ChatGPT and
 * Bedrock sign-in are not something tether can do; they are refused with a message that says how
 * to use an API key instead.
 */
import type { OutboundRouter } from '@tether/outbound-router';
import { type app, invalidRequest, RpcError } from '@tether/protocol';
import type { Logger } from '@tether/transport';
import { type AuthStore, apiKeyFor } from './auth-store.js';
import type { ConfigService } from './config/index.js';
import { serverNotification } from './notify.js';

/** Why tether refuses a sign-in other than an API key, and what to do instead. */
export const UNSUPPORTED_LOGIN_MESSAGE =
  'tether does not support ChatGPT or cloud-account sign-in; sign in with an API key instead: account/login/start with {"type": "apiKey", "apiKey": "..."} (in the Codex TUI: "Provide your own API key"), or set the key\'s environment variable (OPENAI_API_KEY, or the env_key of your [model_providers] entry) before starting the server';

/**
 * The latest rate limits the provider's response headers reported, per limit id: the model client
 * records them, `account/rateLimits/read` answers from them.
 */
export class RateLimitBoard {
  private readonly limits = new Map<string, app.RateLimitSnapshot>();
  private firstLimitId: string | null = null;

  record(snapshots: readonly app.RateLimitSnapshot[]): void {
    for (const snapshot of snapshots) {
      const id = snapshot.limitId ?? 'codex';
      this.limits.set(id, snapshot);
      this.firstLimitId ??= id;
    }
  }

  /** The first family reported (`codex` when the provider sends it) and every family by id. */
  latest(): app.GetAccountRateLimitsResponse | undefined {
    const first = this.firstLimitId === null ? undefined : this.limits.get(this.firstLimitId);
    if (!first) return undefined;
    return { rateLimits: first, rateLimitsByLimitId: Object.fromEntries(this.limits) };
  }
}

export interface AccountsOptions {
  store: AuthStore;
  rateLimits: RateLimitBoard;
  config: ConfigService;
  router: OutboundRouter;
  logger: Logger;
}

function needsOpenAiKey(provider: { requiresOpenaiAuth: boolean; baseUrl: string }): boolean {
  if (!provider.requiresOpenaiAuth) return false;
  try {
    return new URL(provider.baseUrl).hostname === 'api.openai.com';
  } catch {
    return true;
  }
}

/**
 * Where a key has a character an HTTP header cannot carry (a control character such as a line
 * break, or one outside Latin-1), as "U+000A at position 7"; undefined when it has none.
 */
export function unsendableKeyChar(key: string): string | undefined {
  const chars = [...key];
  const bad = chars.findIndex((char) => {
    const code = char.codePointAt(0) ?? 0;
    return code < 0x20 || code === 0x7f || code > 0xff;
  });
  if (bad === -1) return undefined;
  const code = (chars[bad]?.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return `U+${code} at position ${bad + 1}`;
}

export class Accounts {
  constructor(private readonly options: AccountsOptions) {}

  /** Records what a model response's headers said (the model client calls this). */
  recordRateLimits(snapshots: readonly app.RateLimitSnapshot[]): void {
    this.options.rateLimits.record(snapshots);
  }

  read(): app.GetAccountResponse {
    const provider = this.provider();
    const key = provider ? apiKeyFor(provider, this.options.store) : this.options.store.apiKey();
    return {
      account: key ? { type: 'apiKey' } : null,
      userId: null,
      // a client asks for a sign-in only where one is needed: OpenAI's own API (tether started
      // with an OpenAI base URL pointing at a local server needs no key, and the TUI must not
      // stop at its sign-in screen)
      requiresOpenaiAuth: provider ? needsOpenAiKey(provider) : true,
      workspaceRouting: null,
    };
  }

  /** Stores the key; the notifications follow the answer, as the reference sends them. */
  login(
    params: app.LoginAccountParams,
    afterReply: (task: () => Promise<void>) => void,
  ): app.LoginAccountResponse {
    if (params.type !== 'apiKey') {
      throw new RpcError(invalidRequest(UNSUPPORTED_LOGIN_MESSAGE));
    }
    if (params.apiKey.trim() === '') {
      throw new RpcError(invalidRequest('Invalid request: the API key is empty'));
    }
    const unsendable = unsendableKeyChar(params.apiKey.trim());
    if (unsendable) {
      // a key that cannot go into an Authorization header would make every turn fail; the key
      // itself is not quoted back
      throw new RpcError(
        invalidRequest(
          `Invalid request: the API key contains a character that cannot be sent in an HTTP header (${unsendable}); paste the key again`,
        ),
      );
    }
    this.options.store.save(params.apiKey.trim());
    this.options.logger.info({ file: this.options.store.file }, 'API key stored');
    afterReply(async () => {
      await this.broadcast('account/login/completed', {
        loginId: null,
        success: true,
        error: null,
        onboardingEntrypoint: null,
      });
      await this.broadcast('account/updated', { authMode: 'apikey', planType: null });
    });
    return { type: 'apiKey' };
  }

  logout(afterReply: (task: () => Promise<void>) => void): Record<string, never> {
    if (this.options.store.clear()) {
      this.options.logger.info({ file: this.options.store.file }, 'API key removed');
    }
    afterReply(() => this.broadcast('account/updated', { authMode: null, planType: null }));
    return {};
  }

  rateLimits(): app.GetAccountRateLimitsResponse {
    const latest = this.options.rateLimits.latest();
    if (!latest) {
      throw new RpcError(
        invalidRequest(
          'no rate limits to report yet: tether reports the limits the model provider sends in its response headers (x-codex-* or x-ratelimit-*), and none has arrived',
        ),
      );
    }
    return latest;
  }

  private provider() {
    const loaded = this.options.config.tryLoad();
    return loaded.snapshot?.resolved.provider;
  }

  private broadcast<M extends app.ServerNotificationMethod>(
    method: M,
    params: app.NotificationParamsOf<M>,
  ): Promise<void> {
    return this.options.router.broadcast(serverNotification(method, params));
  }
}
