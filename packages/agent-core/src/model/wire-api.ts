import type { Logger } from '@tether/protocol';
import { ChatCompletionsClient } from './chat/client.js';
import { type ModelClientConfig, ResponsesClient } from './client.js';

/** Which API the model server speaks: `wire_api` of a Codex `[model_providers.<id>]` table. */
export type WireApi = 'responses' | 'chat';

export const WIRE_APIS: readonly WireApi[] = ['responses', 'chat'];

export function isWireApi(value: unknown): value is WireApi {
  return value === 'responses' || value === 'chat';
}

/**
 * The model client for a wire API: the Responses API (the default, as in the reference) or Chat
 * Completions. Both take the same requests and yield the same events.
 */
export function createModelClient(
  config: ModelClientConfig & { wireApi?: WireApi | undefined },
  logger?: Logger,
): ResponsesClient {
  const { wireApi, ...rest } = config;
  return wireApi === 'chat'
    ? new ChatCompletionsClient(rest, logger)
    : new ResponsesClient(rest, logger);
}
