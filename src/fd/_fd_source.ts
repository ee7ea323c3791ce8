/**
 * The descriptors a caller hands over (to a child through `spawn`, to a peer
 * through `sendFds`): fd numbers or handles with an `fd`, checked one way.
 *
 * @module
 */
import { E } from "../_sys.ts";
import { errorFromCode, type ErrorSubject, type SystemError } from "../errors.ts";
import { checkInteger, shown } from "../_check.ts";

/**
 * A descriptor to hand over: a handle with an `fd` (pipe ends, FIFOs, sockets, ...) or a raw
 * fd number.
 *
 * @example A child's stdout as a handle, its stderr as the same pipe's fd number
 * ```ts
 * import { type FdSource, pipe, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const p = pipe();
 * const fds: Record<number, FdSource> = { 1: p.writer, 2: p.writer.fd };
 * const child = spawnProgram("/bin/sh", ["-c", "echo out; echo err >&2"], { fds });
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "out\nerr\n");
 * await child.status;
 * ```
 */
export type FdSource = number | { readonly fd: number };

/** The largest fd: a C `int`. */
const INT_MAX = 0x7fffffff;

/**
 * The fd of `source`, named `label` in errors: a number as it is (RangeError
 * when it is no fd number), a handle's `fd`, TypeError for anything else. A
 * closed handle is `Deno.errors.BadResource` (`EBADF`) under `syscall`, the
 * call it would have reached, with the fd it held.
 */
export function fdOfSource(source: unknown, label: string, syscall: string): number {
  if (typeof source === "number") {
    return checkInteger(source, label, 0, INT_MAX, `fd number 0..${INT_MAX}`);
  }
  let fd: unknown;
  try {
    fd = (source as { fd?: unknown } | null | undefined)?.fd;
  } catch (e) {
    throw closedSourceError(e, label, syscall);
  }
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0 || fd > INT_MAX) {
    throw new TypeError(
      `${label} must be an fd number or a handle with an fd, got ${shown(source)}`,
    );
  }
  return fd + 0; // -0 as 0: Deno's FFI refuses -0
}

const SUBJECT_KEYS = ["path", "address", "fd", "pid", "id", "key"] as const;

/**
 * A closed handle throws from its `fd` getter, naming the getter: the error
 * names `syscall` and the entry instead, with the object (fd, path) that
 * error carried and that error as its `cause`. Any other error is the
 * getter's own, passed on.
 */
function closedSourceError(e: unknown, label: string, syscall: string): unknown {
  if (!(e instanceof Deno.errors.BadResource) || (e as SystemError).code !== "EBADF") return e;
  const subject: ErrorSubject = {};
  for (const key of SUBJECT_KEYS) {
    const value = (e as SystemError)[key];
    if (value !== undefined) Object.assign(subject, { [key]: value });
  }
  const error = errorFromCode(E.EBADF, syscall, subject, `${label} is a closed handle`);
  return Object.defineProperty(error, "cause", { value: e, writable: true, configurable: true });
}
