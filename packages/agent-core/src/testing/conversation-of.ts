import { parseAgentsMd } from '../instructions/agents-md.js';
import { parseEnvironmentContext } from '../instructions/environment-context.js';
import { isPermissionsText } from '../instructions/permissions.js';

/** The text parts of a message item (none for anything else). */
function texts(item: unknown): string[] {
  if (typeof item !== 'object' || item === null) return [];
  const record = item as { type?: unknown; content?: unknown };
  if (record.type !== 'message' || !Array.isArray(record.content)) return [];
  return record.content.flatMap((part: unknown) => {
    const text = typeof part === 'object' && part !== null ? (part as { text?: unknown }).text : '';
    return typeof text === 'string' ? [text] : [];
  });
}

/** A context message: permissions (with the developer instructions), AGENTS.md, environment. */
export function isContextMessage(item: unknown): boolean {
  return texts(item).some(
    (text) =>
      isPermissionsText(text) ||
      parseAgentsMd(text) !== undefined ||
      parseEnvironmentContext(text) !== undefined,
  );
}

/**
 * A request's `input` without what the agent adds around the conversation: the system prompt
 * that leads every request and the context messages. For tests about the conversation itself.
 */
export function conversationOf(input: unknown): unknown[] {
  if (!Array.isArray(input)) throw new Error('the request has no input');
  return input.slice(1).filter((item) => !isContextMessage(item));
}
