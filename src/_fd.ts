/**
 * Checks shared by the file-descriptor handles: adopting an fd (non-blocking
 * mode, which the waiting engine needs, and close-on-exec) and buffer types.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";
import { C } from "../ffi/platform.ts";
import { lastError } from "./errors.ts";

/** How a descriptor may be used, from its open flags. */
export type Access = "read" | "write";

/** Checks that `fd` is an open descriptor usable for `access`; makes it non-blocking and close-on-exec. */
export function adoptFd(fd: number, access: Access, what: string): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new TypeError(`${what}: fd must be a non-negative integer, got ${fd}`);
  }
  const flags = libc.fcntl(fd, C.F_GETFL, 0);
  if (flags < 0) throw lastError("fcntl", { fd });
  const mode = flags & 3;
  const ok = access === "read" ? mode !== C.O_WRONLY : mode !== C.O_RDONLY;
  if (!ok) {
    throw new TypeError(
      `${what}: fd ${fd} is not open for ${access === "read" ? "reading" : "writing"}`,
    );
  }
  if ((flags & C.O_NONBLOCK) === 0 && libc.fcntl(fd, C.F_SETFL, flags | C.O_NONBLOCK) < 0) {
    throw lastError("fcntl", { fd });
  }
  if (libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC) < 0) throw lastError("fcntl", { fd });
}

/** Checks that `buf` is a Uint8Array (FFI would pass anything else as NULL or fail obscurely). */
export function checkBuffer(buf: Uint8Array, what = "buffer"): void {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${Object.prototype.toString.call(buf)}`);
  }
}
