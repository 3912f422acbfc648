export { conversationOf, isContextMessage } from './conversation-of.js';
export { type MockReasoningOutput, mockReasoning } from './mock-reasoning.js';
export {
  type MockCustomToolCall,
  type MockOutput,
  type MockReply,
  type MockReplyOptions,
  type MockRequest,
  type MockRequestOutcome,
  type MockResponsesOptions,
  MockResponsesServer,
  type MockStreamEnd,
  type MockStreamReply,
  type MockToolCall,
  type MockUsage,
  mockReply,
} from './mock-responses.js';
