/**
 * Which signals a signalfd can see here: those blocked in every thread of the
 * process (a signal some thread leaves unblocked is delivered to that thread
 * instead, and never reaches the signalfd).
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS, SIZEOF } from "../../ffi/platform.ts";
import { procText, threadIds } from "../_proc.ts";
import { shown } from "../_check.ts";
import { ALARM_SIGNAL, NUDGE_SIGNAL } from "../_wait/nudge.ts";
import { type SignalName, signalName, signalNumber } from "./names.ts";

/**
 * The signal numbers of `signals`, each once, checked for reading with a
 * signalfd (or blocking for it): SIGKILL and SIGSTOP cannot be blocked, and
 * the library's own two signals must reach it.
 */
export function readableSignals(
  signals: ReadonlyArray<SignalName | number>,
  what: string,
): number[] {
  if (!Array.isArray(signals) || signals.length === 0) {
    throw new TypeError(
      `${what}: signals must be a non-empty array of signal names or numbers, got ${
        shown(signals)
      }`,
    );
  }
  // Array.from, not map: a hole is checked (as undefined), not skipped to reach libc.
  const numbers = [...new Set(Array.from(signals, (s) => signalNumber(s)))];
  for (const n of numbers) checkOwnable(n, what, "be read");
  return numbers;
}

/**
 * Refuses what this process cannot take a signal for: SIGKILL and SIGSTOP,
 * which cannot be caught or blocked, and the library's own two signals.
 * `use` completes "so it cannot ...".
 */
export function checkOwnable(n: number, what: string, use: string): void {
  if (n === C.SIGKILL || n === C.SIGSTOP) {
    throw new RangeError(
      `${what}: ${signalName(n)} cannot be caught or blocked, so it cannot ${use}`,
    );
  }
  if (n === NUDGE_SIGNAL || n === ALARM_SIGNAL) {
    throw new RangeError(
      `${what}: ${signalName(n)} (${n}) is reserved by this library: it interrupts ` +
        "blocked calls to cancel waits and end sync timeouts",
    );
  }
}

/** Whether `signal` is ignored (`SIG_IGN`) in this process. */
export function isIgnored(signal: number): boolean {
  const old = new Uint8Array(LAYOUTS.sigaction.size);
  return libc.sigaction(signal, null, old) === 0 &&
    BigInt(LAYOUTS.sigaction.decode(old).sa_handler) === BigInt(C.SIG_IGN);
}

/** A signal set holding `signals`. */
export function sigsetOf(signals: readonly number[]): Uint8Array {
  const set = new Uint8Array(SIZEOF.sigset_t);
  libc.sigemptyset(set);
  for (const s of signals) libc.sigaddset(set, s);
  return set;
}

/** Where a signal is not blocked: a thread, and which of the signals it leaves unblocked. */
export interface Unblocked {
  /** The thread's id. */
  readonly tid: number;
  /** The signals it does not block. */
  readonly signals: number[];
}

/**
 * The first thread of this process that does not block every one of
 * `signals` (from `SigBlk` in /proc/self/task/<tid>/status; the calling
 * thread from `pthread_sigmask(3)`), or undefined when every thread blocks them.
 */
export function unblockedThread(signals: readonly number[]): Unblocked | undefined {
  const mine = new Uint8Array(SIZEOF.sigset_t);
  libc.pthread_sigmask(C.SIG_BLOCK, null, mine);
  const here = signals.filter((s) => libc.sigismember(mine, s) !== 1);
  if (here.length > 0) return { tid: libc.gettid(), signals: here };
  // Where /proc cannot be read (hidepid, seccomp), or numbers signals otherwise than this
  // process does (a user-mode emulator such as qemu-user maps the guest's real-time signals
  // to other host signals, and /proc shows the host's), this thread is all that can be checked.
  if (unblockedIn(procMask("thread-self"), signals).length > 0) return undefined;
  for (const tid of threadIds() ?? []) {
    const mask = procMask(`self/task/${tid}`);
    if (mask === undefined) continue; // the thread ended meanwhile
    const missing = unblockedIn(mask, signals);
    if (missing.length > 0) return { tid, signals: missing };
  }
  return undefined;
}

/** `SigBlk` of /proc/<of>/status, or undefined where it cannot be read. */
function procMask(of: string): bigint | undefined {
  const m = /^SigBlk:\s*([0-9a-f]+)$/m.exec(procText(`/proc/${of}/status`) ?? "");
  return m === null ? undefined : BigInt(`0x${m[1]}`);
}

/** Those of `signals` that `mask` leaves unblocked (all of them when there is no mask). */
function unblockedIn(mask: bigint | undefined, signals: readonly number[]): number[] {
  return signals.filter((s) => mask === undefined || ((mask >> BigInt(s - 1)) & 1n) === 0n);
}
