/**
 * The one `Deno.dlopen` of the C library. Everything else in the project calls
 * libc through {@link libc}; only `src/_sys.ts` reads errno through
 * {@link errno}. Every synchronous function of {@link libc} keeps the errno it
 * leaves, read in the same breath as it returns: between a call and a later
 * read, the JavaScript engine may run code of its own on this thread (a
 * collection or a code install at the next function entry) whose system calls
 * overwrite errno, as Dart's FFI notes of its VM (dart-lang/sdk#38832); after
 * a `nonblocking` call errno is lost anyway.
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

type Symbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** The opened library, once the first call has opened it. */
let lib: Deno.DynamicLibrary<typeof symbols> | undefined;
// __errno_location() is per thread; the module is evaluated once per thread (main or Worker).
let errnoCell = new Int32Array(1);
/** The errno the last synchronous call of {@link libc} left. */
let kept = 0;

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;

/** `fn` with the errno it leaves kept; one arity per closure, so no call allocates an array. */
function keepingErrno(fn: Fn, arity: number): Fn {
  switch (arity) {
    case 0:
      return () => {
        const r = fn();
        kept = errnoCell[0];
        return r;
      };
    case 1:
      return (a) => {
        const r = fn(a);
        kept = errnoCell[0];
        return r;
      };
    case 2:
      return (a, b) => {
        const r = fn(a, b);
        kept = errnoCell[0];
        return r;
      };
    case 3:
      return (a, b, c) => {
        const r = fn(a, b, c);
        kept = errnoCell[0];
        return r;
      };
    case 4:
      return (a, b, c, d) => {
        const r = fn(a, b, c, d);
        kept = errnoCell[0];
        return r;
      };
    case 5:
      return (a, b, c, d, e) => {
        const r = fn(a, b, c, d, e);
        kept = errnoCell[0];
        return r;
      };
    default:
      return (...args) => {
        const r = fn(...args);
        kept = errnoCell[0];
        return r;
      };
  }
}

/**
 * Opens the library on first use, not at import: importing the module needs
 * no permission, and a program that never calls it is never asked for
 * `--allow-ffi`. The binding {@link libc} then points at the functions
 * themselves, so later calls pay nothing for this.
 */
function openLibrary(): Symbols {
  if (lib === undefined) {
    lib = Deno.dlopen(LIBC_PATH, symbols);
    errnoCell = new Int32Array(
      Deno.UnsafePointerView.getArrayBuffer(lib.symbols.__errno_location()!, 4),
    );
    libc = Object.fromEntries(
      Object.entries(lib.symbols).map(([name, value]) => {
        const def = symbols[name as keyof typeof symbols] as
          | Deno.ForeignFunction
          | Deno.ForeignStatic;
        return "parameters" in def && def.nonblocking !== true
          ? [name, keepingErrno(value as Fn, def.parameters.length)]
          : [name, value];
      }),
    ) as Symbols;
  }
  return libc;
}

/**
 * The libc functions, by C name (blocking forms parked on a pool thread end
 * in `_parked`). Until the first call it stands in for them and opens the
 * library (see {@link openLibrary}).
 */
export let libc: Symbols = new Proxy({} as Symbols, {
  get: (_, name) => openLibrary()[name as keyof Symbols],
});

/** The errno the last synchronous libc call left. Read it once that call has failed. */
export function errno(): number {
  return kept;
}

/** Sets this thread's errno to 0, for the calls whose failure value is also a valid result. */
export function clearErrno(): void {
  openLibrary(); // the cell of this thread's errno is known once open
  errnoCell[0] = 0;
  kept = 0;
}

/** The C library's text for an errno number (`strerror`). */
export function strerror(code: number): string {
  openLibrary();
  const p = lib!.symbols.strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}
