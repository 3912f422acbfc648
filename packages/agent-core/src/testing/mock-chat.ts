import type { MockStreamReply, MockUsage } from './mock-responses.js';

type Payload = Record<string, unknown>;

/** Where the mock answers as a Chat Completions server. */
export const CHAT_COMPLETIONS_PATHS: ReadonlySet<string> = new Set([
  '/v1/chat/completions',
  '/chat/completions',
]);

/**
 * The longest piece of a tool call's arguments per chunk: the real API sends them a few tokens at
 * a time, so a client that does not join the pieces fails against the mock as it would in use.
 */
export const MOCK_CHAT_ARGUMENT_PIECE = 7;

/**
 * The `data:` events of a scripted reply as a Chat Completions server streams it: a first chunk
 * with the assistant role, the text as content deltas (a chat completion has one message: several
 * text outputs run together), each tool call as a first delta with its id and name and then its
 * arguments in pieces (with `index` 0, 1, ... for parallel calls), a last chunk with the finish
 * reason, the usage chunk when the request asked for it (`stream_options.include_usage`) and
 * `[DONE]`. A failed or error end is an `error` object, as vLLM and gateways send mid-stream; an
 * incomplete end is finish reason `length` (or `content_filter`).
 */
export function chatStreamEvents(
  reply: MockStreamReply,
  completionId: string,
  model: string,
  requestBody: Payload,
): string[] {
  const events: string[] = [];
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: Payload[], extra: Payload = {}) =>
    events.push(
      `data: ${JSON.stringify({ id: completionId, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`,
    );
  const delta = (value: Payload) => chunk([{ index: 0, delta: value, finish_reason: null }]);
  delta({ role: 'assistant', content: '' });
  const serial = completionId.replace(/^chatcmpl_/, '');
  let calls = 0;
  reply.outputs.forEach((output, outputIndex) => {
    if (output.type === 'text') {
      for (const text of output.deltas) delta({ content: text });
      return;
    }
    // other kinds of output (reasoning) have no place in this reply yet
    if (output.type !== 'toolCall') return;
    const index = calls++;
    const args =
      typeof output.arguments === 'string' ? output.arguments : JSON.stringify(output.arguments);
    delta({
      tool_calls: [
        {
          index,
          id: output.callId ?? `call_${serial}_${outputIndex}`,
          type: 'function',
          function: { name: output.name, arguments: '' },
        },
      ],
    });
    for (let at = 0; at < args.length; at += MOCK_CHAT_ARGUMENT_PIECE) {
      const piece = args.slice(at, at + MOCK_CHAT_ARGUMENT_PIECE);
      delta({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
  });
  const end = reply.end;
  if (end.type === 'failed' || end.type === 'error') {
    events.push(
      `data: ${JSON.stringify({ error: { message: end.message, type: 'server_error', code: end.code } })}\n\n`,
    );
    return events;
  }
  const finish =
    end.type === 'incomplete'
      ? end.reason === 'content_filter'
        ? 'content_filter'
        : 'length'
      : calls > 0
        ? 'tool_calls'
        : 'stop';
  chunk([{ index: 0, delta: {}, finish_reason: finish }]);
  const options = requestBody.stream_options;
  const includeUsage =
    typeof options === 'object' &&
    options !== null &&
    'include_usage' in options &&
    options.include_usage === true;
  if (includeUsage && reply.usage !== null) chunk([], { usage: chatUsage(reply.usage) });
  events.push('data: [DONE]\n\n');
  return events;
}

function chatUsage(usage: MockUsage): Payload {
  const prompt = usage.inputTokens ?? 0;
  const completion = usage.outputTokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningOutputTokens ?? 0 },
  };
}

/**
 * What OpenAI's Chat Completions API says of `messages` it refuses because a tool call is not
 * answered by the `tool` messages right after it, or a `tool` message answers no call; undefined
 * when the conversation is well formed.
 */
export function unansweredToolCall(body: Payload): string | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages)) return undefined;
  let waiting: string[] = [];
  for (const [index, entry] of messages.entries()) {
    const message: Payload = isPayload(entry) ? entry : {};
    if (message.role === 'tool') {
      const answered = waiting.indexOf(String(message.tool_call_id));
      if (answered < 0) {
        return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages[${index}])`;
      }
      waiting.splice(answered, 1);
      continue;
    }
    if (waiting.length > 0) {
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${waiting.join(', ')}`;
    }
    const calls = message.role === 'assistant' ? message.tool_calls : undefined;
    waiting = Array.isArray(calls)
      ? calls.map((call) =>
          String(typeof call === 'object' && call !== null && 'id' in call ? call.id : ''),
        )
      : [];
  }
  if (waiting.length > 0) {
    return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${waiting.join(', ')}`;
  }
  return undefined;
}

function isPayload(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
