/**
 * What a write that stopped part-way tells its caller: every error carries
 * `bytesWritten`, and an abort after some bytes went out is not the caller's
 * bare abort reason (which would hide them) but `Deno.errors.Interrupted`
 * with that reason as its `cause`.
 *
 * @module
 */
import { describeSubject, type ErrorSubject } from "../errors.ts";

/** Adds how many bytes went out before a write failed. */
export function withProgress(e: unknown, bytesWritten: number): unknown {
  if (e instanceof Error && !("bytesWritten" in e)) Object.assign(e, { bytesWritten });
  return e;
}

/**
 * How an async write of `total` bytes fails, given the error it met: with the
 * caller's abort reason untouched when nothing went out, else `Interrupted`
 * ("write aborted after 10 of 20 bytes") with the reason as its cause; with
 * any other error and its progress, read from `progress` when the error comes.
 */
export function writeErrors(
  signal: AbortSignal | undefined,
  progress: { readonly written: number },
  total: number,
  syscall: string,
  subject: ErrorSubject,
): (e: unknown) => never {
  return (e) => {
    const written = progress.written;
    if (e !== signal?.reason) throw withProgress(e, written);
    if (written === 0) throw e;
    const what = `${syscall}${describeSubject(subject)} aborted after ${written} of ${total} bytes`;
    const cut = Object.assign(new Deno.errors.Interrupted(what, { cause: e }), subject, {
      syscall,
    });
    throw withProgress(cut, written);
  };
}
