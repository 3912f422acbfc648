import { ModelError, type ModelEvent } from '../model/index.js';

/** Every event of a model stream, and the `ModelError` it ended with, if any. */
export async function collect(
  iterable: AsyncIterable<ModelEvent>,
): Promise<{ events: ModelEvent[]; error: ModelError | undefined }> {
  const events: ModelEvent[] = [];
  try {
    for await (const event of iterable) events.push(event);
  } catch (error) {
    if (!(error instanceof ModelError)) throw error;
    return { events, error };
  }
  return { events, error: undefined };
}

/** The `ModelError` a stream ends with; throws if it ends well. */
export async function failure(iterable: AsyncIterable<ModelEvent>): Promise<ModelError> {
  const { error } = await collect(iterable);
  if (error === undefined) throw new Error('expected the stream to fail');
  return error;
}
