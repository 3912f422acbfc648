/**
 * Zod schemas for the core subset of Codex's app-server protocol (codex 0.169.0), plus method
 * tables mapping each method name to its params (and result) schema.
 */
import type { z } from 'zod';
import { method } from '../serve.js';
import * as account from './account.js';
import {
  CommandExecutionRequestApprovalParams,
  CommandExecutionRequestApprovalResponse,
} from './approvals.js';
import {
  CollaborationModeListParams,
  CollaborationModeListResponse,
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
import { ThreadCompactStartParams, ThreadCompactStartResponse } from './compact.js';
import * as config from './config.js';
import {
  FileChangeRequestApprovalParams,
  FileChangeRequestApprovalResponse,
  TurnDiffUpdatedNotification,
} from './file-changes.js';
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
  ReasoningSummaryPartAddedNotification,
  ReasoningSummaryTextDeltaNotification,
  ReasoningTextDeltaNotification,
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
import * as plan from './plan.js';
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

export * from './account.js';
export * from './approvals.js';
export * from './client-support.js';
export * from './common.js';
export * from './compact.js';
export * from './config.js';
export * from './file-changes.js';
export * from './history.js';
export * from './initialize.js';
export * from './items.js';
export * from './notifications.js';
export * from './plan.js';
export * from './reference-methods.js';
export * from './thread.js';
export * from './threads.js';
export * from './turns.js';

/** Client → server requests: params and result schema per method. */
export const clientRequests = {
  initialize: method(InitializeParams, InitializeResponse),
  'thread/start': method(ThreadStartParams, ThreadStartResponse),
  'thread/resume': method(ThreadResumeParams, ThreadResumeResponse),
  'thread/fork': method(ThreadForkParams, ThreadForkResponse),
  'thread/list': method(ThreadListParams, ThreadListResponse),
  'thread/loaded/list': method(ThreadLoadedListParams, ThreadLoadedListResponse),
  'thread/read': method(ThreadReadParams, ThreadReadResponse),
  'thread/unsubscribe': method(ThreadUnsubscribeParams, ThreadUnsubscribeResponse),
  'thread/archive': method(ThreadArchiveParams, ThreadArchiveResponse),
  'thread/unarchive': method(ThreadUnarchiveParams, ThreadUnarchiveResponse),
  'thread/name/set': method(ThreadSetNameParams, ThreadSetNameResponse),
  'turn/start': method(TurnStartParams, TurnStartResponse),
  'turn/steer': method(TurnSteerParams, TurnSteerResponse),
  'turn/interrupt': method(TurnInterruptParams, TurnInterruptResponse),
  'command/exec': method(CommandExecParams, CommandExecResponse),
  'thread/turns/list': method(history.ThreadTurnsListParams, history.ThreadTurnsListResponse),
  'thread/items/list': method(history.ThreadItemsListParams, history.ThreadItemsListResponse),
  'thread/items/read': method(history.ThreadItemsReadParams, history.ThreadItemsReadResponse),
  'thread/readState/update': method(
    history.ThreadReadStateUpdateParams,
    history.ThreadReadStateUpdateResponse,
  ),
  'thread/delete': method(history.ThreadDeleteParams, history.ThreadDeleteResponse),
  'thread/revert': method(history.ThreadRevertParams, history.ThreadRevertResponse),
  'thread/metadata/update': method(
    history.ThreadMetadataUpdateParams,
    history.ThreadMetadataUpdateResponse,
  ),
  'thread/settings/update': method(
    history.ThreadSettingsUpdateParams,
    history.ThreadSettingsUpdateResponse,
  ),
  'thread/inject_items': method(history.ThreadInjectItemsParams, history.ThreadInjectItemsResponse),
  'thread/compact/start': method(ThreadCompactStartParams, ThreadCompactStartResponse),
  'thread/search': method(history.ThreadSearchParams, history.ThreadSearchResponse),
  'thread/searchOccurrences': method(
    history.ThreadSearchOccurrencesParams,
    history.ThreadSearchOccurrencesResponse,
  ),
  'thread/goal/set': method(history.ThreadGoalSetParams, history.ThreadGoalSetResponse),
  'thread/goal/get': method(history.ThreadGoalGetParams, history.ThreadGoalGetResponse),
  'thread/goal/clear': method(history.ThreadGoalClearParams, history.ThreadGoalClearResponse),
  'thread/queue/add': method(history.ThreadQueueAddParams, history.ThreadQueueAddResponse),
  'thread/queue/list': method(history.ThreadQueueListParams, history.ThreadQueueListResponse),
  'thread/queue/update': method(history.ThreadQueueUpdateParams, history.ThreadQueueUpdateResponse),
  'thread/queue/delete': method(history.ThreadQueueDeleteParams, history.ThreadQueueDeleteResponse),
  'thread/queue/reorder': method(
    history.ThreadQueueReorderParams,
    history.ThreadQueueReorderResponse,
  ),
  'thread/queue/start': method(history.ThreadQueueStartParams, history.ThreadQueueStartResponse),
  'account/read': method(GetAccountParams, GetAccountResponse),
  'account/bedrock/checkGovCloudRequirements': method(
    GovCloudRequirementsParams,
    GovCloudRequirementsResponse,
  ),
  'model/list': method(ModelListParams, ModelListResponse),
  'modelProvider/list': method(account.ModelProviderListParams, account.ModelProviderListResponse),
  'modelProvider/capabilities/read': method(
    account.ModelProviderCapabilitiesReadParams,
    account.ModelProviderCapabilitiesReadResponse,
  ),
  'account/login/start': method(account.LoginAccountParams, account.LoginAccountResponse),
  'account/logout': method(account.LogoutAccountParams, account.LogoutAccountResponse),
  'account/rateLimits/read': method(
    account.GetAccountRateLimitsParams,
    account.GetAccountRateLimitsResponse,
  ),
  'config/read': method(config.ConfigReadParams, config.ConfigReadResponse),
  'config/value/write': method(config.ConfigValueWriteParams, config.ConfigWriteResponse),
  'config/batchWrite': method(config.ConfigBatchWriteParams, config.ConfigWriteResponse),
  'experimentalFeature/list': method(
    config.ExperimentalFeatureListParams,
    config.ExperimentalFeatureListResponse,
  ),
  'experimentalFeature/enablement/set': method(
    config.ExperimentalFeatureEnablementSetParams,
    config.ExperimentalFeatureEnablementSetResponse,
  ),
  'configRequirements/read': method(ConfigRequirementsReadParams, ConfigRequirementsReadResponse),
  'collaborationMode/list': method(CollaborationModeListParams, CollaborationModeListResponse),
  'permissionProfile/list': method(PermissionProfileListParams, PermissionProfileListResponse),
  'hooks/list': method(HooksListParams, HooksListResponse),
  'skills/list': method(SkillsListParams, SkillsListResponse),
  'plugin/installed': method(PluginInstalledParams, PluginInstalledResponse),
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
  'turn/diff/updated': TurnDiffUpdatedNotification,
  'item/started': ItemStartedNotification,
  'item/completed': ItemCompletedNotification,
  'item/agentMessage/delta': AgentMessageDeltaNotification,
  'item/commandExecution/outputDelta': CommandExecutionOutputDeltaNotification,
  'item/reasoning/summaryTextDelta': ReasoningSummaryTextDeltaNotification,
  'item/reasoning/summaryPartAdded': ReasoningSummaryPartAddedNotification,
  'item/reasoning/textDelta': ReasoningTextDeltaNotification,
  'serverRequest/resolved': ServerRequestResolvedNotification,
  'turn/plan/updated': plan.TurnPlanUpdatedNotification,
  'item/plan/delta': plan.PlanDeltaNotification,
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
  'account/login/completed': account.AccountLoginCompletedNotification,
  'account/updated': account.AccountUpdatedNotification,
  'account/rateLimits/updated': account.AccountRateLimitsUpdatedNotification,
  'remoteControl/status/changed': account.RemoteControlStatusChangedNotification,
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
  'item/fileChange/requestApproval': {
    params: FileChangeRequestApprovalParams,
    result: FileChangeRequestApprovalResponse,
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
