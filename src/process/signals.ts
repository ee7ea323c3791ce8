/**
 * Signal names and numbers.
 *
 * @module
 */
import { C } from "../../ffi/platform.ts";

/** The name of a standard signal, as in `Deno.Signal`. */
export type SignalName =
  | "SIGHUP"
  | "SIGINT"
  | "SIGQUIT"
  | "SIGILL"
  | "SIGTRAP"
  | "SIGABRT"
  | "SIGBUS"
  | "SIGFPE"
  | "SIGKILL"
  | "SIGUSR1"
  | "SIGSEGV"
  | "SIGUSR2"
  | "SIGPIPE"
  | "SIGALRM"
  | "SIGTERM"
  | "SIGSTKFLT"
  | "SIGCHLD"
  | "SIGCONT"
  | "SIGSTOP"
  | "SIGTSTP"
  | "SIGTTIN"
  | "SIGTTOU"
  | "SIGURG"
  | "SIGXCPU"
  | "SIGXFSZ"
  | "SIGVTALRM"
  | "SIGPROF"
  | "SIGWINCH"
  | "SIGIO"
  | "SIGPWR"
  | "SIGSYS";

const byNumber = new Map<number, SignalName>();
for (const [name, value] of Object.entries(C)) {
  if (/^SIG[A-Z0-9]+$/.test(name) && !name.startsWith("SIGRT")) {
    byNumber.set(value, name as SignalName);
  }
}

/**
 * The number of a signal given by name or number (real-time signals by number,
 * `SIGRTMIN`..`SIGRTMAX`), as in `signal(7)`. A number is returned as it is
 * once checked. Reads the constants of the platform table; no system call.
 *
 * @param signal a name like `"SIGTERM"`, or a number
 * @returns the signal number on this platform
 * @throws {TypeError} for an unknown name
 * @throws {RangeError} for a number outside 1..SIGRTMAX (64 on Linux)
 *
 * @example
 * ```ts
 * import { signalNumber } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * assert.equal(signalNumber("SIGTERM"), 15);
 * assert.equal(signalNumber(40), 40);
 * ```
 */
export function signalNumber(signal: SignalName | number): number {
  if (typeof signal === "number") {
    // 32 and 33 lie between the standard and the real-time signals: glibc keeps them.
    if (
      !Number.isInteger(signal) || signal < 1 || signal > C.SIGRTMAX ||
      (signal > 31 && signal < C.SIGRTMIN)
    ) {
      throw new RangeError(`signal number must be an integer 1..${C.SIGRTMAX}, got ${signal}`);
    }
    return signal;
  }
  const n = typeof signal === "string" && /^SIG[A-Z0-9]+$/.test(signal)
    ? (C as Record<string, number>)[signal]
    : undefined;
  if (n === undefined || !byNumber.has(n)) throw new TypeError(`unknown signal ${String(signal)}`);
  return n;
}

/** The name of a signal number (`"SIG40"` style for real-time ones). */
export function signalName(signal: number): SignalName {
  return byNumber.get(signal) ?? (`SIG${signal}` as SignalName);
}
