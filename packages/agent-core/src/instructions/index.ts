export {
  AGENTS_MD_FILENAMES,
  AGENTS_MD_REMOVED_NOTICE,
  AGENTS_MD_REPLACED_NOTICE,
  type AgentsMdOptions,
  DEFAULT_PROJECT_DOC_MAX_BYTES,
  hostFiles,
  type InstructionFiles,
  type LoadedAgentsMd,
  loadAgentsMd,
  parseAgentsMd,
  renderAgentsMd,
} from './agents-md.js';
export { tetherBaseInstructions } from './base-instructions.js';
export {
  builtInModeInstructions,
  COLLABORATION_MODE_PRESETS,
  type CollaborationModePreset,
  DEFAULT_MODE_INSTRUCTIONS,
  isCollaborationModeText,
  PLAN_MODE_INSTRUCTIONS,
  renderCollaborationMode,
} from './collaboration-mode.js';
export {
  type ContextFacts,
  contextMessages,
  ThreadContext,
  type ThreadContextOptions,
  type ToldContext,
  toldContext,
} from './context.js';
export {
  type EnvironmentState,
  environmentState,
  localDate,
  localTimeZone,
  parseEnvironmentContext,
  renderEnvironmentContext,
  renderFilesystem,
} from './environment-context.js';
export { renderModelSwitch } from './model-switch.js';
export {
  isPermissionsText,
  type PermissionsFacts,
  renderPermissions,
  writableRootsForModel,
} from './permissions.js';
