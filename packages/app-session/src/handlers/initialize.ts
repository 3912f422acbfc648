import { arch, type as osType, release } from 'node:os';
import { invalidRequest, RpcError } from '@tether/protocol';
import { serverNotification } from '../notify.js';
import type { AreaHandlers, ServiceParts } from './context.js';

/** The Codex protocol version tether speaks; clients see it in `userAgent`. */
export const PROTOCOL_VERSION = '0.169.0';

/** The handshake: who the client is, what it can take; then the config warnings. */
export function initializeHandlers(parts: ServiceParts): AreaHandlers<'initialize'> {
  return {
    initialize: (params, scope) => {
      const client = scope.connection;
      if (client.initialized) throw new RpcError(invalidRequest('Already initialized'));
      const name = params.clientInfo.name;
      // a valid HTTP header value: visible ASCII, spaces and tabs, no control characters
      if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(name)) {
        throw new RpcError(
          invalidRequest(`Invalid clientInfo.name: '${name}'. Must be a valid HTTP header value.`),
        );
      }
      const capabilities = params.capabilities ?? {};
      client.experimentalApi = capabilities.experimentalApi ?? false;
      client.clientName = name;
      parts.setOriginator(name);
      const connectionId = client.connection.id;
      scope.afterReply(async () => {
        client.initialized = true;
        parts.router.setInitialized(connectionId, {
          experimentalApi: client.experimentalApi,
          optOutNotificationMethods: capabilities.optOutNotificationMethods ?? [],
        });
        parts.state.connectionInitialized(connectionId, client.connection.origin);
        for (const warning of await parts.configWarnings()) {
          await parts.router.toConnection(
            connectionId,
            serverNotification('configWarning', warning),
          );
        }
        // then, as the reference, the remote-control status (tether has none: `disabled`)
        await parts.router.toConnection(
          connectionId,
          serverNotification('remoteControl/status/changed', parts.remoteControl()),
        );
      });
      const term = process.env.TERM_PROGRAM ?? process.env.TERM ?? 'unknown';
      return {
        userAgent: `${parts.originator() ?? name}/${PROTOCOL_VERSION} (${osType()} ${release()}; ${arch()}) ${term} (${name}; ${params.clientInfo.version})`,
        codexHome: parts.home,
        platformFamily: process.platform === 'win32' ? 'windows' : 'unix',
        platformOs: process.platform === 'darwin' ? 'macos' : process.platform,
      };
    },
  };
}
