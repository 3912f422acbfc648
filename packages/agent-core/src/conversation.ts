import type { ResponseInputItem } from './model/index.js';

/**
 * The output the reference gives a tool call whose output never arrived (the server was killed
 * while the command ran, the call was copied by a fork in the middle of a turn): the model then
 * learns that the call was cut short instead of the request being refused.
 */
export const MISSING_CALL_OUTPUT = 'aborted';

/** Call item types and the type of the output each one needs. */
const OUTPUT_OF: Readonly<Record<string, string>> = {
  function_call: 'function_call_output',
  local_shell_call: 'function_call_output',
  custom_tool_call: 'custom_tool_call_output',
};

/** Output item types (each answers the call with the same `call_id`). */
const OUTPUT_TYPES: ReadonlySet<string> = new Set([
  'function_call_output',
  'custom_tool_call_output',
]);

const callIdOf = (item: ResponseInputItem): string | undefined =>
  typeof item.call_id === 'string' ? item.call_id : undefined;

const key = (type: string, callId: string) => `${type}\u0000${callId}`;

/**
 * What is wrong with a conversation the Responses API would refuse: a call without its output, or
 * an output without its call (in the API's words), or undefined when every call is answered.
 */
export function unpairedCall(items: readonly ResponseInputItem[]): string | undefined {
  const { calls, outputs } = pairs(items);
  for (const item of items) {
    const callId = callIdOf(item);
    if (callId === undefined) continue;
    const output = OUTPUT_OF[item.type];
    if (output !== undefined && !outputs.has(key(output, callId))) {
      const kind = item.type === 'custom_tool_call' ? 'custom tool call' : 'function call';
      return `No tool output found for ${kind} ${callId}.`;
    }
    if (OUTPUT_TYPES.has(item.type) && !calls.has(key(item.type, callId))) {
      const kind = item.type === 'custom_tool_call_output' ? 'custom tool call' : 'function call';
      return `No tool call found for ${kind} output with call_id ${callId}.`;
    }
  }
  return undefined;
}

/**
 * The conversation as the model may be sent it, as the reference normalizes its history before
 * each request: a call with no output gets the reference's `aborted` output right after it, and
 * an output whose call is not in the conversation is left out. Returns `items` itself when nothing
 * needed fixing.
 */
export function normalizeConversation(
  items: readonly ResponseInputItem[],
): readonly ResponseInputItem[] {
  if (unpairedCall(items) === undefined) return items;
  const { calls, outputs } = pairs(items);
  const normalized: ResponseInputItem[] = [];
  for (const item of items) {
    const callId = callIdOf(item);
    if (callId !== undefined && OUTPUT_TYPES.has(item.type) && !calls.has(key(item.type, callId))) {
      continue;
    }
    normalized.push(item);
    const output = callId === undefined ? undefined : OUTPUT_OF[item.type];
    if (output !== undefined && callId !== undefined && !outputs.has(key(output, callId))) {
      normalized.push({ type: output, call_id: callId, output: MISSING_CALL_OUTPUT });
    }
  }
  return normalized;
}

/** The call ids answered (`outputs`, by output type) and asked (`calls`, by output type). */
function pairs(items: readonly ResponseInputItem[]): { calls: Set<string>; outputs: Set<string> } {
  const calls = new Set<string>();
  const outputs = new Set<string>();
  for (const item of items) {
    const callId = callIdOf(item);
    if (callId === undefined) continue;
    const output = OUTPUT_OF[item.type];
    if (output !== undefined) calls.add(key(output, callId));
    if (OUTPUT_TYPES.has(item.type)) outputs.add(key(item.type, callId));
  }
  return { calls, outputs };
}
