import { randomUUID } from 'node:crypto';
import { COLLABORATION_MODE_PRESETS } from '@tether/agent-core';

const cwdsOf = (params: { cwds?: string[] | null | undefined } | null | undefined): string[] =>
  params?.cwds?.length ? params.cwds : [process.cwd()];

/**
 * Answers for the methods a Codex client calls around its threads (skills, hooks, plugins,
 * collaboration modes, GovCloud). tether has no skills, hooks or plugins; the answers say exactly
 * that. (The account and the models have their own modules.)
 */
export class ClientSupport {
  govCloud() {
    return { isGovCloud: false, shouldWarn: false };
  }

  /** The reference's presets: Plan (medium effort) and Default. */
  collaborationModes() {
    return { data: COLLABORATION_MODE_PRESETS.map((preset) => ({ ...preset })) };
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
