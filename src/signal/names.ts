/**
 * Signal names and numbers, real-time signals (`"SIGRTMIN+n"`,
 * `"SIGRTMAX-n"`) included.
 *
 * @module
 */
import { C } from "../../ffi/platform.ts";
import { checkInteger, shown } from "../_check.ts";

/**
 * The name of a standard signal, as in `Deno.Signal`.
 *
 * @example
 * ```ts
 * import { spawnProgram, type StandardSignalName } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const signal: StandardSignalName = "SIGINT";
 * const child = spawnProgram("/bin/sleep", ["10"]);
 * child.kill(signal);
 * assert.equal((await child.status).signal, signal);
 * ```
 */
export type StandardSignalName =
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

/**
 * The name of a real-time signal, as `kill -l` spells them: `"SIGRTMIN"`,
 * `"SIGRTMIN+1"`.. and ..`"SIGRTMAX-1"`, `"SIGRTMAX"` (34..64 on Linux with glibc).
 *
 * @example
 * ```ts
 * import { type RealTimeSignalName, signalName, signalNumber } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const names: RealTimeSignalName[] = ["SIGRTMIN", "SIGRTMIN+2", "SIGRTMAX-1", "SIGRTMAX"];
 * assert.deepEqual(names.map((name) => signalNumber(name)), [34, 36, 63, 64]);
 * assert.deepEqual([34, 36, 63, 64].map((n) => signalName(n)), names);
 * ```
 */
export type RealTimeSignalName =
  | "SIGRTMIN"
  | "SIGRTMAX"
  | `SIGRTMIN+${number}`
  | `SIGRTMAX-${number}`;

/**
 * The name of a signal: a standard one (`"SIGTERM"`) or a real-time one (`"SIGRTMIN+1"`).
 *
 * @example A child killed by a real-time signal
 * ```ts
 * import { type SignalName, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const child = spawnProgram("/bin/sleep", ["10"]);
 * child.kill("SIGRTMIN+1");
 * const signal: SignalName | null = (await child.status).signal;
 * assert.equal(signal, "SIGRTMIN+1");
 * ```
 */
export type SignalName = StandardSignalName | RealTimeSignalName;

const byNumber = new Map<number, StandardSignalName>();
for (const [name, value] of Object.entries(C)) {
  if (/^SIG[A-Z0-9]+$/.test(name) && !name.startsWith("SIGRT")) {
    byNumber.set(value, name as StandardSignalName);
  }
}

/** The real-time signals that follow SIGRTMIN (and precede SIGRTMAX): 30 on Linux. */
const RT_SPAN = C.SIGRTMAX - C.SIGRTMIN;

/**
 * The number of a signal given by name or number, as in `signal(7)`: a
 * standard name like `"SIGTERM"`, a real-time one like `"SIGRTMIN+1"` or
 * `"SIGRTMAX-2"`, or a number (returned as it is once checked). No system
 * call and no permission: it reads the platform's constants.
 *
 * @param signal a name like `"SIGTERM"` or `"SIGRTMIN+1"`, or a number
 * @returns the signal number on this platform
 * @throws {TypeError} for an unknown name
 * @throws {RangeError} for a number outside 1..31 and SIGRTMIN..SIGRTMAX
 *   (34..64 on Linux: glibc keeps 32 and 33), or a real-time name past the range
 *
 * @example
 * ```ts
 * import { signalNumber } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * assert.equal(signalNumber("SIGTERM"), 15);
 * assert.equal(signalNumber("SIGRTMIN+1"), 35);
 * assert.equal(signalNumber("SIGRTMAX-2"), 62);
 * assert.equal(signalNumber(40), 40);
 * ```
 */
export function signalNumber(signal: SignalName | number): number {
  if (typeof signal === "number") {
    if (
      !Number.isInteger(signal) || signal < 1 || signal > C.SIGRTMAX ||
      (signal > 31 && signal < C.SIGRTMIN)
    ) {
      throw new RangeError(
        `signal number must be an integer 1..31 or ${C.SIGRTMIN}..${C.SIGRTMAX}, got ${signal}`,
      );
    }
    return signal;
  }
  if (typeof signal !== "string") {
    throw new TypeError(`signal must be a name or a number, got ${shown(signal)}`);
  }
  const rt = /^SIGRT(?:MIN(?:\+(\d{1,2}))?|MAX(?:-(\d{1,2}))?)$/.exec(signal);
  if (rt !== null) {
    const [, plus, minus] = rt;
    const offset = Number(plus ?? minus ?? 0);
    if (offset > RT_SPAN) {
      throw new RangeError(
        `${signal} is past the real-time signals (SIGRTMIN+0..${RT_SPAN}, SIGRTMAX-0..${RT_SPAN})`,
      );
    }
    return signal.startsWith("SIGRTMIN") ? C.SIGRTMIN + offset : C.SIGRTMAX - offset;
  }
  const n = /^SIG[A-Z0-9]+$/.test(signal) ? (C as Record<string, number>)[signal] : undefined;
  if (n === undefined || !byNumber.has(n)) throw new TypeError(`unknown signal ${signal}`);
  return n;
}

/**
 * The name of a signal number: `"SIGTERM"`, or for a real-time signal the
 * name `kill -l` gives it (`"SIGRTMIN+1"`, `"SIGRTMAX-14"`). 32 and 33, which
 * glibc keeps for itself, are `"SIG32"` and `"SIG33"`. No system call and
 * no permission: it reads the platform's constants.
 *
 * @param signal a signal number, 1..SIGRTMAX (64 on Linux)
 * @returns its name
 * @throws {TypeError} when `signal` is not a number
 * @throws {RangeError} for a number that is not an integer 1..SIGRTMAX
 *
 * @example
 * ```ts
 * import { signalName } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * assert.equal(signalName(10), "SIGUSR1");
 * assert.equal(signalName(35), "SIGRTMIN+1");
 * assert.equal(signalName(64), "SIGRTMAX");
 * ```
 */
export function signalName(signal: number): SignalName {
  checkInteger(signal, "signal number", 1, C.SIGRTMAX);
  const standard = byNumber.get(signal);
  if (standard !== undefined) return standard;
  // Not a SignalName: a name no signalNumber() accepts, for a signal glibc keeps.
  if (signal < C.SIGRTMIN) return `SIG${signal}` as SignalName;
  const offset = signal - C.SIGRTMIN;
  if (offset === 0) return "SIGRTMIN";
  if (signal === C.SIGRTMAX) return "SIGRTMAX";
  return offset <= RT_SPAN / 2 ? `SIGRTMIN+${offset}` : `SIGRTMAX-${C.SIGRTMAX - signal}`;
}
