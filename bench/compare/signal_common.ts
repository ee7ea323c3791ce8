/**
 * What bench/compare/signal.ts and its Deno child (signal_child.ts) share:
 * the signals of each row, and the raw libc calls of the "floor" rows
 * (`sigqueue` and a blocking `sigtimedwait` through a plain `Deno.dlopen`,
 * as C makes them with `sigwaitinfo`).
 *
 * @module
 */
import { ERRNO, LAYOUTS, LIBC_PATH } from "../../ffi/platform.ts";
import { type SignalName, signalNumber } from "../../mod.ts";

/** C, the floor and this library: this one goes to the child, with the round's number. */
export const THERE: SignalName = "SIGRTMIN+1";
/** ... and this one comes back, with the same number. */
export const BACK: SignalName = "SIGRTMIN+2";
/** The value that tells the child to end (after the last round, so it never ends mid-wait). */
export const STOP = -1;
/**
 * `Deno.addSignalListener` takes no real-time signals (and carries no value):
 * SIGUSR2 goes to the child, SIGURG (ignored by default, so one that comes
 * early is lost, never fatal) comes back. Not SIGUSR1: Deno opens its
 * inspector on it.
 */
export const LISTEN_THERE: Deno.Signal = "SIGUSR2";
export const LISTEN_BACK: Deno.Signal = "SIGURG";

/** How long a raw wait waits before it fails, in seconds: a peer that died must not hang the run. */
const TIMEOUT_S = 10;

const symbols = {
  sigqueue: { parameters: ["i32", "i32", "i64"], result: "i32" },
  sigtimedwait: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  sigaddset: { parameters: ["buffer", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let raw: Deno.DynamicLibrary<typeof symbols>["symbols"] | undefined;
const rawLibc = () => raw ??= Deno.dlopen(LIBC_PATH, symbols).symbols;

const SIGINFO = LAYOUTS.siginfo_t;
/** `si_value.sival_int`: the third int of `_sifields` (`_rt`: si_pid, si_uid, si_sigval). */
const SIVAL_INT = SIGINFO.offsets["_sifields._pad"] + 2 * 4;

/** Blocking waits for one signal (blocked in every thread) and sends with a value. */
export class RawSignals {
  readonly #set = new Uint8Array(LAYOUTS.sigset_t.size);
  readonly #info = new Uint8Array(SIGINFO.size);
  readonly #view = new DataView(this.#info.buffer);
  readonly #timeout = new Uint8Array(new BigInt64Array([BigInt(TIMEOUT_S), 0n]).buffer);

  /** Waits for `signal` with {@link wait}. */
  constructor(signal: SignalName) {
    const { sigemptyset, sigaddset } = rawLibc();
    sigemptyset(this.#set);
    sigaddset(this.#set, signalNumber(signal));
  }

  /** `sigqueue(pid, signal, value)`. */
  send(pid: number, signal: number, value: number): void {
    if (rawLibc().sigqueue(pid, signal, BigInt(value)) < 0) throw new Error("sigqueue failed");
  }

  /** Waits for the signal (retrying after an interruption) and returns its value. */
  wait(): number {
    const { sigtimedwait, __errno_location } = rawLibc();
    while (sigtimedwait(this.#set, this.#info, this.#timeout) < 0) {
      const errno = new Deno.UnsafePointerView(__errno_location()!).getInt32();
      if (errno !== ERRNO.EINTR) throw new Error(`sigtimedwait failed: errno ${errno}`);
    }
    return this.#view.getInt32(SIVAL_INT, true);
  }
}
