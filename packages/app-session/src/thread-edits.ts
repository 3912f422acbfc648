import { isAbsolute, resolve } from 'node:path';
import { completePolicy } from '@tether/agent-core';
import type { OutboundRouter } from '@tether/outbound-router';
import { type app, internalError, invalidRequest, RpcError } from '@tether/protocol';
import type { ThreadStateManager } from '@tether/thread-state';
import type { AppendRecord, ThreadStore } from '@tether/thread-store';
import { v7 as uuidv7 } from 'uuid';
import { serverNotification } from './notify.js';
import type { AfterReply } from './reply.js';
import { completeApproval, profilePolicy, withModeInstructions } from './settings.js';
import { storeError, threadErrors } from './thread-errors.js';
import { parseThreadId } from './thread-id.js';
import type { LoadedThread, ThreadManager } from './threads.js';

export interface EditDeps {
  threads: ThreadManager;
  store: ThreadStore;
  router: OutboundRouter;
  state: ThreadStateManager;
}

/** Queue pages without a `limit` (the reference's standard page size). */
export const DEFAULT_QUEUE_PAGE = 25;

/**
 * What clients change about a thread besides its turns: name, metadata, settings for later turns,
 * goal and queued input. Each change is written to the thread's rollout (through its journal when
 * it is loaded) before it is answered.
 */
export class ThreadEdits {
  constructor(private readonly deps: EditDeps) {}

  /** Writes a thread-level record: through the journal of a loaded thread, else to the store. */
  private write(threadId: string, loaded: LoadedThread | undefined, record: AppendRecord): void {
    if (loaded?.journal) {
      loaded.journal.append(record);
      return;
    }
    try {
      this.deps.store.append(threadId, record);
    } catch (error) {
      throw storeError(error, threadId);
    }
  }

  /** A stored thread that is not archived, or the given error. */
  private requireStored(threadId: string, missing: RpcError): app.Thread {
    try {
      const info = this.deps.store.describeThread(threadId);
      if (!info || info.archived) throw missing;
      return info.thread;
    } catch (error) {
      throw storeError(error, threadId);
    }
  }

  // ---- thread/name/set ---------------------------------------------------------------------

  async setName(params: app.ThreadSetNameParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId);
    const name = params.name.trim();
    if (name === '') throw new RpcError(invalidRequest('thread name must not be empty'));
    const loaded = this.deps.threads.get(threadId);
    if (loaded?.ephemeral) {
      throw new RpcError(
        invalidRequest(`ephemeral thread does not support metadata updates: ${threadId}`),
      );
    }
    this.requireStored(threadId, threadErrors.noRollout(threadId));
    this.write(threadId, loaded, { type: 'thread_name', name });
    if (loaded) loaded.thread = { ...loaded.thread, name };
    reply.afterReply(() =>
      this.deps.router.broadcast(
        serverNotification('thread/name/updated', { threadId, threadName: name }),
      ),
    );
    return {};
  }

  // ---- thread/metadata/update --------------------------------------------------------------

  metadataUpdate(params: app.ThreadMetadataUpdateParams) {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.deps.threads.get(threadId);
    if (loaded?.ephemeral) {
      if (params.projectId != null) {
        throw new RpcError(
          internalError(
            `failed to read thread metadata: invalid thread-store request: no rollout found for thread id ${threadId}`,
          ),
        );
      }
      throw new RpcError(
        invalidRequest(`ephemeral thread does not support metadata updates: ${threadId}`),
      );
    }
    let stored: { thread: app.Thread } | undefined;
    try {
      stored = this.deps.store.describeThread(threadId);
    } catch (error) {
      throw storeError(error, threadId);
    }
    if (!stored) {
      // the reference looks for the rollout when git details change, for the thread otherwise
      throw params.gitInfo != null
        ? threadErrors.noRollout(threadId)
        : threadErrors.notFound(threadId);
    }
    if (params.projectId == null && params.gitInfo == null && params.daybreakEnabled == null) {
      throw new RpcError(invalidRequest('thread metadata update must include at least one field'));
    }
    const record: AppendRecord & { type: 'thread_metadata' } = { type: 'thread_metadata' };
    if (params.gitInfo != null) {
      record.gitInfo = patchGitInfo(stored.thread.gitInfo, params.gitInfo);
    }
    if (params.projectId != null) {
      if (params.projectId !== '') {
        throw new RpcError(invalidRequest(`project not found: ${params.projectId}`));
      }
      record.projectId = null;
    }
    if (params.daybreakEnabled != null) record.daybreakEnabled = params.daybreakEnabled;
    this.write(threadId, loaded, record);
    const change = {
      ...(record.gitInfo !== undefined ? { gitInfo: record.gitInfo } : {}),
      ...(record.projectId !== undefined ? { projectId: record.projectId } : {}),
      ...(record.daybreakEnabled !== undefined ? { daybreakEnabled: record.daybreakEnabled } : {}),
    };
    if (loaded) {
      loaded.thread = { ...loaded.thread, ...change };
      return {
        thread: { ...this.deps.threads.views.view(loaded, []), canAcceptDirectInput: null },
      };
    }
    return { thread: { ...stored.thread, ...change } };
  }

  // ---- thread/settings/update --------------------------------------------------------------

  /**
   * Changes what later turns run with. The change is persisted at once; subscribers hear
   * `thread/settings/updated` after the answer, and only when something actually changed.
   */
  settingsUpdate(params: app.ThreadSettingsUpdateParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.deps.threads.get(threadId);
    if (!loaded) throw threadErrors.notFound(threadId);
    for (const environment of params.environments ?? []) {
      const id = environment.environmentId;
      if (id !== 'local') {
        throw new RpcError(invalidRequest(`unknown turn environment id \`${String(id)}\``));
      }
    }
    if (params.sandboxPolicy != null && params.permissions != null) {
      throw new RpcError(invalidRequest('`permissions` cannot be combined with `sandboxPolicy`'));
    }
    let sandbox = {
      sandbox: loaded.settings.sandbox,
      activePermissionProfile: loaded.settings.activePermissionProfile,
    };
    if (params.permissions != null) {
      sandbox = profilePolicy(params.permissions);
    } else if (params.sandboxPolicy != null) {
      sandbox = { sandbox: completePolicy(params.sandboxPolicy), activePermissionProfile: null };
    }
    const before = JSON.stringify(this.deps.threads.views.settingsView(loaded));
    const cwd =
      params.cwd != null
        ? isAbsolute(params.cwd)
          ? params.cwd
          : resolve(process.cwd(), params.cwd)
        : loaded.settings.cwd;
    // as on turn/start: a mode's model and effort win over `model` and `effort` (its null effort
    // clears the thread's), and its instructions are the mode's, not the thread's developer ones
    const mode = params.collaborationMode ? withModeInstructions(params.collaborationMode) : null;
    loaded.settings = {
      ...loaded.settings,
      cwd,
      ...sandbox,
      approvalPolicy:
        params.approvalPolicy != null
          ? completeApproval(params.approvalPolicy)
          : loaded.settings.approvalPolicy,
      model: mode?.settings.model ?? params.model ?? loaded.settings.model,
      // a null `effort` keeps the thread's, as the reference keeps it
      reasoningEffort: mode
        ? (mode.settings.reasoning_effort ?? null)
        : (params.effort ?? loaded.settings.reasoningEffort),
      reasoningSummary: params.summary ?? loaded.settings.reasoningSummary,
      serviceTier:
        params.serviceTier === undefined ? loaded.settings.serviceTier : params.serviceTier,
      collaborationMode: mode ?? loaded.settings.collaborationMode ?? null,
    };
    loaded.extras = {
      approvalsReviewer: params.approvalsReviewer ?? loaded.extras.approvalsReviewer,
      collaborationMode: mode ?? loaded.extras.collaborationMode,
      personality: params.personality ?? loaded.extras.personality,
      disabledPluginIds: params.disabledPluginIds ?? loaded.extras.disabledPluginIds,
    };
    const view = this.deps.threads.views.settingsView(loaded);
    if (JSON.stringify(view) === before) return {};
    this.deps.threads.persistSettings(loaded);
    reply.afterReply(() =>
      this.deps.router.toConnections(
        this.deps.state.subscribers(threadId),
        serverNotification('thread/settings/updated', { threadId, threadSettings: view }),
      ),
    );
    return {};
  }

  // ---- thread/goal/* -----------------------------------------------------------------------

  private goalThread(params: { threadId: string }): {
    threadId: string;
    loaded: LoadedThread | undefined;
  } {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.deps.threads.get(threadId);
    if (loaded?.ephemeral) {
      throw new RpcError(invalidRequest(`ephemeral thread does not support goals: ${threadId}`));
    }
    this.requireStored(threadId, threadErrors.notFound(threadId));
    return { threadId, loaded };
  }

  private currentGoal(threadId: string, loaded: LoadedThread | undefined): app.ThreadGoal | null {
    if (loaded) return loaded.goal;
    return this.deps.threads.storedGoal(threadId);
  }

  goalGet(params: app.ThreadGoalGetParams) {
    const { threadId, loaded } = this.goalThread(params);
    return { goal: this.currentGoal(threadId, loaded) };
  }

  goalSet(params: app.ThreadGoalSetParams, reply: AfterReply) {
    const { threadId, loaded } = this.goalThread(params);
    const objective = params.objective?.trim();
    if (objective === '') throw new RpcError(invalidRequest('goal objective must not be empty'));
    if (params.tokenBudget != null && params.tokenBudget <= 0) {
      throw new RpcError(invalidRequest('goal budgets must be positive when provided'));
    }
    const current = this.currentGoal(threadId, loaded);
    const now = Math.floor(Date.now() / 1000);
    let goal: app.ThreadGoal;
    if (current) {
      goal = {
        ...current,
        objective: objective ?? current.objective,
        status: params.status ?? current.status,
        tokenBudget: params.tokenBudget === undefined ? current.tokenBudget : params.tokenBudget,
        updatedAt: now,
      };
    } else {
      if (objective === undefined) {
        throw new RpcError(
          invalidRequest(`cannot update goal for thread ${threadId}: no goal exists`),
        );
      }
      goal = {
        threadId,
        objective,
        status: params.status ?? 'active',
        tokenBudget: params.tokenBudget ?? null,
        tokensUsed: 0,
        timeUsedSeconds: 0,
        createdAt: now,
        updatedAt: now,
      };
    }
    this.write(threadId, loaded, { type: 'thread_goal', goal });
    if (loaded) loaded.goal = goal;
    reply.afterReply(() =>
      this.deps.router.broadcast(
        serverNotification('thread/goal/updated', { threadId, turnId: null, goal }),
      ),
    );
    return { goal };
  }

  goalClear(params: app.ThreadGoalClearParams, reply: AfterReply) {
    const { threadId, loaded } = this.goalThread(params);
    if (!this.currentGoal(threadId, loaded)) return { cleared: false };
    this.write(threadId, loaded, { type: 'thread_goal', goal: null });
    if (loaded) loaded.goal = null;
    reply.afterReply(() =>
      this.deps.router.broadcast(serverNotification('thread/goal/cleared', { threadId })),
    );
    return { cleared: true };
  }

  // ---- thread/queue/* ----------------------------------------------------------------------

  /** The thread a queue method names, with its queue (a loaded thread's, or the stored one). */
  private queueThread(params: { threadId: string }): {
    threadId: string;
    loaded: LoadedThread | undefined;
    queue: app.QueuedSubmission[];
  } {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.deps.threads.get(threadId);
    if (loaded?.ephemeral) {
      throw new RpcError(
        invalidRequest(`ephemeral thread does not support queued submissions: ${threadId}`),
      );
    }
    let info: { archived: boolean } | undefined;
    try {
      info = this.deps.store.describeThread(threadId);
    } catch (error) {
      throw storeError(error, threadId);
    }
    if (!info) {
      throw new RpcError(
        internalError(
          `failed to read thread: invalid thread-store request: no rollout found for thread id ${threadId}`,
        ),
      );
    }
    if (info.archived) {
      throw new RpcError(
        invalidRequest(
          `session ${threadId} is archived. Run \`codex unarchive ${threadId}\` to unarchive it first.`,
        ),
      );
    }
    const queue = loaded ? loaded.queue : this.deps.threads.storedQueue(threadId);
    return { threadId, loaded, queue };
  }

  private saveQueue(
    threadId: string,
    loaded: LoadedThread | undefined,
    queue: app.QueuedSubmission[],
  ): void {
    this.write(threadId, loaded, { type: 'thread_queue', queue });
    if (loaded) {
      loaded.queue = queue;
      loaded.queueUsed = true;
    }
  }

  private queueChanged(threadId: string): Promise<void> {
    return this.deps.router.toConnections(
      this.deps.state.subscribers(threadId),
      serverNotification('thread/queue/changed', { threadId }),
    );
  }

  async queueAdd(params: app.ThreadQueueAddParams) {
    const { threadId, loaded, queue } = this.queueThread(params);
    if (params.input.length === 0) {
      throw new RpcError(invalidRequest('only user input can be added to the user-message queue'));
    }
    const queuedSubmission: app.QueuedSubmission = {
      id: uuidv7(),
      input: withTextElements(params.input),
      clientUserMessageId: params.clientUserMessageId,
      responsesapiClientMetadata: nonEmpty(params.responsesapiClientMetadata) ?? null,
    };
    this.saveQueue(threadId, loaded, [...queue, queuedSubmission]);
    await this.queueChanged(threadId);
    // an idle thread takes the next submission at once (before the answer, as on the reference)
    if (loaded) await this.deps.threads.drainQueue(loaded);
    return { queuedSubmission };
  }

  queueList(params: app.ThreadQueueListParams) {
    const { queue } = this.queueThread(params);
    let start = 0;
    if (params.cursor != null) {
      if (!/^\d+$/.test(params.cursor)) {
        throw new RpcError(
          invalidRequest('invalid queue pagination cursor: invalid digit found in string'),
        );
      }
      start = Number(params.cursor);
    }
    const limit = Math.max(1, params.limit ?? DEFAULT_QUEUE_PAGE);
    const data = queue.slice(start, start + limit);
    return {
      data,
      nextCursor: start + limit < queue.length ? String(start + limit) : null,
    };
  }

  queueUpdate(params: app.ThreadQueueUpdateParams, reply: AfterReply) {
    const { threadId, loaded, queue } = this.queueThread(params);
    if (params.input.length === 0) {
      throw new RpcError(invalidRequest('only user input can be added to the user-message queue'));
    }
    const at = queue.findIndex((entry) => entry.id === params.queuedSubmissionId);
    const current = queue[at];
    if (!current) {
      throw new RpcError(
        invalidRequest(`queued submission not found: ${params.queuedSubmissionId}`),
      );
    }
    const queuedSubmission: app.QueuedSubmission = {
      ...current,
      input: withTextElements(params.input),
      responsesapiClientMetadata:
        nonEmpty(params.responsesapiClientMetadata) ?? current.responsesapiClientMetadata,
    };
    const next = [...queue];
    next[at] = queuedSubmission;
    this.saveQueue(threadId, loaded, next);
    reply.afterReply(() => this.queueChanged(threadId));
    return { queuedSubmission };
  }

  queueDelete(params: app.ThreadQueueDeleteParams, reply: AfterReply) {
    const { threadId, loaded, queue } = this.queueThread(params);
    const next = queue.filter((entry) => entry.id !== params.queuedSubmissionId);
    if (next.length === queue.length) return { deleted: false };
    this.saveQueue(threadId, loaded, next);
    reply.afterReply(() => this.queueChanged(threadId));
    return { deleted: true };
  }

  queueReorder(params: app.ThreadQueueReorderParams, reply: AfterReply) {
    const { threadId, loaded, queue } = this.queueThread(params);
    const byId = new Map(queue.map((entry) => [entry.id, entry]));
    const ids = params.queuedSubmissionIds;
    const next = ids.map((id) => byId.get(id));
    if (
      ids.length !== queue.length ||
      new Set(ids).size !== ids.length ||
      next.some((entry) => entry === undefined) ||
      queue.length === 0
    ) {
      throw new RpcError(
        invalidRequest('queue reorder must include every queued submission exactly once'),
      );
    }
    this.saveQueue(
      threadId,
      loaded,
      next.filter((entry): entry is app.QueuedSubmission => entry !== undefined),
    );
    reply.afterReply(() => this.queueChanged(threadId));
    return {};
  }

  async queueStart(params: app.ThreadQueueStartParams, reply: AfterReply) {
    const { threadId, loaded, queue } = this.queueThread(params);
    if (!loaded) {
      throw new RpcError(invalidRequest('resume the thread before starting a queued message'));
    }
    if (this.deps.threads.busy(loaded)) {
      throw new RpcError(invalidRequest('thread already has an active or pending turn'));
    }
    if (queue.length === 0) throw new RpcError(invalidRequest('queue is empty'));
    const id = params.queuedSubmissionId ?? queue[0]?.id;
    const submission = queue.find((entry) => entry.id === id);
    if (!submission) {
      throw new RpcError(invalidRequest(`queued submission not found: ${String(id)}`));
    }
    const turn = await this.deps.threads.startQueued(loaded, submission);
    reply.afterReply(() => this.queueChanged(threadId));
    return { turn };
  }
}

/** Applies a `gitInfo` patch: omitted keeps, null clears, a string replaces. */
function patchGitInfo(
  current: app.GitInfo | null,
  patch: app.ThreadMetadataGitInfoUpdateParams,
): app.GitInfo | null {
  const fields = ['sha', 'branch', 'originUrl'] as const;
  if (!fields.some((field) => patch[field] !== undefined)) {
    throw new RpcError(invalidRequest('gitInfo must include at least one field'));
  }
  const next: { sha: string | null; branch: string | null; originUrl: string | null } = {
    sha: current?.sha ?? null,
    branch: current?.branch ?? null,
    originUrl: current?.originUrl ?? null,
  };
  for (const field of fields) {
    const value = patch[field];
    if (value === undefined) continue;
    if (value !== null && value.trim() === '') {
      throw new RpcError(invalidRequest(`gitInfo.${field} must not be empty`));
    }
    next[field] = value;
  }
  return next.sha === null && next.branch === null && next.originUrl === null ? null : next;
}

/** Text input as the reference echoes it back: with its (possibly empty) `text_elements`. */
function withTextElements(input: readonly app.UserInput[]): app.UserInput[] {
  return input.map((part) =>
    part.type === 'text' ? { ...part, text_elements: part.text_elements ?? [] } : part,
  );
}

function nonEmpty(
  metadata: Record<string, string> | null | undefined,
): Record<string, string> | undefined {
  return metadata && Object.keys(metadata).length > 0 ? metadata : undefined;
}
