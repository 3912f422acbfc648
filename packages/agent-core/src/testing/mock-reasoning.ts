/** A `reasoning` output item of a scripted response. */
export interface MockReasoningOutput {
  type: 'reasoning';
  /** The summary parts, each as the deltas it is streamed in. */
  summary: string[][];
  /** Raw reasoning text deltas (content part 0); none when empty. */
  text: string[];
  /** `encrypted_content` of the finished item; `null` leaves it out (a server that keeps none). */
  encryptedContent: string | null;
  /** The item's id (default `rs_<response>_<index>`). */
  id?: string;
}

/**
 * A reasoning output item for `mockReply.output([...])`: summary parts streamed as
 * `reasoning_summary_part.added` and `reasoning_summary_text.delta`, raw text as
 * `reasoning_text.delta`, and the finished item with its encrypted content.
 */
export function mockReasoning(
  options: {
    summary?: string[][];
    text?: string[];
    encryptedContent?: string | null;
    id?: string;
  } = {},
): MockReasoningOutput {
  return {
    type: 'reasoning',
    summary: options.summary ?? [['**Thinking**', ' it over']],
    text: options.text ?? [],
    encryptedContent:
      options.encryptedContent === undefined ? 'gAAAA-mock-encrypted' : options.encryptedContent,
    ...(options.id !== undefined ? { id: options.id } : {}),
  };
}

type Payload = Record<string, unknown>;

/**
 * Emits the SSE events of a reasoning item, as the Responses API orders them, and returns the
 * finished item (what `response.completed` lists in its output).
 */
export function emitReasoning(
  emit: (type: string, payload: Payload) => void,
  output: MockReasoningOutput,
  id: string,
  outputIndex: number,
): Payload {
  const at = { item_id: id, output_index: outputIndex };
  emit('response.output_item.added', {
    output_index: outputIndex,
    item: { id, type: 'reasoning', summary: [] },
  });
  const summary = output.summary.map((deltas, summaryIndex) => {
    const text = deltas.join('');
    const part = (value: string) => ({ type: 'summary_text', text: value });
    emit('response.reasoning_summary_part.added', {
      ...at,
      summary_index: summaryIndex,
      part: part(''),
    });
    for (const delta of deltas) {
      emit('response.reasoning_summary_text.delta', { ...at, summary_index: summaryIndex, delta });
    }
    emit('response.reasoning_summary_text.done', { ...at, summary_index: summaryIndex, text });
    emit('response.reasoning_summary_part.done', {
      ...at,
      summary_index: summaryIndex,
      part: part(text),
    });
    return part(text);
  });
  const raw = output.text.join('');
  for (const delta of output.text) {
    emit('response.reasoning_text.delta', { ...at, content_index: 0, delta });
  }
  if (output.text.length > 0) {
    emit('response.reasoning_text.done', { ...at, content_index: 0, text: raw });
  }
  const item: Payload = {
    id,
    type: 'reasoning',
    summary,
    ...(output.text.length > 0 ? { content: [{ type: 'reasoning_text', text: raw }] } : {}),
    ...(output.encryptedContent !== null ? { encrypted_content: output.encryptedContent } : {}),
  };
  emit('response.output_item.done', { output_index: outputIndex, item });
  return item;
}
