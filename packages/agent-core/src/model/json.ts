// Reading untrusted JSON from a model server: every field is checked where it is read, and a
// missing or mistyped one reads as absent (or 0) rather than throwing mid-stream.

export type Json = { readonly [key: string]: unknown };

/** `value` as an object, or undefined for anything else (arrays included). */
export function asRecord(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A finite number, else 0 (token counts a server left out). */
export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
