/**
 * Handshake: the `initialize` request and the `initialized` client notification.
 */
import { z } from 'zod';
import { JsonObject } from './common.js';

export const ClientInfo = z.looseObject({
  name: z.string(),
  title: z.string().nullish(),
  version: z.string(),
});
export type ClientInfo = z.infer<typeof ClientInfo>;

export const InitializeCapabilities = z.looseObject({
  /** Opt into experimental methods and fields (default false). */
  experimentalApi: z.boolean().optional(),
  /** Notification methods this connection never wants to receive, e.g. `["configWarning"]`. */
  optOutNotificationMethods: z.array(z.string()).nullish(),
  requestAttestation: z.boolean().optional(),
  explicitGatewayOauth: z.boolean().optional(),
  extensions: JsonObject.nullish(),
  mcpServerOpenaiFormElicitation: z.boolean().optional(),
  requiredHumanApproval: z.boolean().optional(),
});
export type InitializeCapabilities = z.infer<typeof InitializeCapabilities>;

export const InitializeParams = z.looseObject({
  clientInfo: ClientInfo,
  capabilities: InitializeCapabilities.nullish(),
});
export type InitializeParams = z.infer<typeof InitializeParams>;

export const InitializeResponse = z.looseObject({
  userAgent: z.string(),
  /** Absolute path of the server's `$CODEX_HOME`. */
  codexHome: z.string(),
  /** e.g. `"unix"`, `"windows"`. */
  platformFamily: z.string(),
  /** e.g. `"linux"`, `"macos"`, `"windows"`. */
  platformOs: z.string(),
});
export type InitializeResponse = z.infer<typeof InitializeResponse>;

/** Params of the `initialized` notification: the reference sends none (`{"method":"initialized"}`). */
export const InitializedNotification = z.looseObject({}).nullish();
export type InitializedNotification = z.infer<typeof InitializedNotification>;
