/**
 * Names of POSIX IPC objects (queues, shared memory, named semaphores): one
 * leading "/", no other, as `mq_overview(7)`, `shm_overview(7)` and
 * `sem_overview(7)` ask.
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";

/**
 * Checks a POSIX IPC name and returns it as a C string; `what` names it in
 * errors ("queue name"), `maxBytes` is its longest length with the "/".
 */
export function posixName(name: unknown, what: string, maxBytes: number): Uint8Array<ArrayBuffer> {
  if (typeof name !== "string") {
    throw new TypeError(`${what} must be a string, got ${typeof name}`);
  }
  if (!name.startsWith("/")) {
    throw new TypeError(`${what} must start with "/", got ${JSON.stringify(name)}`);
  }
  if (name.indexOf("/", 1) >= 0) {
    throw new TypeError(
      `${what} must have no "/" after the first character, got ${JSON.stringify(name)}`,
    );
  }
  if (name === "/." || name === "/..") {
    throw new TypeError(`${what} must not be "/." or "/..", got ${JSON.stringify(name)}`);
  }
  const c = cString(name, what);
  const bytes = c.byteLength - 1;
  if (bytes < 2 || bytes > maxBytes) {
    throw new RangeError(
      `${what} must be 2..${maxBytes} bytes ("/" and 1..${maxBytes - 1} more), got ${bytes}`,
    );
  }
  return c;
}
