/**
 * The error model: a kernel refusal becomes Deno's own error class where one
 * fits (`Deno.errors.NotFound` for ENOENT, ...), otherwise an {@link IpcError};
 * every one carries `code`, `errno`, `syscall` and the object it concerns.
 *
 * @module
 */
import { strerror } from "../ffi/libc.ts";
import { ERRNO, ERRNO_NAMES } from "../ffi/platform.ts";

/**
 * Where an error happened, beyond the system call: the object it concerns.
 *
 * @example A path, a queue's id
 * ```ts
 * import { type ErrorSubject, Fifo, MessageQueue } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const path = "/no/such/fifo";
 * assert.throws(() => Fifo.unlink(path), (e) => (e as ErrorSubject).path === path);
 * using q = MessageQueue.open("private");
 * await assert.rejects(q.receive({ timeout: 0 }), (e) => (e as ErrorSubject).id === q.id);
 * q.remove();
 * ```
 */
export interface ErrorSubject {
  /** The file system path concerned, if any. */
  path?: string;
  /** The file descriptor concerned, if any. */
  fd?: number;
  /** The process id concerned, if any. */
  pid?: number;
  /** The process group concerned, if any: a signal's target, or a child's group. */
  processGroup?: number;
  /** The System V IPC id concerned (a queue's `msqid`, ...), if any. */
  id?: number;
  /** The System V IPC key concerned, if any. */
  key?: number;
  /** The socket address concerned, if any: `127.0.0.1:8080`, `[::1]:80`, `@name` (abstract). */
  address?: string;
}

/**
 * What a failed system call reports, on every error this library throws for one.
 *
 * @example
 * ```ts
 * import { Fifo, type SystemErrorInfo } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const path = "/no/such/fifo";
 * const info: SystemErrorInfo = { code: "ENOENT", errno: 2, syscall: "unlink", path };
 * assert.throws(() => Fifo.unlink(path), info); // the error has each of these fields
 * ```
 */
export interface SystemErrorInfo extends ErrorSubject {
  /** The C name of the errno value, e.g. `"EIDRM"`. */
  code: string;
  /** The errno number, e.g. `43`. */
  errno: number;
  /** The C function that failed, e.g. `"msgrcv"`. */
  syscall: string;
  /**
   * On the error of a write to a pipe, FIFO or stream connection (its
   * failure, timeout, abort or close): how many of its bytes went out first.
   */
  bytesWritten?: number;
  /**
   * On the `EMSGSIZE` of a receive of one message (a datagram, a seqpacket
   * message) into a buffer too short for it: the message's size.
   */
  messageSize?: number;
}

/**
 * An error thrown for a failed system call: a Deno error class or {@link IpcError}, with
 * {@link SystemErrorInfo}.
 *
 * @example A receive that times out
 * ```ts
 * import { MessageQueue, type SystemError } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * const error = await q.receive({ timeout: 0 }).then(() => null, (e: SystemError) => e);
 * assert.ok(error instanceof Deno.errors.TimedOut); // Deno's own class, where one fits
 * assert.deepEqual([error.code, error.errno, error.syscall], ["ETIMEDOUT", 110, "msgrcv"]);
 * q.remove();
 * ```
 */
export type SystemError = Error & SystemErrorInfo;

/**
 * A failed system call for which Deno has no error class (EINVAL, EIDRM, E2BIG, ...).
 *
 * @example Using a System V queue that has been removed
 * ```ts
 * import { IpcError, MessageQueue } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const q = MessageQueue.open("private");
 * const id = q.id;
 * q.remove();
 * assert.throws(
 *   () => MessageQueue.fromId(id),
 *   (e) => e instanceof IpcError && e.code === "EINVAL" && e.syscall === "msgctl",
 * );
 * ```
 */
export class IpcError extends Error implements SystemErrorInfo {
  /**
   * Creates the error; the library does this for every failed call without a Deno error class.
   * @param message the text of the error
   * @param info what the failed call reports, kept on the error
   *
   * @example
   * ```ts
   * import { IpcError } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const e = new IpcError("Identifier removed (os error 43): msgrcv id 7", {
   *   code: "EIDRM",
   *   errno: 43,
   *   syscall: "msgrcv",
   * });
   * assert.deepEqual([e.name, e.code, e.errno], ["IpcError", "EIDRM", 43]);
   * ```
   */
  constructor(message: string, info: SystemErrorInfo) {
    super(message);
    this.name = "IpcError";
    Object.assign(this, info);
  }
}

/** The fields of {@link SystemErrorInfo}, on every {@link IpcError}. */
export interface IpcError extends SystemErrorInfo {}

type ErrorClass = new (message: string) => Error;

const DENO_CLASSES: Record<string, ErrorClass> = {
  ENOENT: Deno.errors.NotFound,
  // kill(2), sigqueue(3): no such process.
  ESRCH: Deno.errors.NotFound,
  EEXIST: Deno.errors.AlreadyExists,
  EACCES: Deno.errors.PermissionDenied,
  EPERM: Deno.errors.PermissionDenied,
  EAGAIN: Deno.errors.WouldBlock,
  // msgrcv(IPC_NOWAIT) and friends: nothing to take now.
  ENOMSG: Deno.errors.WouldBlock,
  ETIMEDOUT: Deno.errors.TimedOut,
  EINTR: Deno.errors.Interrupted,
  EPIPE: Deno.errors.BrokenPipe,
  EBADF: Deno.errors.BadResource,
  EBUSY: Deno.errors.Busy,
  EADDRINUSE: Deno.errors.AddrInUse,
  EADDRNOTAVAIL: Deno.errors.AddrNotAvailable,
  ECONNREFUSED: Deno.errors.ConnectionRefused,
  ECONNRESET: Deno.errors.ConnectionReset,
  ECONNABORTED: Deno.errors.ConnectionAborted,
  ENOTCONN: Deno.errors.NotConnected,
  ENETUNREACH: Deno.errors.NetworkUnreachable,
  ENOTSUP: Deno.errors.NotSupported,
  ENOSYS: Deno.errors.NotSupported,
  ELOOP: Deno.errors.FilesystemLoop,
  EISDIR: Deno.errors.IsADirectory,
  ENOTDIR: Deno.errors.NotADirectory,
};

/** How an error names its object: ` '/path'`, ` fd 3`, ` id 7`, ... */
export function describeSubject(subject: ErrorSubject): string {
  return subject.path !== undefined
    ? ` '${subject.path}'`
    : subject.address !== undefined
    ? ` ${subject.address}`
    : subject.pid !== undefined
    ? ` pid ${subject.pid}`
    : subject.processGroup !== undefined
    ? ` process group ${subject.processGroup}`
    : subject.fd !== undefined
    ? ` fd ${subject.fd}`
    : subject.id !== undefined
    ? ` id ${subject.id}`
    : subject.key !== undefined
    ? ` key 0x${(subject.key >>> 0).toString(16).padStart(8, "0")}`
    : "";
}

/**
 * Builds the error for errno `code` returned by `syscall`: Deno's class for
 * it where one fits, else {@link IpcError}. `detail` is added to the message.
 */
export function errorFromCode(
  code: number,
  syscall: string,
  subject: ErrorSubject = {},
  detail?: string,
  text: string = strerror(code),
): SystemError {
  const what = `${syscall}${describeSubject(subject)}${detail === undefined ? "" : ` (${detail})`}`;
  return systemError(code, syscall, subject, `${text} (os error ${code}): ${what}`);
}

/** Sets `Error.stackTraceLimit`; false where it cannot be (a frozen `Error`, as hardened setups make it). */
function setStackLimit(limit: number): boolean {
  try {
    Error.stackTraceLimit = limit;
    return true;
  } catch {
    return false;
  }
}

/** How many frames deep an error may be made in the library, below the caller's. */
const STACK_DEPTH = 16;

/** The error for errno `code` with `message`: Deno's class for it where one fits, else {@link IpcError}. */
function systemError(
  code: number,
  syscall: string,
  subject: ErrorSubject,
  message: string,
): SystemError {
  const name = ERRNO_NAMES[code] ?? `E${code}`;
  const info: SystemErrorInfo = { code: name, errno: code, syscall, ...subject };
  const Class = DENO_CLASSES[name];
  // The library's own frames come first: more of them, so that the stack reaches the caller's.
  const limit = Error.stackTraceLimit;
  const deeper = limit > 0 && limit < STACK_DEPTH && setStackLimit(limit + STACK_DEPTH);
  try {
    return Class === undefined
      ? new IpcError(message, info)
      : Object.assign(new Class(message), info);
  } finally {
    if (deeper) setStackLimit(limit);
  }
}

/** `Deno.errors.TimedOut` (`ETIMEDOUT`) for an operation whose timeout passed. */
export function timedOutError(syscall: string, subject: ErrorSubject, ms: number): SystemError {
  // strerror(ETIMEDOUT) speaks of connections; this is any wait.
  return errorFromCode(ERRNO.ETIMEDOUT, syscall, subject, `after ${ms} ms`, "Timed out");
}

/** `Deno.errors.BadResource` (`EBADF`) for an operation on a closed handle. */
export function closedError(what: string, syscall: string, subject: ErrorSubject): SystemError {
  return errorFromCode(ERRNO.EBADF, syscall, subject, `the ${what} is closed`);
}

/**
 * `Deno.errors.BadResource` (`EBADF`) for the descriptor of a closed handle
 * (`reader.fd`). No call failed, so the message names the handle and the fd
 * it held, not a call: `Bad file descriptor (os error 9): the reader is
 * closed (it held fd 22)`; `syscall` is the property read, `"fd"`.
 */
export function closedFdError(what: string, subject: ErrorSubject & { fd: number }): SystemError {
  const text = `${strerror(ERRNO.EBADF)} (os error ${ERRNO.EBADF})`;
  return systemError(
    ERRNO.EBADF,
    "fd",
    subject,
    `${text}: the ${what} is closed (it held fd ${subject.fd})`,
  );
}

/**
 * `Deno.errors.WouldBlock` for a `tryX()` that would have to wait, with the
 * errno the call gave (`EAGAIN`, or `ENOMSG` for `msgrcv`, `ENXIO` for a
 * FIFO's write side without a reader).
 */
export function wouldBlockError(
  syscall: string,
  subject: ErrorSubject,
  code: number = ERRNO.EAGAIN,
  detail?: string,
): SystemError {
  const e = errorFromCode(code, syscall, subject, detail);
  if (e instanceof Deno.errors.WouldBlock) return e;
  return Object.assign(new Deno.errors.WouldBlock(e.message), e, { name: "WouldBlock" });
}
