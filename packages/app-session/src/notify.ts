import type { NotificationMessage } from '@tether/protocol';

/** A server notification as the app-server sends it: with the reference's `emittedAtMs`. */
export function serverNotification(method: string, params: unknown): NotificationMessage {
  return { kind: 'notification', method, params, emittedAtMs: Date.now() };
}
