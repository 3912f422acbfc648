import type { app } from '@tether/protocol';
import { encodeHistoryCursor, type ThreadStore } from '@tether/thread-store';
import { runtimeWorkspaceRoots } from './settings.js';
import type { LoadedThread } from './threads.js';

/**
 * How loaded threads read to clients: their turns (the stored ones with the running one from
 * memory), the thread as a client sees it, its settings and paging cursors. Queries only: nothing
 * here changes a thread.
 */
export class ThreadViews {
  constructor(private readonly store: ThreadStore) {}

  /** Every turn of a loaded thread (stored ones, with the running one from memory last). */
  fullTurns(loaded: LoadedThread): app.Turn[] {
    if (loaded.ephemeral) {
      const active = loaded.listener.activeTurn();
      return active ? [{ ...active, itemsView: 'full' }] : [];
    }
    const live = loaded.listener.liveTurnId();
    const stored = this.store.readThread(loaded.id, { includeTurns: true, liveTurnId: live });
    return this.overlayActive(loaded, stored.thread.turns);
  }

  /** Replaces the stored copy of the running turn with the listener's (or adds it). */
  overlayActive(loaded: LoadedThread, turns: app.Turn[]): app.Turn[] {
    const active = loaded.listener.activeTurn();
    if (!active) return turns;
    const others = turns.filter((turn) => turn.id !== active.id);
    return [...others, { ...active, itemsView: 'full' }];
  }

  initialTurnsPage(
    loaded: LoadedThread,
    page: NonNullable<app.ThreadResumeParams['initialTurnsPage']>,
  ): app.TurnsPage {
    const direction = page.sortDirection ?? 'desc';
    const result = this.store.turnsPage(loaded.id, {
      direction,
      anchor: null,
      limit: Math.max(1, page.limit ?? 25),
      itemsView: page.itemsView ?? 'summary',
      liveTurnId: loaded.listener.liveTurnId(),
    });
    const first = result.rows[0];
    const last = result.rows[result.rows.length - 1];
    return {
      data: result.data,
      nextCursor:
        result.more && last
          ? encodeHistoryCursor(loaded.id, 'turns', { ordinal: last.ordinal, includeAnchor: false })
          : null,
      backwardsCursor: first
        ? encodeHistoryCursor(loaded.id, 'turns', { ordinal: first.ordinal, includeAnchor: true })
        : null,
    };
  }

  /** Cursors at the newest turn and item (inclusive), for paging a resumed thread backwards. */
  backwardsCursors(loaded: { id: string; ephemeral?: boolean }): {
    turnsBackwardsCursor: string | null;
    itemsBackwardsCursor: string | null;
  } {
    if (loaded.ephemeral) return { turnsBackwardsCursor: null, itemsBackwardsCursor: null };
    const store = this.store;
    const turn = store.turnsPage(loaded.id, {
      direction: 'desc',
      anchor: null,
      limit: 1,
      itemsView: 'notLoaded',
    }).rows[0];
    const item = store.itemsPage(loaded.id, { direction: 'desc', anchor: null, limit: 1 }).rows[0];
    return {
      turnsBackwardsCursor: turn
        ? encodeHistoryCursor(loaded.id, 'turns', { ordinal: turn.ordinal, includeAnchor: true })
        : null,
      itemsBackwardsCursor: item
        ? encodeHistoryCursor(loaded.id, 'itemsByCreatedAtOrdinal', {
            ordinal: item.ordinal,
            includeAnchor: true,
          })
        : null,
    };
  }

  /** A loaded thread as clients see it: live status, its environment, direct input accepted. */
  view(loaded: LoadedThread, turns: app.Turn[]): app.Thread {
    const cwd = loaded.settings.cwd;
    return {
      ...loaded.thread,
      environments: [{ environmentId: 'local', cwd, runtimeWorkspaceRoots: [cwd] }],
      status: loaded.status,
      canAcceptDirectInput: true,
      turns,
    };
  }

  /** The settings later turns run with, as `thread/settings/updated` reports them. */
  /**
   * The thread's collaboration mode: the one set (or the default mode), with the model and effort
   * the thread runs with now, as the reference reports it after a later turn changes them.
   */
  collaborationMode(loaded: LoadedThread): app.CollaborationMode {
    const s = loaded.settings;
    const set = loaded.extras.collaborationMode;
    return {
      mode: set?.mode ?? 'default',
      settings: {
        model: s.model ?? '',
        reasoning_effort: s.reasoningEffort,
        developer_instructions: set?.settings.developer_instructions ?? null,
      },
    };
  }

  settingsView(loaded: LoadedThread): app.ThreadSettings {
    const s = loaded.settings;
    const x = loaded.extras;
    return {
      disabledPluginIds: x.disabledPluginIds,
      cwd: s.cwd,
      environments: [
        { environmentId: 'local', cwd: s.cwd, runtimeWorkspaceRoots: runtimeWorkspaceRoots(s) },
      ],
      approvalPolicy: s.approvalPolicy,
      approvalsReviewer: x.approvalsReviewer,
      sandboxPolicy: s.sandbox,
      activePermissionProfile: s.activePermissionProfile,
      model: s.model,
      modelProvider: s.modelProvider,
      serviceTier: s.serviceTier,
      effort: s.reasoningEffort,
      summary: s.reasoningSummary,
      collaborationMode: this.collaborationMode(loaded),
      multiAgentMode: 'explicitRequestOnly',
      personality: x.personality,
    };
  }
}
