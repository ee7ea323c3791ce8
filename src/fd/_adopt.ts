/**
 * Checks shared by the file-descriptor handles: adopting an fd (non-blocking
 * mode, which the waiting engine needs, and close-on-exec).
 *
 * `O_NONBLOCK` belongs to the open file description, which a parent and child
 * share after a hand-over. So a pipe or FIFO is never switched in place: the
 * side that wants another mode gets a description of its own, reopened through
 * `/proc/self/fd` (see {@link reopenPipe}).
 *
 * @module
 */
import { cString } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS, SIZEOF } from "../../ffi/platform.ts";
import { E, lastErrno, ok } from "../_sys.ts";
import { errorFromCode } from "../errors.ts";
import { checkInteger } from "../_check.ts";
import { checkNotOwned } from "../_owned_fds.ts";
import { fileOfFd } from "../_path.ts";
import { procText } from "../_proc.ts";
import type { Direction } from "../options.ts";

/**
 * Checks that `fd` is an open descriptor usable for `access`; makes it
 * non-blocking and close-on-exec. Returns the descriptor the handle owns: `fd`,
 * or for 0, 1 and 2 (Deno's own stdin, stdout and stderr, which keep theirs
 * and stay open) a new one.
 */
export function adoptFd(fd: number, access: Direction, what: string): number {
  fd = checkInteger(fd, `${what}: fd`, 0, 0x7fffffff);
  checkNotOwned(fd, what);
  const flags = ok(libc.fcntl(fd, C.F_GETFL, 0), "fcntl", { fd });
  const mode = flags & 3;
  const usable = access === "read" ? mode !== C.O_WRONLY : mode !== C.O_RDONLY;
  if (!usable) {
    throw new TypeError(
      `${what}: fd ${fd} is not open for ${access === "read" ? "reading" : "writing"}`,
    );
  }
  const blocking = (flags & C.O_NONBLOCK) === 0;
  const pipe = blocking && isPipe(fd);
  // What kind of file, only where it matters: a blocking descriptor that is no pipe (one
  // fstat at most; a pipe round trip needs none).
  const type = blocking && !pipe ? fileOfFd(fd)?.type ?? 0 : 0;
  // A pipe, FIFO or terminal gets a description of its own: the shared one is the
  // parent's too (a shell's terminal, which would stay non-blocking after we exit).
  const reopens = pipe || type === C.S_IFCHR;
  const own = reopens ? reopenPipe(fd, flags, true) : -1;
  if (fd <= 2) {
    if (own >= 0) return own;
    const errno = lastErrno();
    // Refused (a process that dropped privileges may not open it again): O_NONBLOCK on the
    // shared description would make Deno's own stdio fail with EAGAIN, as for a socket.
    // With no reader left (ENXIO), writes fail whatever the mode.
    if (reopens && errno !== E.ENXIO) {
      throw errorFromCode(
        errno,
        "open",
        { fd },
        `${what}: fd ${fd}, Deno's own ${STDIO[fd]}, cannot be opened again through ` +
          "/proc/self/fd for a non-blocking description of its own, and making the shared one " +
          "non-blocking would make Deno's use of it fail",
      );
    }
    if (type === C.S_IFSOCK) {
      // A copy shares the description, and O_NONBLOCK on it would make Deno's own
      // writes to its stdio fail with EAGAIN (console.log throws, output is lost).
      throw new TypeError(
        `${what}: fd ${fd} is a socket that Deno's own ${STDIO[fd]} uses, and a socket cannot ` +
          "have a description of its own: a non-blocking one would make Deno's use of it fail. " +
          "Use Connection.fromFd on a copy (dup), which leaves its mode alone",
      );
    }
    const copy = ok(libc.fcntl(fd, C.F_DUPFD_CLOEXEC, 3), "fcntl", { fd });
    try {
      // A regular file never makes a read or write wait: its mode stays as Deno has it.
      if (blocking && type !== C.S_IFREG) setNonBlocking(copy, flags);
    } catch (e) {
      libc.close(copy);
      throw e;
    }
    return copy;
  }
  if (own >= 0) {
    putAt(own, fd);
  } else if (blocking) {
    setNonBlocking(fd, flags);
  }
  ok(libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC), "fcntl", { fd });
  return fd;
}

/**
 * Gives `fd` a non-blocking description of its own (reopened through
 * `/proc/self/fd`) at the same number, close-on-exec: the one it shares with
 * another process keeps its mode. For a pipe, FIFO, terminal or POSIX queue.
 * False when it cannot be reopened: the reopen is an `open(2)`, checked
 * against the object's mode, which a process handed the descriptor may fail
 * (one that dropped privileges, say).
 */
export function ownNonBlocking(fd: number, flags: number): boolean {
  const own = reopenPipe(fd, flags, true);
  if (own < 0) return false;
  putAt(own, fd);
  return true;
}

/** Moves descriptor `own` to number `fd` (dup3 does it atomically), close-on-exec. */
function putAt(own: number, fd: number): void {
  const r = libc.dup3(own, fd, C.O_CLOEXEC);
  try {
    ok(r, "dup3", { fd });
  } finally {
    libc.close(own);
  }
}

/** Not reopenable (a socket, a file): the shared description goes non-blocking. */
function setNonBlocking(fd: number, flags: number): void {
  ok(libc.fcntl(fd, C.F_SETFL, flags | C.O_NONBLOCK), "fcntl", { fd });
}

const STDIO = ["stdin", "stdout", "stderr"];

/** Whether `fd` is a pipe or FIFO (`F_GETPIPE_SZ` works on nothing else). */
export function isPipe(fd: number): boolean {
  return libc.fcntl(fd, C.F_GETPIPE_SZ, 0) >= 0;
}

/**
 * Opens a new description of the pipe or FIFO behind `fd`, with the access
 * mode of `flags` and blocking or not as asked; close-on-exec. Returns -1 when
 * that cannot be done (no /proc, or a write side whose readers are all gone).
 */
export function reopenPipe(fd: number, flags: number, nonBlocking: boolean): number {
  // Opened non-blocking so a FIFO open cannot wait for a partner here.
  const path = cString(`/proc/self/fd/${fd}`);
  const own = libc.open(path, (flags & 3) | C.O_NONBLOCK | C.O_CLOEXEC, 0);
  if (own < 0 || nonBlocking) return own;
  const got = libc.fcntl(own, C.F_GETFL, 0);
  if (got < 0 || libc.fcntl(own, C.F_SETFL, got & ~C.O_NONBLOCK) < 0) {
    libc.close(own);
    return -1;
  }
  return own;
}

/**
 * A blocking description of what `fd` is open on, for a pipe, FIFO or POSIX
 * queue (whose descriptors are files of the mqueue file system), close-on-exec;
 * for a signalfd, a new one of the same signals (a signalfd reads the signals
 * of whichever process reads it, so it is the same to its reader); -1 for
 * anything else, or when /proc cannot be read. `flags` are its `F_GETFL`, when
 * the caller has them already.
 */
export function reopenBlocking(fd: number, flags = libc.fcntl(fd, C.F_GETFL, 0)): number {
  if (flags < 0) return -1;
  if (isPipe(fd)) return reopenPipe(fd, flags, false);
  if (isMessageQueue(fd)) {
    return libc.open(cString(`/proc/self/fd/${fd}`), (flags & 3) | C.O_CLOEXEC, 0);
  }
  const mask = signalfdMask(fd);
  return mask === undefined ? -1 : libc.signalfd(-1, mask, C.SFD_CLOEXEC);
}

/**
 * The signals a signalfd reads, as a `sigset_t` (`sigmask:` of its
 * `/proc/self/fdinfo`, in hexadecimal, signal n at bit n - 1); undefined for
 * any other descriptor.
 */
function signalfdMask(fd: number): Uint8Array | undefined {
  const hex = /^sigmask:\s*([0-9a-f]+)$/m.exec(procText(`/proc/self/fdinfo/${fd}`) ?? "")?.[1];
  if (hex === undefined) return undefined;
  const bits = BigInt(`0x${hex}`);
  const set = new Uint8Array(SIZEOF.sigset_t);
  libc.sigemptyset(set);
  for (let n = 1; n <= 64; n++) if ((bits >> BigInt(n - 1)) & 1n) libc.sigaddset(set, n);
  return set;
}

const MQ_ATTR = LAYOUTS.mq_attr;

/** Whether `fd` is a POSIX message queue (`mq_getattr` works on nothing else). */
function isMessageQueue(fd: number): boolean {
  return libc.mq_getattr(fd, new Uint8Array(MQ_ATTR.size)) === 0;
}
