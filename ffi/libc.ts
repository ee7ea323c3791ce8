/**
 * The one `Deno.dlopen` of the C library. Everything else in the project calls
 * libc through {@link libc}; only `src/_sys.ts` reads errno through
 * {@link errno}, right after a synchronous call (Deno overwrites it between
 * event-loop turns; after a `nonblocking` call it is lost).
 *
 * @module
 */
import { LIBC_PATH } from "./platform.ts";
import { errno as errnoSymbols } from "./symbols/errno.ts";
import { dirent } from "./symbols/dirent.ts";
import { fcntl } from "./symbols/fcntl.ts";
import { futex } from "./symbols/futex.ts";
import { mman } from "./symbols/mman.ts";
import { mqueue } from "./symbols/mqueue.ts";
import { msg } from "./symbols/msg.ts";
import { poll } from "./symbols/poll.ts";
import { sched } from "./symbols/sched.ts";
import { sem } from "./symbols/sem.ts";
import { shm } from "./symbols/shm.ts";
import { socket } from "./symbols/socket.ts";
import { signal } from "./symbols/signal.ts";
import { spawn } from "./symbols/spawn.ts";
import { unistd } from "./symbols/unistd.ts";

const symbols = {
  ...errnoSymbols,
  ...dirent,
  ...fcntl,
  ...futex,
  ...mman,
  ...mqueue,
  ...msg,
  ...poll,
  ...sched,
  ...sem,
  ...shm,
  ...socket,
  ...signal,
  ...spawn,
  ...unistd,
} as const;

const lib = Deno.dlopen(LIBC_PATH, symbols);

/** The libc functions, by C name (blocking forms parked on a pool thread end in `_parked`). */
export const libc: Deno.DynamicLibrary<typeof symbols>["symbols"] = lib.symbols;

// __errno_location() is per thread; the module is evaluated once per thread (main or Worker).
const errnoCell = new Int32Array(
  Deno.UnsafePointerView.getArrayBuffer(lib.symbols.__errno_location()!, 4),
);

/** This thread's errno. Read it at once after the failing synchronous call. */
export function errno(): number {
  return errnoCell[0];
}

/** Sets this thread's errno to 0, for the calls whose failure value is also a valid result. */
export function clearErrno(): void {
  errnoCell[0] = 0;
}

/** The C library's text for an errno number (`strerror`). */
export function strerror(code: number): string {
  const p = lib.symbols.strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}
