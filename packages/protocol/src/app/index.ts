/**
 * Zod schemas for the core subset of Codex's app-server protocol (codex 0.169.0), plus method
 * tables mapping each method name to its params (and result) schema.
 */
import type { z } from 'zod';
import {
  CommandExecutionRequestApprovalParams,
  CommandExecutionRequestApprovalResponse,
} from './approvals.js';
import {
  CollaborationModeListParams,
  CollaborationModeListResponse,
  ConfigReadParams,
  ConfigReadResponse,
  ConfigRequirementsReadParams,
  ConfigRequirementsReadResponse,
  GetAccountParams,
  GetAccountResponse,
  GovCloudRequirementsParams,
  GovCloudRequirementsResponse,
  HooksListParams,
  HooksListResponse,
  ModelListParams,
  ModelListResponse,
  PermissionProfileListParams,
  PermissionProfileListResponse,
  PluginInstalledParams,
  PluginInstalledResponse,
  SkillsListParams,
  SkillsListResponse,
} from './client-support.js';
import * as history from './history.js';
import { InitializedNotification, InitializeParams, InitializeResponse } from './initialize.js';
import {
  AgentMessageDeltaNotification,
  CommandExecutionOutputDeltaNotification,
  ConfigWarningNotification,
  DeprecationNoticeNotification,
  ErrorNotification,
  ItemCompletedNotification,
  ItemStartedNotification,
  ServerRequestResolvedNotification,
  ThreadArchivedNotification,
  ThreadClosedNotification,
  ThreadNameUpdatedNotification,
  ThreadStartedNotification,
  ThreadStatusChangedNotification,
  ThreadTokenUsageUpdatedNotification,
  ThreadUnarchivedNotification,
  TurnCompletedNotification,
  TurnStartedNotification,
  WarningNotification,
} from './notifications.js';
import {
  ThreadArchiveParams,
  ThreadArchiveResponse,
  ThreadForkParams,
  ThreadForkResponse,
  ThreadListParams,
  ThreadListResponse,
  ThreadLoadedListParams,
  ThreadLoadedListResponse,
  ThreadReadParams,
  ThreadReadResponse,
  ThreadResumeParams,
  ThreadResumeResponse,
  ThreadSetNameParams,
  ThreadSetNameResponse,
  ThreadStartParams,
  ThreadStartResponse,
  ThreadUnarchiveParams,
  ThreadUnarchiveResponse,
  ThreadUnsubscribeParams,
  ThreadUnsubscribeResponse,
} from './threads.js';
import {
  CommandExecParams,
  CommandExecResponse,
  TurnInterruptParams,
  TurnInterruptResponse,
  TurnStartParams,
  TurnStartResponse,
  TurnSteerParams,
  TurnSteerResponse,
} from './turns.js';

export * from './approvals.js';
export * from './client-support.js';
export * from './common.js';
export * from './history.js';
export * from './initialize.js';
export * from './items.js';
export * from './notifications.js';
export * from './reference-methods.js';
export * from './thread.js';
export * from './threads.js';
export * from './turns.js';

/** Client → server requests: params and result schema per method. */
export const clientRequests = {
  initialize: { params: InitializeParams, result: InitializeResponse },
  'thread/start': { params: ThreadStartParams, result: ThreadStartResponse },
  'thread/resume': { params: ThreadResumeParams, result: ThreadResumeResponse },
  'thread/fork': { params: ThreadForkParams, result: ThreadForkResponse },
  'thread/list': { params: ThreadListParams, result: ThreadListResponse },
  'thread/loaded/list': { params: ThreadLoadedListParams, result: ThreadLoadedListResponse },
  'thread/read': { params: ThreadReadParams, result: ThreadReadResponse },
  'thread/unsubscribe': { params: ThreadUnsubscribeParams, result: ThreadUnsubscribeResponse },
  'thread/archive': { params: ThreadArchiveParams, result: ThreadArchiveResponse },
  'thread/unarchive': { params: ThreadUnarchiveParams, result: ThreadUnarchiveResponse },
  'thread/name/set': { params: ThreadSetNameParams, result: ThreadSetNameResponse },
  'turn/start': { params: TurnStartParams, result: TurnStartResponse },
  'turn/steer': { params: TurnSteerParams, result: TurnSteerResponse },
  'turn/interrupt': { params: TurnInterruptParams, result: TurnInterruptResponse },
  'command/exec': { params: CommandExecParams, result: CommandExecResponse },
  'thread/turns/list': {
    params: history.ThreadTurnsListParams,
    result: history.ThreadTurnsListResponse,
  },
  'thread/items/list': {
    params: history.ThreadItemsListParams,
    result: history.ThreadItemsListResponse,
  },
  'thread/items/read': {
    params: history.ThreadItemsReadParams,
    result: history.ThreadItemsReadResponse,
  },
  'thread/readState/update': {
    params: history.ThreadReadStateUpdateParams,
    result: history.ThreadReadStateUpdateResponse,
  },
  'thread/delete': { params: history.ThreadDeleteParams, result: history.ThreadDeleteResponse },
  'thread/revert': { params: history.ThreadRevertParams, result: history.ThreadRevertResponse },
  'thread/metadata/update': {
    params: history.ThreadMetadataUpdateParams,
    result: history.ThreadMetadataUpdateResponse,
  },
  'thread/settings/update': {
    params: history.ThreadSettingsUpdateParams,
    result: history.ThreadSettingsUpdateResponse,
  },
  'thread/inject_items': {
    params: history.ThreadInjectItemsParams,
    result: history.ThreadInjectItemsResponse,
  },
  'thread/search': { params: history.ThreadSearchParams, result: history.ThreadSearchResponse },
  'thread/searchOccurrences': {
    params: history.ThreadSearchOccurrencesParams,
    result: history.ThreadSearchOccurrencesResponse,
  },
  'thread/goal/set': { params: history.ThreadGoalSetParams, result: history.ThreadGoalSetResponse },
  'thread/goal/get': { params: history.ThreadGoalGetParams, result: history.ThreadGoalGetResponse },
  'thread/goal/clear': {
    params: history.ThreadGoalClearParams,
    result: history.ThreadGoalClearResponse,
  },
  'thread/queue/add': {
    params: history.ThreadQueueAddParams,
    result: history.ThreadQueueAddResponse,
  },
  'thread/queue/list': {
    params: history.ThreadQueueListParams,
    result: history.ThreadQueueListResponse,
  },
  'thread/queue/update': {
    params: history.ThreadQueueUpdateParams,
    result: history.ThreadQueueUpdateResponse,
  },
  'thread/queue/delete': {
    params: history.ThreadQueueDeleteParams,
    result: history.ThreadQueueDeleteResponse,
  },
  'thread/queue/reorder': {
    params: history.ThreadQueueReorderParams,
    result: history.ThreadQueueReorderResponse,
  },
  'thread/queue/start': {
    params: history.ThreadQueueStartParams,
    result: history.ThreadQueueStartResponse,
  },
  'account/read': { params: GetAccountParams, result: GetAccountResponse },
  'account/bedrock/checkGovCloudRequirements': {
    params: GovCloudRequirementsParams,
    result: GovCloudRequirementsResponse,
  },
  'model/list': { params: ModelListParams, result: ModelListResponse },
  'config/read': { params: ConfigReadParams, result: ConfigReadResponse },
  'configRequirements/read': {
    params: ConfigRequirementsReadParams,
    result: ConfigRequirementsReadResponse,
  },
  'collaborationMode/list': {
    params: CollaborationModeListParams,
    result: CollaborationModeListResponse,
  },
  'permissionProfile/list': {
    params: PermissionProfileListParams,
    result: PermissionProfileListResponse,
  },
  'hooks/list': { params: HooksListParams, result: HooksListResponse },
  'skills/list': { params: SkillsListParams, result: SkillsListResponse },
  'plugin/installed': { params: PluginInstalledParams, result: PluginInstalledResponse },
} as const;

/** Client → server notifications: params schema per method. */
export const clientNotifications = {
  initialized: InitializedNotification,
} as const;

/** Server → client notifications: params schema per method. */
export const serverNotifications = {
  'thread/started': ThreadStartedNotification,
  'thread/status/changed': ThreadStatusChangedNotification,
  'thread/closed': ThreadClosedNotification,
  'thread/archived': ThreadArchivedNotification,
  'thread/unarchived': ThreadUnarchivedNotification,
  'thread/name/updated': ThreadNameUpdatedNotification,
  'thread/tokenUsage/updated': ThreadTokenUsageUpdatedNotification,
  'turn/started': TurnStartedNotification,
  'turn/completed': TurnCompletedNotification,
  'item/started': ItemStartedNotification,
  'item/completed': ItemCompletedNotification,
  'item/agentMessage/delta': AgentMessageDeltaNotification,
  'item/commandExecution/outputDelta': CommandExecutionOutputDeltaNotification,
  'serverRequest/resolved': ServerRequestResolvedNotification,
  error: ErrorNotification,
  warning: WarningNotification,
  configWarning: ConfigWarningNotification,
  deprecationNotice: DeprecationNoticeNotification,
  'thread/readState/changed': history.ThreadReadStateChangedNotification,
  'thread/deleted': history.ThreadDeletedNotification,
  'thread/reverted': history.ThreadRevertedNotification,
  'thread/settings/updated': history.ThreadSettingsUpdatedNotification,
  'thread/goal/updated': history.ThreadGoalUpdatedNotification,
  'thread/goal/cleared': history.ThreadGoalClearedNotification,
  'thread/queue/changed': history.ThreadQueueChangedNotification,
} as const;

/**
 * Methods the reference serves only to connections that declared the `experimentalApi`
 * capability (the others get `<method> requires experimentalApi capability`).
 */
export const experimentalClientRequests: ReadonlySet<ClientRequestMethod> = new Set([
  'thread/items/read',
  'thread/readState/update',
  'thread/settings/update',
  'thread/search',
  'thread/searchOccurrences',
  'thread/queue/add',
  'thread/queue/list',
  'thread/queue/update',
  'thread/queue/delete',
  'thread/queue/reorder',
  'thread/queue/start',
]);

/**
 * Fields of stable methods that only `experimentalApi` connections may send (the reference answers
 * others `<method>.<field> requires experimentalApi capability`): the fields its experimental
 * schema bundle has and its stable one has not, and `deferOutput`, which it gates as well.
 */
export const experimentalParams: Partial<Record<ClientRequestMethod, readonly string[]>> = {
  'thread/start': [
    'allowProviderModelFallback',
    'daybreakEnabled',
    'dynamicTools',
    'environments',
    'experimentalRawEvents',
    'historyMode',
    'mockExperimentalField',
    'multiAgentMode',
    'permissions',
    'projectId',
    'runtimeWorkspaceRoots',
    'selectedCapabilityRoots',
  ],
  'thread/resume': ['history', 'initialTurnsPage', 'path', 'permissions', 'runtimeWorkspaceRoots'],
  'thread/fork': [
    'attachToSource',
    'beforeTurnId',
    'deferGoalContinuation',
    'experimentalDisablePredictionMcp',
    'experimentalPredictionMode',
    'path',
    'permissions',
    'runtimeWorkspaceRoots',
  ],
  'thread/list': [
    'ancestorThreadId',
    'attachedToThreadId',
    'includeAttachedThreads',
    'parentThreadId',
    'projectId',
  ],
  'thread/items/list': ['deferOutput'],
  'thread/metadata/update': ['daybreakEnabled', 'projectId'],
  'turn/start': [
    'additionalContext',
    'collaborationMode',
    'cyberAccessProgram',
    'environments',
    'multiAgentMode',
    'permissions',
    'responsesapiClientMetadata',
    'responsesapiClientMetadataPatch',
    'runtimeWorkspaceRoots',
  ],
  'turn/steer': [
    'additionalContext',
    'responsesapiClientMetadata',
    'responsesapiClientMetadataPatch',
  ],
  'command/exec': ['permissionProfile'],
};

/** Notifications the reference sends only to connections with the `experimentalApi` capability. */
export const experimentalServerNotifications: ReadonlySet<string> = new Set([
  'thread/settings/updated',
  'thread/queue/changed',
]);

/** Server → client requests: params and result schema per method. */
export const serverRequests = {
  'item/commandExecution/requestApproval': {
    params: CommandExecutionRequestApprovalParams,
    result: CommandExecutionRequestApprovalResponse,
  },
} as const;

export type ClientRequestMethod = keyof typeof clientRequests;
export type ParamsOf<M extends ClientRequestMethod> = z.output<
  (typeof clientRequests)[M]['params']
>;
export type ResultOf<M extends ClientRequestMethod> = z.output<
  (typeof clientRequests)[M]['result']
>;

export type ClientNotificationMethod = keyof typeof clientNotifications;
export type ClientNotificationParamsOf<M extends ClientNotificationMethod> = z.output<
  (typeof clientNotifications)[M]
>;

export type ServerNotificationMethod = keyof typeof serverNotifications;
export type NotificationParamsOf<M extends ServerNotificationMethod> = z.output<
  (typeof serverNotifications)[M]
>;

export type ServerRequestMethod = keyof typeof serverRequests;
export type ServerRequestParamsOf<M extends ServerRequestMethod> = z.output<
  (typeof serverRequests)[M]['params']
>;
export type ServerRequestResultOf<M extends ServerRequestMethod> = z.output<
  (typeof serverRequests)[M]['result']
>;

export function isClientRequestMethod(method: string): method is ClientRequestMethod {
  return Object.hasOwn(clientRequests, method);
}

export function isServerNotificationMethod(method: string): method is ServerNotificationMethod {
  return Object.hasOwn(serverNotifications, method);
}

export function isServerRequestMethod(method: string): method is ServerRequestMethod {
  return Object.hasOwn(serverRequests, method);
}
