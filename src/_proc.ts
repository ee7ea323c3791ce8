/**
 * Small files under /proc, read through libc (no `--allow-read` needed):
 * kernel limits, capabilities, resource limits, the threads of this process.
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";
import { libc } from "../ffi/libc.ts";
import { C, LAYOUTS } from "../ffi/platform.ts";

const decoder = new TextDecoder();

/** The text of a small /proc file (up to 8 KiB), or `undefined` when it cannot be read. */
export function procText(path: string): string | undefined {
  const fd = libc.open(cString(path), C.O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  const buf = new Uint8Array(8192);
  let got = 0;
  for (;;) {
    const n = libc.read(fd, got === 0 ? buf : buf.subarray(got), buf.length - got);
    if (n <= 0 || (got += n) === buf.length) break;
  }
  libc.close(fd);
  return decoder.decode(buf.subarray(0, got));
}

/**
 * The integer in a /proc/sys file (e.g. `kernel/msgmax`), read fresh each
 * time (an administrator may change it), or `undefined` if it cannot be read.
 */
export function procSysInt(name: string): number | undefined {
  const text = procText(`/proc/sys/${name}`);
  const value = text === undefined ? NaN : Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : undefined;
}

/** The threads of this process, or `undefined` when /proc/self/task cannot be read. */
export function threadIds(): number[] | undefined {
  const dir = libc.opendir(cString("/proc/self/task"));
  if (dir === null) return undefined;
  const tids: number[] = [];
  try {
    for (let ent = libc.readdir(dir); ent !== null; ent = libc.readdir(dir)) {
      const name = new Deno.UnsafePointerView(ent).getCString(LAYOUTS.dirent.offsets.d_name);
      const tid = Number(name);
      if (Number.isInteger(tid) && tid > 0) tids.push(tid);
    }
  } finally {
    libc.closedir(dir);
  }
  return tids;
}
