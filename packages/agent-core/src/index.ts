export {
  type AgentOptions,
  agentRuntimeFactory,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_OUTPUT_CAP_BYTES,
  type ModelStreamer,
  TURN_ABORTED_TEXT,
} from './agent.js';
export { AsyncQueue } from './async-queue.js';
export { MISSING_CALL_OUTPUT, normalizeConversation, unpairedCall } from './conversation.js';
export {
  type CommandOutput,
  type CommandSpec,
  type Environment,
  ExecEnvironment,
  type ExecRpc,
  ExecRpcError,
  localEnvironment,
  type RunningCommand,
  remoteEnvironment,
} from './environment.js';
export {
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  type FunctionTool,
  isModelError,
  type JsonSchema,
  type ModelClientConfig,
  ModelError,
  type ModelErrorCode,
  type ModelEvent,
  type ResponseInputItem,
  type ResponseMessage,
  ResponsesClient,
  type ResponsesRequest,
  type TokenUsage,
} from './model/index.js';
export type {
  RuntimeContext,
  RuntimeFactory,
  ThreadEvent,
  ThreadRuntime,
  ThreadSettings,
  TurnRequest,
} from './runtime.js';
export {
  type MockOutput,
  type MockReply,
  type MockRequest,
  MockResponsesServer,
  type MockToolCall,
  mockReply,
} from './testing/index.js';
export {
  commandPrefix,
  EXEC_COMMAND_TOOL,
  type ExecCommandArgs,
  isKnownSafe,
  parseExecCommandArgs,
} from './tools.js';
export {
  type TurnBody,
  type TurnContext,
  TurnLoopRuntime,
  type TurnOutcome,
  turnLoopRuntimeFactory,
} from './turn-loop-runtime.js';
