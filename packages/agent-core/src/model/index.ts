export { ChatCompletionsClient } from './chat/client.js';
export {
  DEFAULT_BASE_URL,
  DEFAULT_CONNECTION_RETRY_DELAY_MS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  MAX_CONNECTION_RETRY_DELAY_MS,
  type ModelClientConfig,
  ResponsesClient,
} from './client.js';
export {
  type ClientFacingError,
  CONTEXT_WINDOW_EXCEEDED_MESSAGE,
  type CodexErrorInfo,
  classifyModelError,
  INTERNAL_SERVER_ERROR_MESSAGE,
  QUOTA_EXCEEDED_MESSAGE,
  retryNoticeOf,
  SERVER_OVERLOADED_MESSAGE,
  turnErrorOf,
  USAGE_LIMIT_MESSAGE,
  USAGE_NOT_INCLUDED_MESSAGE,
  WAITING_FOR_NETWORK_MESSAGE,
} from './error-info.js';
export { isModelError, ModelError, type ModelErrorCode, type ModelErrorOptions } from './errors.js';
export { type RateLimitSnapshot, rateLimitsFromHeaders } from './rate-limits.js';
export {
  type ReasoningDefaults,
  reasoningParam,
  UNKNOWN_MODEL_REASONING,
} from './reasoning.js';
export { type SseEvent, SseParser } from './sse.js';
export type {
  CustomTool,
  FunctionTool,
  JsonSchema,
  ModelEvent,
  ReasoningParam,
  ResponseInputItem,
  ResponseMessage,
  ResponsesRequest,
  ResponseTextContent,
  TokenUsage,
} from './types.js';
export { createModelClient, isWireApi, WIRE_APIS, type WireApi } from './wire-api.js';
