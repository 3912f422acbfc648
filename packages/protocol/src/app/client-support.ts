/**
 * The methods a Codex client (the TUI in particular) calls at startup and around turns besides the
 * core thread and turn methods: account, models, config, skills, hooks, plugins, collaboration
 * modes, turn pages and read state. tether answers them with what it has (its one configured
 * model, no skills, hooks or plugins) so such clients work unchanged.
 */
import { z } from 'zod';
import { JsonObject, UnsignedInt } from './common.js';

const cwdsParams = { cwds: z.array(z.string()).nullish() };

export const GetAccountParams = z.looseObject({ refreshToken: z.boolean().nullish() }).nullish();
export type GetAccountParams = z.infer<typeof GetAccountParams>;
export const GetAccountResponse = z.looseObject({
  account: z.looseObject({ type: z.string() }).nullable(),
  userId: z.string().nullish(),
  requiresOpenaiAuth: z.boolean(),
});
export type GetAccountResponse = z.infer<typeof GetAccountResponse>;

export const GovCloudRequirementsParams = z.looseObject({}).nullish();
export const GovCloudRequirementsResponse = z.looseObject({
  isGovCloud: z.boolean(),
  shouldWarn: z.boolean(),
});

export const ModelListParams = z
  .looseObject({
    modelProvider: z.string().nullish(),
    cursor: z.string().nullish(),
    limit: UnsignedInt.nullish(),
    includeHidden: z.boolean().nullish(),
  })
  .nullish();
export type ModelListParams = z.infer<typeof ModelListParams>;
export const ReasoningEffortOption = z.looseObject({
  reasoningEffort: z.string(),
  description: z.string(),
});
export const ModelInfo = z.looseObject({
  id: z.string(),
  model: z.string(),
  upgrade: z.string().nullish(),
  upgradeInfo: z
    .looseObject({
      model: z.string(),
      upgradeCopy: z.string().nullish(),
      modelLink: z.string().nullish(),
      migrationMarkdown: z.string().nullish(),
      retirementAt: z.string().nullish(),
    })
    .nullish(),
  availabilityNux: z.looseObject({ message: z.string() }).nullish(),
  displayName: z.string(),
  description: z.string(),
  modelSpecialty: z.string().nullish(),
  hidden: z.boolean(),
  supportedReasoningEfforts: z.array(ReasoningEffortOption),
  defaultReasoningEffort: z.string(),
  inputModalities: z.array(z.enum(['text', 'image', 'audio'])).optional(),
  supportsPersonality: z.boolean().optional(),
  multiAgentVersion: z.string().nullish(),
  additionalSpeedTiers: z.array(z.string()).optional(),
  serviceTiers: z
    .array(z.looseObject({ id: z.string(), name: z.string(), description: z.string() }))
    .optional(),
  defaultServiceTier: z.string().nullish(),
  availableAccessPrograms: z.looseObject({ cyber: z.array(z.string()) }).nullish(),
  isDefault: z.boolean(),
});
export type ModelInfo = z.infer<typeof ModelInfo>;
export const ModelListResponse = z.looseObject({
  data: z.array(ModelInfo),
  nextCursor: z.string().nullish(),
});
export type ModelListResponse = z.infer<typeof ModelListResponse>;

export const HooksListParams = z
  .looseObject({ ...cwdsParams, threadId: z.string().nullish() })
  .nullish();
export const HooksListResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      cwd: z.string(),
      hooks: z.array(JsonObject),
      warnings: z.array(z.unknown()),
      errors: z.array(z.unknown()),
    }),
  ),
});

export const SkillsListParams = z
  .looseObject({ ...cwdsParams, forceReload: z.boolean().nullish() })
  .nullish();
export const SkillsListResponse = z.looseObject({
  data: z.array(
    z.looseObject({ cwd: z.string(), skills: z.array(JsonObject), errors: z.array(z.unknown()) }),
  ),
});

export const PluginInstalledParams = z.looseObject({ ...cwdsParams }).nullish();
export const PluginInstalledResponse = z.looseObject({
  marketplaces: z.array(JsonObject),
  marketplaceLoadErrors: z.array(z.unknown()).optional(),
});

export const ConfigRequirementsReadParams = z.looseObject({}).nullish();
export const ConfigRequirementsReadResponse = z.looseObject({
  requirements: JsonObject.nullish(),
  supportsIndependentSpeedModes: z.boolean().optional(),
});

/** `permissionProfile/list`: the permission profiles `permissions` may name. */
export const PermissionProfileListParams = z
  .looseObject({
    cursor: z.string().nullish(),
    limit: z.number().int().nonnegative().nullish(),
    cwd: z.string().nullish(),
  })
  .nullish();
export type PermissionProfileListParams = z.infer<typeof PermissionProfileListParams>;
export const PermissionProfileSummary = z.looseObject({
  id: z.string(),
  description: z.string().nullable(),
  allowed: z.boolean(),
});
export type PermissionProfileSummary = z.infer<typeof PermissionProfileSummary>;
export const PermissionProfileListResponse = z.looseObject({
  data: z.array(PermissionProfileSummary),
  nextCursor: z.string().nullable(),
});
export type PermissionProfileListResponse = z.infer<typeof PermissionProfileListResponse>;

export const CollaborationModeListParams = z.looseObject({}).nullish();
export const CollaborationModeListResponse = z.looseObject({
  data: z.array(
    z.looseObject({
      name: z.string(),
      mode: z.string(),
      model: z.string().nullish(),
      reasoning_effort: z.string().nullish(),
    }),
  ),
});
