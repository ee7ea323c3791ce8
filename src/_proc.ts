/**
 * Kernel limits from /proc/sys, read through libc (no `--allow-read` needed).
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";
import { libc } from "../ffi/libc.ts";
import { C } from "../ffi/platform.ts";

const buf = new Uint8Array(64);

/**
 * The integer in a /proc/sys file (e.g. `kernel/msgmax`), read fresh each
 * time (an administrator may change it), or `undefined` if it cannot be read.
 */
export function procSysInt(name: string): number | undefined {
  const fd = libc.open(cString(`/proc/sys/${name}`), C.O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  const n = libc.read(fd, buf, buf.length);
  libc.close(fd);
  if (n <= 0) return undefined;
  const value = Number.parseInt(new TextDecoder().decode(buf.subarray(0, n)), 10);
  return Number.isFinite(value) ? value : undefined;
}
