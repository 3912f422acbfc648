import { z } from 'zod';

// thread/compact/start: compacts the thread's conversation in a turn of its own; the response is
// empty and the work shows as that turn's `contextCompaction` item.

export const ThreadCompactStartParams = z.looseObject({ threadId: z.string() });
export type ThreadCompactStartParams = z.infer<typeof ThreadCompactStartParams>;
export const ThreadCompactStartResponse = z.looseObject({});
export type ThreadCompactStartResponse = z.infer<typeof ThreadCompactStartResponse>;
