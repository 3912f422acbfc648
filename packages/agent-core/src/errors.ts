/** What a thrown value says (a turn body, a tool or an environment may throw anything). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
