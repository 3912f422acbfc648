import { randomUUID } from 'node:crypto';
import type { app } from '@tether/protocol';

/** What the server tells clients about its model and account. */
export interface ServerIdentity {
  model: string;
  modelProvider: string;
  /** True when an API key is configured (reported as an API-key account). */
  apiKeyConfigured: boolean;
}

const REASONING_EFFORTS = [
  { reasoningEffort: 'low', description: 'Fast responses with lighter reasoning' },
  {
    reasoningEffort: 'medium',
    description: 'Balances speed and reasoning depth for everyday tasks',
  },
  { reasoningEffort: 'high', description: 'Greater reasoning depth for complex problems' },
];

const cwdsOf = (params: { cwds?: string[] | null | undefined } | null | undefined): string[] =>
  params?.cwds?.length ? params.cwds : [process.cwd()];

/**
 * Answers for the methods a Codex client calls around its threads (account, models, config,
 * skills, hooks, plugins, collaboration modes). tether has one configured model and no skills,
 * hooks or plugins; the answers say exactly that.
 */
export class ClientSupport {
  constructor(private readonly identity: ServerIdentity) {}

  account(): app.GetAccountResponse {
    return {
      account: this.identity.apiKeyConfigured ? { type: 'apiKey' } : null,
      userId: null,
      requiresOpenaiAuth: false,
      workspaceRouting: null,
    };
  }

  govCloud() {
    return { isGovCloud: false, shouldWarn: false };
  }

  models(params: app.ModelListParams): app.ModelListResponse {
    const { model } = this.identity;
    const provider = params?.modelProvider;
    if (provider && provider !== this.identity.modelProvider) return { data: [], nextCursor: null };
    return {
      data: [
        {
          id: model,
          model,
          upgrade: null,
          upgradeInfo: null,
          availabilityNux: null,
          displayName: model,
          description: `The model this tether server is configured with (${this.identity.modelProvider}).`,
          modelSpecialty: null,
          hidden: false,
          supportedReasoningEfforts: REASONING_EFFORTS,
          defaultReasoningEffort: 'medium',
          inputModalities: ['text'],
          supportsPersonality: false,
          additionalSpeedTiers: [],
          serviceTiers: [],
          defaultServiceTier: null,
          availableAccessPrograms: null,
          isDefault: true,
        },
      ],
      nextCursor: null,
    };
  }

  collaborationModes() {
    return { data: [{ name: 'Default', mode: 'default', model: null, reasoning_effort: null }] };
  }

  hooks(params: { cwds?: string[] | null } | null | undefined) {
    return { data: cwdsOf(params).map((cwd) => ({ cwd, hooks: [], warnings: [], errors: [] })) };
  }

  skills(params: { cwds?: string[] | null } | null | undefined) {
    return { data: cwdsOf(params).map((cwd) => ({ cwd, skills: [], errors: [] })) };
  }

  plugins() {
    return { marketplaces: [], marketplaceLoadErrors: [] };
  }

  /** tether keeps no per-client read markers; every update answers a fresh revision. */
  readState() {
    return { readState: { firstUnread: null, revision: randomUUID() } };
  }
}
