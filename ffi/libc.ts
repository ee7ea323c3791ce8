/**
 * The only place that opens the C library. Everything else in the project
 * calls libc through {@link libc}; only `src/_sys.ts` reads errno through
 * {@link errno}. Every synchronous function of {@link libc} keeps the errno it
 * leaves, read in the same breath as it returns: between a call and a later
 * read, the JavaScript engine may run code of its own on this thread (a
 * collection or a code install at the next function entry) whose system calls
 * overwrite errno, as Dart's FFI notes of its VM (dart-lang/sdk#38832); after
 * a `nonblocking` call errno is lost anyway.
 *
 * Each table of `ffi/symbols/` is opened (`Deno.dlopen`) at the first call of
 * one of its functions, not at import: `Deno.dlopen` costs about 0.15 ms per
 * function, and a program uses a few of the tables (a pipe's reads and writes
 * open two, with 17 of the 123 functions: a program's first pipe round trip
 * takes 6 ms, where opening all of them made it 20; `deno task bench:startup`).
 * Importing needs no permission, and a program that never calls libc is never
 * asked for `--allow-ffi`.
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

/** The tables by name, each opened as a whole at the first call of one of its functions. */
const TABLES = {
  errno: errnoSymbols,
  dirent,
  fcntl,
  futex,
  mman,
  mqueue,
  msg,
  poll,
  sched,
  sem,
  shm,
  socket,
  signal,
  spawn,
  unistd,
} as const;
type TableName = keyof typeof TABLES;
type Table = typeof TABLES[TableName];

/** The members of every type of the union `U`, in one type. */
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I
  : never;
type Symbols = Deno.DynamicLibrary<Intersection<Table>>["symbols"];

// __errno_location() is per thread; the module is evaluated once per thread (main or Worker).
let errnoCell: Int32Array | undefined;
/** The errno the last synchronous call of {@link libc} left. */
let kept = 0;

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => unknown;

/** `fn` with the errno it leaves kept; one arity per closure, so no call allocates an array. */
function keepingErrno(fn: Fn, arity: number, cell: Int32Array): Fn {
  switch (arity) {
    case 0:
      return () => {
        const r = fn();
        kept = cell[0];
        return r;
      };
    case 1:
      return (a) => {
        const r = fn(a);
        kept = cell[0];
        return r;
      };
    case 2:
      return (a, b) => {
        const r = fn(a, b);
        kept = cell[0];
        return r;
      };
    case 3:
      return (a, b, c) => {
        const r = fn(a, b, c);
        kept = cell[0];
        return r;
      };
    case 4:
      return (a, b, c, d) => {
        const r = fn(a, b, c, d);
        kept = cell[0];
        return r;
      };
    case 5:
      return (a, b, c, d, e) => {
        const r = fn(a, b, c, d, e);
        kept = cell[0];
        return r;
      };
    default:
      return (...args) => {
        const r = fn(...args);
        kept = cell[0];
        return r;
      };
  }
}

/**
 * Throws unless FFI is granted whole, asking at Deno's prompt where it may.
 * A bare library name given to `Deno.dlopen` under a partial grant, or at the
 * prompt, is taken as a path in the working directory: a `libc.so.6` placed
 * there would be loaded. And Deno's pointer functions, which the library
 * uses, need the whole grant anyway.
 */
function checkFfiGrant(): void {
  let status = Deno.permissions.querySync({ name: "ffi" });
  if (status.state === "prompt") status = Deno.permissions.requestSync({ name: "ffi" });
  if (status.state !== "granted" || status.partial) {
    throw new Deno.errors.NotCapable(
      `Requires ffi access to "${LIBC_PATH}" and to Deno's pointer functions, granted whole: ` +
        "run again with the --allow-ffi flag (not --allow-ffi=<path>, nor with --deny-ffi=<path>)",
    );
  }
}

/** This thread's errno cell, found at the first call. */
function errnoOf(): Int32Array {
  if (errnoCell === undefined) {
    checkFfiGrant();
    const { symbols } = Deno.dlopen(LIBC_PATH, { __errno_location: errnoSymbols.__errno_location });
    errnoCell = new Int32Array(
      Deno.UnsafePointerView.getArrayBuffer(symbols.__errno_location()!, 4),
    );
  }
  return errnoCell;
}

/** The values of the tables' statics (`environ`), once their table is open. */
const statics = new Map<string, unknown>();

/** The tables opened, by name. */
const opened = new Set<TableName>();

/**
 * Opens `table` and puts its functions in {@link libc}, in place of their
 * stand-ins; once only (a stand-in kept aside and called again opens nothing).
 */
function open(name: TableName): void {
  if (opened.has(name)) return;
  const table: Table = TABLES[name];
  const cell = errnoOf();
  // Marked open once opened: a refused open (no --allow-ffi) is refused again at the next call.
  const { symbols } = Deno.dlopen(LIBC_PATH, table);
  opened.add(name);
  const into = libc as unknown as Record<string, unknown>;
  for (const [symbol, value] of Object.entries(symbols)) {
    const def = table[symbol as keyof Table] as Deno.ForeignFunction | Deno.ForeignStatic;
    if (!("parameters" in def)) statics.set(symbol, value);
    // errno's own table reports errors: it keeps the errno it reports.
    else if (def.nonblocking === true || name === "errno") into[symbol] = value;
    else into[symbol] = keepingErrno(value as Fn, def.parameters.length, cell);
  }
}

/**
 * The libc functions, by C name (blocking forms parked on a pool thread end
 * in `_parked`). Until its table is open, each is a stand-in that opens the
 * table, then calls the function itself; later calls find the function
 * itself, and pay nothing for this. A static is read through a getter that
 * opens its table.
 */
export const libc: Symbols = Object.fromEntries(
  Object.entries(TABLES).flatMap(([table, defs]) =>
    Object.entries(defs).filter(([, def]) => "parameters" in def).map(([symbol]) => [
      symbol,
      (...args: unknown[]) => {
        open(table as TableName);
        return (libc as unknown as Record<string, Fn>)[symbol](...args);
      },
    ])
  ),
) as unknown as Symbols;
for (const [table, defs] of Object.entries(TABLES)) {
  for (const [symbol, def] of Object.entries(defs)) {
    if ("parameters" in def) continue;
    Object.defineProperty(libc, symbol, {
      enumerable: true,
      get: () => {
        open(table as TableName);
        return statics.get(symbol);
      },
    });
  }
}

/** The names of the tables of `ffi/symbols/` opened so far (for tests and diagnostics). */
export function openTables(): string[] {
  return [...opened].sort();
}

/** The errno the last synchronous libc call left. Read it once that call has failed. */
export function errno(): number {
  return kept;
}

/** Sets this thread's errno to 0, for the calls whose failure value is also a valid result. */
export function clearErrno(): void {
  errnoOf()[0] = 0;
  kept = 0;
}

/** The C library's text for an errno number (`strerror`). */
export function strerror(code: number): string {
  const p = libc.strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}
