/**
 * What every file-descriptor handle shares: ownership of the fd, non-blocking
 * mode (the waiting engine needs it), close-on-exec, idempotent close that
 * cancels pending waits, and use-after-close errors.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";
import { C } from "../ffi/platform.ts";
import { closedError, lastError } from "./errors.ts";
import { fdEngine, Spinner } from "./_wait.ts";

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

/** Base of the fd handles: owns one descriptor until `close()`. */
export abstract class FdHandle implements Disposable {
  #fd: number;
  /** Spin state of this handle's waits (see the waiting engine). */
  protected readonly spinner: Spinner = new Spinner();

  /** @param fd an open descriptor this handle now owns */
  protected constructor(fd: number) {
    this.#fd = fd;
  }

  /** Name used in error messages. */
  protected abstract get what(): string;

  /**
   * The descriptor number, e.g. to hand it to a child with `spawn(..., { fds })`.
   * @throws {Deno.errors.BadResource} after `close()`.
   */
  get fd(): number {
    if (this.#fd < 0) throw closedError(this.what);
    return this.#fd;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Closes the descriptor; pending waits on it reject with `BadResource`.
   * Closing twice does nothing.
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    fdEngine.cancelFd(fd, closedError(this.what));
    // close(2) releases the fd even when it reports EINTR or EIO; nothing to retry.
    libc.close(fd);
  }

  /** Closes the descriptor (`using` support). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Checks that `buf` is a Uint8Array (FFI would pass anything else as NULL or fail obscurely). */
export function checkBuffer(buf: Uint8Array, what = "buffer"): void {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${Object.prototype.toString.call(buf)}`);
  }
}
