import { invalidRequest, RpcError } from '@tether/protocol';
import type { ExecHandlers } from './exec-context.js';

/** `initialize` (a new session, or a resumed one) and what a client may ask about the executor. */
export const handshakeHandlers: ExecHandlers<
  'initialize' | 'environment/info' | 'environment/status'
> = {
  // synchronous on purpose: an `initialized` notification right behind it must find the session
  initialize: (params, { connection }) => {
    if (connection.attachment) {
      throw new RpcError(invalidRequest('initialize may only be sent once per connection'));
    }
    const registry = connection.host.registry;
    const resumeId = params.resumeSessionId;
    if (resumeId !== undefined && resumeId !== null) {
      const outcome = registry.resume(resumeId, connection.sink);
      // a failed initialize does not use up the one allowed
      if (!outcome.ok) throw new RpcError(outcome.error);
      connection.attachment = outcome.attachment;
    } else {
      connection.attachment = registry.create(connection.sink).attachment;
    }
    return {
      sessionId: connection.attachment.session.id,
      environmentInfo: connection.host.environmentInfo,
    };
  },
  'environment/info': (_params, { connection }) => connection.host.environmentInfo,
  'environment/status': () => ({ status: 'ready' }),
};
