import { type exec, internalError, type RequestScope, RpcError } from '@tether/protocol';
import type { MessageSink } from './delivery.js';
import type { FileHandles } from './file-handles.js';
import type { HttpRequests } from './http-request.js';
import type { SessionRegistry } from './registry.js';
import type { Attachment, SandboxSettings } from './session.js';

/** What the service lends every connection's handlers. */
export interface ExecHost {
  readonly registry: SessionRegistry;
  readonly environmentInfo: exec.EnvironmentInfo;
  /** What every sandbox hides or keeps read-only, and which bubblewrap runs it. */
  readonly sandboxSettings: SandboxSettings;
}

/** One connection's state, as its request handlers see it. */
export interface ExecContext {
  readonly host: ExecHost;
  /** The connection, for the session's notifications. */
  readonly sink: MessageSink;
  /** `fs/open` handles: the connection's own, closed with it (they do not follow a resume). */
  readonly files: FileHandles;
  /** `http/request` calls in flight, aborted when the connection closes. */
  readonly http: HttpRequests;
  /** The session this connection holds, once `initialize` succeeded. */
  attachment: Attachment | undefined;
  /** True once the client sent the `initialized` notification. */
  initialized: boolean;
}

export type ExecScope = RequestScope<ExecContext>;

/** The handler of one exec-server method, typed by the method table. */
export type ExecHandler<M extends exec.RequestMethod> = (
  params: exec.ParamsOf<M>,
  scope: ExecScope,
) => exec.ResultOf<M> | Promise<exec.ResultOf<M>>;

/** Handlers of some methods: each area module exports one of these. */
export type ExecHandlers<M extends exec.RequestMethod> = { readonly [K in M]: ExecHandler<K> };

/**
 * The attachment a request runs under. The lifecycle gate lets no method but `initialize` through
 * before there is one, so a miss is a bug in the dispatch, answered as an internal error.
 */
export function attached(context: ExecContext): Attachment {
  const attachment = context.attachment;
  if (!attachment) throw new RpcError(internalError('request ran before initialize'));
  return attachment;
}
