/**
 * What a write that stopped part-way tells its caller: every error carries
 * `bytesWritten`, and an abort after some bytes went out is not the caller's
 * bare abort reason (which would hide them) but `Deno.errors.Interrupted`
 * with that reason as its `cause`.
 *
 * @module
 */

/** Adds how many bytes went out before a write failed. */
export function withProgress(e: unknown, bytesWritten: number): unknown {
  if (e instanceof Error && !("bytesWritten" in e)) Object.assign(e, { bytesWritten });
  return e;
}

/**
 * The error an async write that failed with `e` throws: the caller's abort
 * reason untouched when nothing went out, else `Interrupted` saying `what`
 * (e.g. "write aborted after 10 of 20 bytes"); any other error with its progress.
 */
export function writeError(
  e: unknown,
  signal: AbortSignal | undefined,
  written: number,
  what: () => string,
): unknown {
  if (e !== signal?.reason) return withProgress(e, written);
  if (written === 0) return e;
  return withProgress(new Deno.errors.Interrupted(what(), { cause: e }), written);
}
