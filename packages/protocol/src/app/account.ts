/**
 * Accounts, rate limits and model providers: `account/login/start`, `account/logout`,
 * `account/rateLimits/read`, `modelProvider/list`, `modelProvider/capabilities/read` and the
 * notifications that go with them (`account/login/completed`, `account/updated`,
 * `account/rateLimits/updated`, `remoteControl/status/changed`), as codex 0.169.0 sends them.
 */
import { z } from 'zod';

/** `account/login/start`: an API key, or a ChatGPT / Bedrock sign-in (which tether refuses). */
export const LoginAccountParams = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('apiKey'), apiKey: z.string() }),
  z.looseObject({
    type: z.enum([
      'chatgpt',
      'chatgptDeviceCode',
      'chatgptAuthTokens',
      'amazonBedrock',
      'amazonBedrockAccessKeys',
    ]),
  }),
]);
export type LoginAccountParams = z.infer<typeof LoginAccountParams>;
export const LoginAccountResponse = z.looseObject({ type: z.string() });
export type LoginAccountResponse = z.infer<typeof LoginAccountResponse>;

export const LogoutAccountParams = z.looseObject({}).nullish();
export const LogoutAccountResponse = z.looseObject({});

export const RateLimitWindow = z.looseObject({
  usedPercent: z.number().int(),
  windowDurationMins: z.number().int().nullish(),
  resetsAt: z.number().int().nullish(),
});
export type RateLimitWindow = z.infer<typeof RateLimitWindow>;

export const CreditsSnapshot = z.looseObject({
  hasCredits: z.boolean(),
  unlimited: z.boolean(),
  balance: z.string().nullish(),
});
export type CreditsSnapshot = z.infer<typeof CreditsSnapshot>;

/** One rate-limit bucket as the provider's headers describe it. */
export const RateLimitSnapshot = z.looseObject({
  limitId: z.string().nullish(),
  limitName: z.string().nullish(),
  normalModelSlug: z.string().nullish(),
  primary: RateLimitWindow.nullish(),
  secondary: RateLimitWindow.nullish(),
  credits: CreditsSnapshot.nullish(),
  individualLimit: z.unknown().optional(),
  spendControlReached: z.boolean().nullish(),
  planType: z.string().nullish(),
  rateLimitReachedType: z.string().nullish(),
});
export type RateLimitSnapshot = z.infer<typeof RateLimitSnapshot>;

export const GetAccountRateLimitsParams = z
  .looseObject({
    excludeResetCreditDetails: z.boolean().optional(),
    supportsLunaReserve: z.boolean().optional(),
  })
  .nullish();
export const GetAccountRateLimitsResponse = z.looseObject({
  rateLimits: RateLimitSnapshot,
  rateLimitsByLimitId: z.record(z.string(), RateLimitSnapshot).nullish(),
});
export type GetAccountRateLimitsResponse = z.infer<typeof GetAccountRateLimitsResponse>;

export const AccountLoginCompletedNotification = z.looseObject({
  loginId: z.string().nullish(),
  success: z.boolean(),
  error: z.string().nullish(),
  onboardingEntrypoint: z.string().nullish(),
});
export type AccountLoginCompletedNotification = z.infer<typeof AccountLoginCompletedNotification>;

export const AccountUpdatedNotification = z.looseObject({
  authMode: z.string().nullish(),
  planType: z.string().nullish(),
});
export type AccountUpdatedNotification = z.infer<typeof AccountUpdatedNotification>;

export const AccountRateLimitsUpdatedNotification = z.looseObject({
  rateLimits: RateLimitSnapshot,
});
export type AccountRateLimitsUpdatedNotification = z.infer<
  typeof AccountRateLimitsUpdatedNotification
>;

export const RemoteControlStatusChangedNotification = z.looseObject({
  status: z.enum(['disabled', 'connecting', 'connected', 'errored']),
  serverName: z.string(),
  installationId: z.string(),
  environmentId: z.string().nullish(),
});
export type RemoteControlStatusChangedNotification = z.infer<
  typeof RemoteControlStatusChangedNotification
>;

export const ModelProviderListParams = z.looseObject({}).nullish();
const GatewayAuth = z.discriminatedUnion('mode', [
  z.looseObject({ mode: z.literal('none') }),
  z.looseObject({ mode: z.literal('environmentVariable'), envKey: z.string() }),
  z.looseObject({ mode: z.literal('externallyConfigured'), envKey: z.string().nullish() }),
]);
export const ProviderSettings = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('openai') }),
  z.looseObject({ type: z.literal('customGateway'), auth: GatewayAuth }),
  z.looseObject({ type: z.literal('bedrock') }),
  z.looseObject({ type: z.literal('gcp') }),
]);
export type ProviderSettings = z.infer<typeof ProviderSettings>;
export const ModelProviderSummary = z.looseObject({
  id: z.string(),
  name: z.string(),
  canEdit: z.boolean(),
  baseUrl: z.string().nullish(),
  settings: ProviderSettings,
});
export type ModelProviderSummary = z.infer<typeof ModelProviderSummary>;
export const ModelProviderListResponse = z.looseObject({
  data: z.array(ModelProviderSummary),
  defaultProviderId: z.string(),
  canChangeDefault: z.boolean(),
});
export type ModelProviderListResponse = z.infer<typeof ModelProviderListResponse>;

export const ModelProviderCapabilitiesReadParams = z.looseObject({}).nullish();
export const ModelProviderCapabilitiesReadResponse = z.looseObject({
  imageGeneration: z.boolean(),
  webSearch: z.boolean(),
});
export type ModelProviderCapabilitiesReadResponse = z.infer<
  typeof ModelProviderCapabilitiesReadResponse
>;
