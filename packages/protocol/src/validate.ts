import type { z } from 'zod';
import { type DescribeOptions, describeZodError } from './zod-message.js';

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Parses untrusted input with a schema and, on failure, returns the short serde-style message of
 * `describeZodError` instead of throwing.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  options: DescribeOptions = {},
): ParseOutcome<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: describeZodError(result.error, input, options) };
}
