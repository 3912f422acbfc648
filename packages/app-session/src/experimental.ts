import type { ConnectionOutboundState, OutboundFilter } from '@tether/outbound-router';
import { app, type Message } from '@tether/protocol';

/** Experimental fields of server messages, stripped for connections without `experimentalApi`. */
const EXPERIMENTAL_FIELDS: Record<string, readonly string[]> = {
  'item/commandExecution/requestApproval': ['additionalPermissions'],
};

const strippedCache = new WeakMap<Message, Message>();

/**
 * Per-connection rewriting: a connection that did not opt in never sees experimental fields, nor
 * the notifications the reference sends only to experimental clients.
 */
export const experimentalFilter: OutboundFilter = (
  message: Message,
  state: ConnectionOutboundState,
) => {
  if (state.experimentalApi) return message;
  if (message.kind !== 'request' && message.kind !== 'notification') return message;
  if (message.kind === 'notification' && app.experimentalServerNotifications.has(message.method)) {
    return null;
  }
  const fields = EXPERIMENTAL_FIELDS[message.method];
  if (!fields || typeof message.params !== 'object' || message.params === null) return message;
  const params = message.params as Record<string, unknown>;
  if (!fields.some((field) => field in params)) return message;
  const cached = strippedCache.get(message);
  if (cached) return cached;
  const stripped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!fields.includes(key)) stripped[key] = value;
  }
  const variant = { ...message, params: stripped };
  strippedCache.set(message, variant);
  return variant;
};
