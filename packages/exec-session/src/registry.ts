import { randomUUID } from 'node:crypto';
import { type ErrorObject, invalidRequest, sessionAlreadyAttached } from '@tether/protocol';
import type { MessageSink } from './delivery.js';
import { type Attachment, Session, type SessionOptions } from './session.js';

/** Default time a detached session waits for a resume before its processes are killed (60 s). */
export const DEFAULT_SESSION_TTL_MS = 60_000;

export interface SessionRegistryOptions extends SessionOptions {
  /** How long a detached session can be resumed (60 s). */
  sessionTtlMs?: number;
  /** Monotonic clock in ms (default `performance.now`); tests may pass their own. */
  now?: () => number;
  /** Called when a detached session expires and its processes are killed. */
  onExpired?: (sessionId: string) => void;
}

export type ResumeOutcome =
  | { ok: true; session: Session; attachment: Attachment }
  | { ok: false; error: ErrorObject };

/**
 * All sessions of a server. A connection that drops detaches its session; the session expires
 * after the TTL and its process groups are killed. Whether a resume is in time is decided when the
 * resume is handled, in one synchronous step: it either attaches (the processes live on) or fails
 * with `unknown session id` (and the processes are killed right then, if the timer had not yet).
 */
export class SessionRegistry {
  readonly ttlMs: number;
  private readonly sessions = new Map<string, Session>();
  private readonly options: SessionRegistryOptions;
  private readonly now: () => number;

  constructor(options: SessionRegistryOptions = {}) {
    this.options = options;
    this.ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** The ids of the live sessions (attached or detached). */
  ids(): string[] {
    return [...this.sessions.keys()];
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  /** A new session (random UUID) attached to `sink`. */
  create(sink: MessageSink): { session: Session; attachment: Attachment } {
    const session = new Session(randomUUID(), this.options);
    this.sessions.set(session.id, session);
    return { session, attachment: session.attach(sink) };
  }

  /**
   * Attaches `sink` to a detached session. Unknown or expired ids fail with -32600
   * `unknown session id ID`; a session attached elsewhere fails with `sessionAlreadyAttached`.
   */
  resume(sessionId: string, sink: MessageSink): ResumeOutcome {
    const session = this.sessions.get(sessionId);
    if (!session) return { ok: false, error: invalidRequest(`unknown session id ${sessionId}`) };
    if (session.attachment) return { ok: false, error: sessionAlreadyAttached(sessionId) };
    const detachedAt = session.detachedAt ?? this.now();
    if (this.now() - detachedAt >= this.ttlMs) {
      this.expire(session);
      return { ok: false, error: invalidRequest(`unknown session id ${sessionId}`) };
    }
    return { ok: true, session, attachment: session.attach(sink) };
  }

  /** Detaches a connection's attachment and starts the session's TTL. */
  detach(attachment: Attachment): void {
    const session = attachment.session;
    if (session.isDisposed || !session.detach(attachment, this.now())) return;
    const generation = session.detachGeneration;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = setTimeout(() => {
      if (session.attachment === undefined && session.detachGeneration === generation) {
        this.expire(session);
      }
    }, this.ttlMs);
    session.expiryTimer.unref();
  }

  /** Kills every session's processes (server shutdown). */
  shutdown(): void {
    for (const session of [...this.sessions.values()]) {
      this.sessions.delete(session.id);
      session.dispose();
    }
  }

  private expire(session: Session): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    session.dispose();
    this.options.onExpired?.(session.id);
  }
}
