export {
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  type ModelClientConfig,
  ResponsesClient,
} from './client.js';
export { isModelError, ModelError, type ModelErrorCode, type ModelErrorOptions } from './errors.js';
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
