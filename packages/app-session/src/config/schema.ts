/**
 * The typed part of `config.toml`: the keys tether reads, checked with zod. Every table is loose, so
 * keys tether does not know are kept as they are (the reference ignores them; a Codex user's file
 * works unchanged). Errors read as the reference's (serde's) do: `invalid type: integer `5`,
 * expected a string`, `unknown variant `x`, expected one of ...`, with the dotted key.
 */
import { z } from 'zod';

/** How serde names a value it did not expect. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'unit value';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (typeof value === 'bigint') return `integer \`${value}\``;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  }
  if (Array.isArray(value)) return 'sequence';
  if (value instanceof Date) return 'date';
  return 'map';
}

const invalidType = (input: unknown, expected: string) =>
  `invalid type: ${describeValue(input)}, expected ${expected}`;

const str = () => z.string({ error: (issue) => invalidType(issue.input, 'a string') });
const bool = () => z.boolean({ error: (issue) => invalidType(issue.input, 'a boolean') });
const u64 = () =>
  z
    .number({ error: (issue) => invalidType(issue.input, 'u64') })
    .int({ error: (issue) => invalidType(issue.input, 'u64') })
    .nonnegative({
      error: (issue) => `invalid value: ${describeValue(issue.input)}, expected u64`,
    });
const i64 = () =>
  z
    .number({ error: (issue) => invalidType(issue.input, 'i64') })
    .int({ error: (issue) => invalidType(issue.input, 'i64') });
const stringMap = () =>
  z.record(z.string(), str(), { error: (issue) => invalidType(issue.input, 'a map') });
const strings = () => z.array(str(), { error: (issue) => invalidType(issue.input, 'a sequence') });

function variants<const T extends readonly [string, ...string[]]>(values: T) {
  const expected = values.map((v) => `\`${v}\``).join(', ');
  return z.enum(values, {
    error: (issue) =>
      typeof issue.input === 'string'
        ? `unknown variant \`${issue.input}\`, expected one of ${expected}`
        : invalidType(issue.input, 'a string'),
  });
}

const table = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.looseObject(shape, { error: (issue) => invalidType(issue.input, 'a map') });

export const SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access'] as const;
export const APPROVAL_POLICIES = ['untrusted', 'on-failure', 'on-request', 'never'] as const;
export const REASONING_SUMMARIES = ['auto', 'concise', 'detailed', 'none'] as const;
export const WIRE_APIS = ['responses', 'chat'] as const;

const ApprovalPolicyToml = z.union(
  [
    variants(APPROVAL_POLICIES),
    table({
      granular: table({
        sandbox_approval: bool().optional(),
        rules: bool().optional(),
        skill_approval: bool().optional(),
        request_permissions: bool().optional(),
        mcp_elicitations: bool().optional(),
      }),
    }),
  ],
  {
    error: (issue) =>
      typeof issue.input === 'string'
        ? `unknown variant \`${issue.input}\`, expected one of ${APPROVAL_POLICIES.map((v) => `\`${v}\``).join(', ')}`
        : invalidType(issue.input, 'a string or a `granular` table'),
  },
);

export const SandboxWorkspaceWriteToml = table({
  writable_roots: strings().optional(),
  network_access: bool().optional(),
  exclude_tmpdir_env_var: bool().optional(),
  exclude_slash_tmp: bool().optional(),
});

/** `[model_providers.<id>]`: where and how a model is reached. */
export const ModelProviderToml = table({
  name: str().optional(),
  base_url: str().optional(),
  env_key: str().optional(),
  env_key_instructions: str().optional(),
  experimental_bearer_token: str().optional(),
  wire_api: variants(WIRE_APIS).optional(),
  query_params: stringMap().optional(),
  http_headers: stringMap().optional(),
  env_http_headers: stringMap().optional(),
  request_max_retries: u64().optional(),
  stream_max_retries: u64().optional(),
  stream_idle_timeout_ms: u64().optional(),
  requires_openai_auth: bool().optional(),
});
export type ModelProviderToml = z.infer<typeof ModelProviderToml>;

/** The keys a profile may set; the same meaning as at the top level. */
const profileShape = {
  model: str().optional(),
  model_provider: str().optional(),
  approval_policy: ApprovalPolicyToml.optional(),
  sandbox_mode: variants(SANDBOX_MODES).optional(),
  model_reasoning_effort: str().optional(),
  model_reasoning_summary: variants(REASONING_SUMMARIES).optional(),
  model_verbosity: variants(['low', 'medium', 'high']).optional(),
  service_tier: str().optional(),
};
export const PROFILE_KEYS = Object.keys(profileShape);
export const ProfileToml = table(profileShape);
export type ProfileToml = z.infer<typeof ProfileToml>;

export const ConfigToml = table({
  ...profileShape,
  profile: str().optional(),
  profiles: z
    .record(z.string(), ProfileToml, { error: (issue) => invalidType(issue.input, 'a map') })
    .optional(),
  model_providers: z
    .record(z.string(), ModelProviderToml, {
      error: (issue) => invalidType(issue.input, 'a map'),
    })
    .optional(),
  model_context_window: i64().optional(),
  model_auto_compact_token_limit: i64().optional(),
  sandbox_workspace_write: SandboxWorkspaceWriteToml.optional(),
  project_doc_max_bytes: u64().optional(),
  instructions: str().optional(),
  developer_instructions: str().optional(),
  openai_base_url: str().optional(),
  /** A JSON file of models (`{"models": [...]}`) that replaces the built-in catalogue. */
  model_catalog_json: str().optional(),
  default_permissions: str().optional(),
  features: z
    .record(z.string(), bool(), { error: (issue) => invalidType(issue.input, 'a map') })
    .optional(),
});
export type ConfigToml = z.infer<typeof ConfigToml>;

/** A failed check: the reference's message and the dotted key it is about. */
export interface ConfigIssue {
  message: string;
  keyPath: string;
}

/** Checks a table as the whole configuration; the first problem, as the reference reports one. */
export function checkConfig(
  value: unknown,
): { ok: true; config: ConfigToml } | ({ ok: false } & ConfigIssue) {
  const parsed = ConfigToml.safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  const issue = parsed.error.issues[0];
  const keyPath = (issue?.path ?? []).map(String).join('.');
  return { ok: false, message: issue?.message ?? 'invalid configuration', keyPath };
}
