/**
 * The configuration methods: `config/read`'s layers and origins, `config/value/write` and
 * `config/batchWrite` (edits of the user's `config.toml`), and the experimental-feature methods
 * (codex 0.169.0's `ConfigReadResponse`, `ConfigWriteResponse`, `ExperimentalFeature*`).
 */
import { z } from 'zod';
import { JsonObject, UnsignedInt } from './common.js';

/** Where a layer of the configuration comes from (`ConfigLayerSource`). */
export const ConfigLayerSource = z.union([
  z.looseObject({ type: z.literal('system'), file: z.string() }),
  z.looseObject({
    type: z.literal('user'),
    file: z.string(),
    profile: z.string().nullish(),
  }),
  z.looseObject({ type: z.literal('project'), dotCodexFolder: z.string() }),
  z.looseObject({ type: z.literal('sessionFlags') }),
  // the managed kinds (packagedDefaults, mdm, enterpriseManaged, ...) tether does not produce
  z.looseObject({ type: z.string() }),
]);
export type ConfigLayerSource = z.infer<typeof ConfigLayerSource>;

export const ConfigLayerMetadata = z.looseObject({
  name: ConfigLayerSource,
  version: z.string(),
});
export type ConfigLayerMetadata = z.infer<typeof ConfigLayerMetadata>;

export const ConfigLayer = z.looseObject({
  name: ConfigLayerSource,
  version: z.string(),
  config: z.unknown(),
  disabledReason: z.string().nullish(),
});
export type ConfigLayer = z.infer<typeof ConfigLayer>;

export const ConfigReadParams = z
  .looseObject({ includeLayers: z.boolean().nullish(), cwd: z.string().nullish() })
  .nullish();
export type ConfigReadParams = z.infer<typeof ConfigReadParams>;
export const ConfigReadResponse = z.looseObject({
  config: JsonObject,
  origins: z.record(z.string(), ConfigLayerMetadata),
  layers: z.array(ConfigLayer).nullish(),
});
export type ConfigReadResponse = z.infer<typeof ConfigReadResponse>;

export const MergeStrategy = z.enum(['replace', 'upsert']);
export type MergeStrategy = z.infer<typeof MergeStrategy>;

export const ConfigEdit = z.looseObject({
  keyPath: z.string(),
  // any JSON value; `null` removes the key
  value: z.unknown(),
  mergeStrategy: MergeStrategy,
});
export type ConfigEdit = z.infer<typeof ConfigEdit>;

export const ConfigValueWriteParams = z.looseObject({
  keyPath: z.string(),
  value: z.unknown(),
  mergeStrategy: MergeStrategy,
  filePath: z.string().nullish(),
  expectedVersion: z.string().nullish(),
});
export type ConfigValueWriteParams = z.infer<typeof ConfigValueWriteParams>;

export const ConfigBatchWriteParams = z.looseObject({
  edits: z.array(ConfigEdit),
  filePath: z.string().nullish(),
  expectedVersion: z.string().nullish(),
  reloadUserConfig: z.boolean().nullish(),
});
export type ConfigBatchWriteParams = z.infer<typeof ConfigBatchWriteParams>;

export const WriteStatus = z.enum(['ok', 'okOverridden']);
export const OverriddenMetadata = z.looseObject({
  message: z.string(),
  overridingLayer: ConfigLayerMetadata,
  effectiveValue: z.unknown(),
});
export type OverriddenMetadata = z.infer<typeof OverriddenMetadata>;
export const ConfigWriteResponse = z.looseObject({
  status: WriteStatus,
  version: z.string(),
  filePath: z.string(),
  overriddenMetadata: OverriddenMetadata.nullable(),
});
export type ConfigWriteResponse = z.infer<typeof ConfigWriteResponse>;

/** `data.config_write_error_code` of a refused write. */
export const ConfigWriteErrorCode = z.enum([
  'configLayerReadonly',
  'configVersionConflict',
  'configValidationError',
  'configPathNotFound',
  'configSchemaUnknownKey',
  'userLayerNotFound',
]);
export type ConfigWriteErrorCode = z.infer<typeof ConfigWriteErrorCode>;

export const ExperimentalFeatureStage = z.enum([
  'beta',
  'underDevelopment',
  'stable',
  'deprecated',
  'removed',
]);
export type ExperimentalFeatureStage = z.infer<typeof ExperimentalFeatureStage>;
export const ExperimentalFeature = z.looseObject({
  name: z.string(),
  stage: ExperimentalFeatureStage,
  displayName: z.string().nullish(),
  description: z.string().nullish(),
  announcement: z.string().nullish(),
  enabled: z.boolean(),
  defaultEnabled: z.boolean(),
});
export type ExperimentalFeature = z.infer<typeof ExperimentalFeature>;

export const ExperimentalFeatureListParams = z
  .looseObject({
    cursor: z.string().nullish(),
    limit: UnsignedInt.nullish(),
    threadId: z.string().nullish(),
  })
  .nullish();
export type ExperimentalFeatureListParams = z.infer<typeof ExperimentalFeatureListParams>;
export const ExperimentalFeatureListResponse = z.looseObject({
  data: z.array(ExperimentalFeature),
  nextCursor: z.string().nullish(),
});
export type ExperimentalFeatureListResponse = z.infer<typeof ExperimentalFeatureListResponse>;

export const ExperimentalFeatureEnablementSetParams = z.looseObject({
  enablement: z.record(z.string(), z.boolean()),
});
export type ExperimentalFeatureEnablementSetParams = z.infer<
  typeof ExperimentalFeatureEnablementSetParams
>;
export const ExperimentalFeatureEnablementSetResponse = z.looseObject({
  enablement: z.record(z.string(), z.boolean()),
});
export type ExperimentalFeatureEnablementSetResponse = z.infer<
  typeof ExperimentalFeatureEnablementSetResponse
>;
