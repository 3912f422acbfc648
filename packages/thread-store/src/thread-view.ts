/**
 * Wire objects from stored state: `Thread` (status `notLoaded`: the store holds no live state; the
 * app overlays the status of loaded threads) and `Turn` (always `itemsView: "full"`). Key order
 * follows the reference's output.
 */
import type { app } from '@tether/protocol';
import type { StoredTurn, ThreadSummary } from './fold.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

export function toWireTurn(turn: StoredTurn): app.Turn {
  return {
    id: turn.id,
    rootTurnId: turn.rootTurnId,
    items: turn.items,
    itemsView: 'full',
    status: turn.status,
    error: turn.error,
    startedAt: turn.startedAt === null ? null : seconds(turn.startedAt),
    completedAt: turn.completedAt === null ? null : seconds(turn.completedAt),
    durationMs: turn.durationMs === null ? null : Math.round(turn.durationMs),
  };
}

/**
 * The wire `Thread` of a stored thread: `environments` null (a thread that is not loaded runs
 * nowhere; the app fills them in for loaded ones), status `notLoaded`.
 */
export function toWireThread(
  summary: ThreadSummary,
  path: string | null,
  turns: readonly StoredTurn[] = [],
  options: { ephemeral?: boolean } = {},
): app.Thread {
  return {
    id: summary.id,
    environments: null,
    extra: null,
    sessionId: summary.id,
    forkedFromId: summary.forkedFromId,
    attachedToThreadId: null,
    parentThreadId: summary.parentThreadId,
    preview: summary.preview,
    ephemeral: options.ephemeral ?? false,
    section: null,
    sectionEnteredAt: null,
    projectId: summary.projectId,
    historyMode: 'paginated',
    modelProvider: summary.modelProvider,
    model: summary.model,
    reasoningEffort: summary.reasoningEffort,
    createdAt: seconds(summary.createdAt),
    updatedAt: seconds(summary.updatedAt),
    recencyAt: seconds(summary.recencyAt),
    status: { type: 'notLoaded' },
    path,
    cwd: summary.cwd,
    cliVersion: summary.cliVersion,
    originator: summary.originator,
    source: summary.source,
    canAcceptDirectInput: null,
    threadSource: summary.threadSource,
    agentNickname: summary.agentNickname,
    agentRole: summary.agentRole,
    gitInfo: summary.gitInfo,
    name: summary.name,
    daybreakEnabled: summary.daybreakEnabled,
    turns: turns.map(toWireTurn),
  };
}
