/** What a thrown value says, for a log line or a stored error: its message, or its text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
