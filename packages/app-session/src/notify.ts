import type { app, NotificationMessage } from '@tether/protocol';

/** A server notification as the app-server sends it: with the reference's `emittedAtMs`. */
export function serverNotification<M extends app.ServerNotificationMethod>(
  method: M,
  params: app.NotificationParamsOf<M>,
): NotificationMessage {
  return { kind: 'notification', method, params, emittedAtMs: Date.now() };
}
