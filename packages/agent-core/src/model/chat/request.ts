import { asRecord, str } from '../json.js';
import type { ResponseInputItem, ResponsesRequest } from '../types.js';

/** One entry of a Chat Completions request's `tool_calls`. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A text or image part of a user message's `content` (images need the array form). */
export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } };

/** One entry of a Chat Completions request's `messages`. */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string | ChatContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/**
 * The body of `POST {baseUrl}/chat/completions` for a request the agent built for the Responses
 * API: the instructions become the first `system` message, the conversation becomes `messages`,
 * function tools are wrapped as the Chat API takes them, and usage is asked for at the stream's end.
 */
export function chatRequestBody(request: ResponsesRequest, model: string): Record<string, unknown> {
  const messages: ChatMessage[] = [];
  if (request.instructions !== undefined && request.instructions !== '') {
    messages.push({ role: 'system', content: request.instructions });
  }
  messages.push(...chatMessages(request.input));
  const body: Record<string, unknown> = { model: request.model || model, messages };
  const tools = (request.tools ?? []).map((tool) => ({
    type: 'function',
    function:
      tool.type === 'custom'
        ? // the Chat API has no custom tools: the freeform input travels as one `input` string,
          // which is how the agent reads a custom tool's function form (apply_patch's)
          {
            name: tool.name,
            description: tool.description,
            parameters: {
              type: 'object',
              properties: { input: { type: 'string' } },
              required: ['input'],
              additionalProperties: false,
            },
          }
        : {
            name: tool.name,
            description: tool.description,
            parameters: tool.parameters,
            ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
          },
  }));
  if (tools.length > 0) {
    body.tools = tools;
    body.tool_choice = 'auto';
    body.parallel_tool_calls = request.parallelToolCalls ?? false;
  }
  // the Chat API's spelling of the Responses API's `reasoning.effort`; it has no summaries
  const effort = request.reasoning ? request.reasoning.effort : request.reasoningEffort;
  if (effort) body.reasoning_effort = effort;
  if (request.serviceTier) body.service_tier = request.serviceTier;
  body.stream = true;
  // without this the usage chunk never comes and the thread's token counts stay at zero
  body.stream_options = { include_usage: true };
  return body;
}

/**
 * The conversation as Chat Completions messages. An assistant message and the tool calls that
 * follow it become one assistant message with `tool_calls` (parallel calls included), because the
 * Chat API wants every call of a turn answered by `tool` messages right after the message that
 * made them. Reasoning items are left out (a chat server cannot take encrypted reasoning back,
 * and the reference's chat path leaves them out too); `developer` messages are sent as `system`,
 * the role every chat server knows; a tool output whose call was left out is left out as well.
 */
export function chatMessages(items: readonly ResponseInputItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const sentCalls = new Set<string>();
  /** The assistant message still open to more tool calls (until something else comes). */
  let open: Extract<ChatMessage, { role: 'assistant' }> | undefined;
  const toolCall = (callId: string, name: string, args: string) => {
    if (open === undefined) {
      open = { role: 'assistant', content: null };
      messages.push(open);
    }
    open.tool_calls ??= [];
    open.tool_calls.push({ id: callId, type: 'function', function: { name, arguments: args } });
    sentCalls.add(callId);
  };
  for (const item of items) {
    switch (item.type) {
      case 'message': {
        const role = str(item.role);
        const parts = contentParts(item.content);
        if (role === 'assistant') {
          const text = parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
          open = { role: 'assistant', content: text };
          messages.push(open);
          break;
        }
        open = undefined;
        const hasImage = parts.some((part) => part.type === 'image_url');
        const content = hasImage ? parts : parts.map((part) => textOfPart(part)).join('\n');
        messages.push({ role: role === 'user' ? 'user' : 'system', content });
        break;
      }
      case 'function_call': {
        const callId = str(item.call_id);
        const name = str(item.name);
        if (callId === undefined || name === undefined) break;
        toolCall(callId, name, argumentsText(item.arguments));
        break;
      }
      case 'custom_tool_call': {
        // a freeform tool's input travels as the one string argument of a function call
        const callId = str(item.call_id);
        const name = str(item.name);
        if (callId === undefined || name === undefined) break;
        toolCall(callId, name, JSON.stringify({ input: str(item.input) ?? '' }));
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const callId = str(item.call_id);
        if (callId === undefined || !sentCalls.has(callId)) break;
        open = undefined;
        messages.push({ role: 'tool', tool_call_id: callId, content: outputText(item.output) });
        break;
      }
      default:
        // reasoning, and items only the Responses API knows: not part of a chat conversation
        break;
    }
  }
  return messages;
}

function contentParts(content: unknown): ChatContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const parts: ChatContentPart[] = [];
  for (const entry of content) {
    const part = asRecord(entry);
    if (part === undefined) continue;
    const text = str(part.text);
    if ((part.type === 'input_text' || part.type === 'output_text') && text !== undefined) {
      parts.push({ type: 'text', text });
    } else if (part.type === 'input_image') {
      const url = str(part.image_url);
      if (url !== undefined) parts.push({ type: 'image_url', image_url: { url } });
    }
  }
  return parts;
}

function textOfPart(part: ChatContentPart): string {
  return part.type === 'text' ? part.text : '';
}

/** A call's arguments as the JSON string the Chat API carries ("{}" for none). */
function argumentsText(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '{}' : value;
  return JSON.stringify(value ?? {});
}

/** A tool output as text: a string as is, content parts by their text, anything else as JSON. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) {
    return output
      .map((entry) => str(asRecord(entry)?.text))
      .filter((text): text is string => text !== undefined)
      .join('\n');
  }
  const content = asRecord(output)?.content;
  if (typeof content === 'string') return content;
  return JSON.stringify(output ?? '');
}
