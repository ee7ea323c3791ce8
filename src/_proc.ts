/**
 * Small files under /proc, read through libc (no `--allow-read` needed):
 * kernel limits, capabilities, resource limits, the threads of this process.
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";
import { errno, libc } from "../ffi/libc.ts";
import { C, ERRNO, LAYOUTS } from "../ffi/platform.ts";

const decoder = new TextDecoder();

/**
 * A descriptor held in reserve (on /dev/null) for reading /proc when the
 * process has no other free: the waiting engine finds the pool thread of a
 * parked call there to end it, and a timeout, an abort or `close()` must end
 * a wait even while the program holds every descriptor it may have.
 */
let reserve = -1;

/** The descriptor held in reserve, or -1. */
export function reserved(): number {
  return reserve;
}

/** Takes a descriptor into reserve, if none is; whether one is. */
export function reserveFd(): boolean {
  if (reserve < 0) reserve = libc.open(cString("/dev/null"), C.O_RDONLY | C.O_CLOEXEC, 0);
  return reserve >= 0;
}

/** Gives the reserve back (taken again at the next wait that needs it). */
export function releaseReserve(): void {
  if (reserve >= 0) libc.close(reserve);
  reserve = -1;
}

/**
 * `open()`, and where it failed for want of a descriptor (EMFILE), again with
 * the reserve given up for it; then `use` and `close` what it opened, and takes
 * the reserve back. `undefined` when it could not be opened.
 */
function withOpened<H, R>(open: () => H | null, use: (h: H) => R, close: (h: H) => void) {
  let h = open();
  const borrow = h === null && reserve >= 0 && errno() === ERRNO.EMFILE;
  if (borrow) {
    libc.close(reserve);
    reserve = -1;
    h = open();
  }
  try {
    if (h === null) return undefined;
    try {
      return use(h);
    } finally {
      close(h);
    }
  } finally {
    if (borrow) reserveFd();
  }
}

/** `open(2)` of `path` for reading, or null. */
function openPath(path: Uint8Array): () => number | null {
  return () => {
    const fd = libc.open(path, C.O_RDONLY | C.O_CLOEXEC, 0);
    return fd < 0 ? null : fd;
  };
}

/** Reads `fd` into `buf` (to its end, or until `buf` is full): the number of bytes read. */
function readInto(fd: number, buf: Uint8Array): number {
  let got = 0;
  for (;;) {
    const n = libc.read(fd, got === 0 ? buf : buf.subarray(got), buf.length - got);
    if (n <= 0 || (got += n) === buf.length) return got;
  }
}

/**
 * The bytes of a /proc file read into `buf` (a single read: a file that the
 * kernel makes at each read, as a thread's `syscall`), or `undefined` when it
 * cannot be read.
 */
export function procBytes(path: Uint8Array, buf: Uint8Array): Uint8Array | undefined {
  const n = withOpened(openPath(path), (fd) => libc.read(fd, buf, buf.length), libc.close);
  return n === undefined || n <= 0 ? undefined : buf.subarray(0, n);
}

/** The text of a /proc file, whole, or `undefined` when it cannot be read. */
export function procText(path: string): string | undefined {
  return withOpened(openPath(cString(path)), (fd) => {
    let text = "";
    for (const buf = new Uint8Array(8192);;) {
      const got = readInto(fd, buf);
      text += decoder.decode(buf.subarray(0, got), { stream: got === buf.length });
      if (got < buf.length) return text;
    }
  }, libc.close);
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
  return numberedEntries("/proc/self/task")?.filter((tid) => tid > 0);
}

/**
 * The descriptors open in this process (with, maybe, the one that read the
 * list, closed since), or `undefined` when /proc/self/fd cannot be read.
 */
export function openFds(): number[] | undefined {
  return numberedEntries("/proc/self/fd");
}

/** The names of a directory's entries that are integers, as numbers. */
function numberedEntries(path: string): number[] | undefined {
  return withOpened(() => libc.opendir(cString(path)), (dir) => {
    const numbers: number[] = [];
    for (let ent = libc.readdir(dir); ent !== null; ent = libc.readdir(dir)) {
      const name = new Deno.UnsafePointerView(ent).getCString(LAYOUTS.dirent.offsets.d_name);
      if (/^\d+$/.test(name)) numbers.push(Number(name));
    }
    return numbers;
  }, libc.closedir);
}
