// One way to turn an error and its causes into text, for rejected rows, logs and command output:
// `outer (cause: inner (cause: root))`, at most five levels deep.
export function errorDetail(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(' (cause: ') + ')'.repeat(Math.max(0, parts.length - 1));
}

/** At most this many issues are listed, the rest counted: one broken order cannot make a megabyte of detail. */
export const MAX_LISTED_ISSUES = 50;

/**
 * One way to turn zod issues into text, for rejected rows (schema_mismatch detail), configuration
 * errors and command output: every failing path with its message, `;`-separated, e.g.
 * `body.line_items.0.quantity: Too small: expected number to be >=1`.
 */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const parts = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  if (issues.length > MAX_LISTED_ISSUES) parts.push(`… and ${issues.length - MAX_LISTED_ISSUES} more`);
  return parts.join('; ');
}
