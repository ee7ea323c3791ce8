/**
 * The one place that reads errno (as nix's `Errno::result`): a system call's
 * return value becomes its result, {@link AGAIN} (it would block),
 * {@link RETRY} (it was interrupted) or the right error, with `code`, `errno`,
 * `syscall` and the object named.
 *
 * errno is read at once after the synchronous call that failed: Deno
 * overwrites it between event-loop turns, and a `nonblocking` call loses it.
 *
 * @module
 */
import { clearErrno, errno } from "../ffi/libc.ts";
import { ERRNO } from "../ffi/platform.ts";
import { errorFromCode, type ErrorSubject } from "./errors.ts";

/** An attempt that would block: wait, then try again. */
export const AGAIN: unique symbol = Symbol("AGAIN");
/** An attempt that was interrupted (EINTR): try again at once. */
export const RETRY: unique symbol = Symbol("RETRY");

/**
 * What a failed call concerns: the object its error names, or a function that
 * builds the error from the errno (a call whose errno needs interpreting, such
 * as a System V EINVAL that means the queue was removed).
 */
export type About = ErrorSubject | ((code: number, syscall: string) => Error);

/** errno values by name. */
export const E: Readonly<Record<string, number>> = ERRNO;
const EAGAIN = ERRNO.EAGAIN;
const EINTR = ERRNO.EINTR;

/** The error for errno `code` of `syscall`. */
export function errorOf(code: number, syscall: string, about: About = {}): Error {
  return typeof about === "function" ? about(code, syscall) : errorFromCode(code, syscall, about);
}

/** `r` if the call succeeded (`r >= 0`); else throws the error for errno. */
export function ok(r: number, syscall: string, about?: About): number {
  if (r >= 0) return r;
  throw errorOf(errno(), syscall, about);
}

/** Like {@link ok} for calls returning a pointer, `null` on failure. */
export function okPointer(
  p: Deno.PointerValue,
  syscall: string,
  about?: About,
): NonNullable<Deno.PointerValue> {
  if (p !== null) return p;
  throw errorOf(errno(), syscall, about);
}

/**
 * Interprets the failure of a call that just returned -1: {@link RETRY} on
 * EINTR, {@link AGAIN} when errno is `again` (EAGAIN unless told; one code or
 * several), else throws the error for errno.
 */
export function failed(
  syscall: string,
  about?: About,
  again: number | readonly number[] = EAGAIN,
): typeof AGAIN | typeof RETRY {
  const code = errno();
  if (code === EINTR) return RETRY;
  if (typeof again === "number" ? code === again : again.includes(code)) return AGAIN;
  throw errorOf(code, syscall, about);
}

/**
 * Runs a call until it is not interrupted; returns its result (`>= 0`), or
 * {@link AGAIN} when it would block. Other failures throw.
 */
export function attempt(
  call: () => number,
  syscall: string,
  about?: About,
  again: number | readonly number[] = EAGAIN,
): number | typeof AGAIN {
  for (;;) {
    const r = call();
    if (r >= 0) return r;
    if (failed(syscall, about, again) === AGAIN) return AGAIN;
  }
}

/** Like {@link ok} for a call that may return -1 as a valid result: only errno tells. */
export function okValue(call: () => number, syscall: string, about?: About): number {
  clearErrno();
  const r = call();
  if (r === -1 && errno() !== 0) throw errorOf(errno(), syscall, about);
  return r;
}

/** The errno a call just left, when the caller must tell causes apart itself. */
export function lastErrno(): number {
  return errno();
}
