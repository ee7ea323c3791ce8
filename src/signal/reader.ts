/**
 * {@link SignalReader}: signals read with their sender and value through a
 * `signalfd(2)`, opened by {@link signals}.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, failed, ok } from "../_sys.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  fdSource,
  type Operation,
  READABLE,
  setTimeLeft,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  waitSync,
} from "../_wait/mod.ts";
import { FdHandle, waitsOf } from "../fd/handle.ts";
import { readableSignals, sigsetOf, unblockedThread } from "./_mask.ts";
import { type SignalName, signalName } from "./names.ts";

/** Makes a {@link SignalReader}; set by the class, which user code cannot construct. */
let create: (fd: number, numbers: readonly number[]) => SignalReader;
/** What only this module passes the constructor. */
const INTERNAL: unique symbol = Symbol("SignalReader");

/**
 * One signal as a {@link SignalReader} reads it.
 *
 * @example What a child read, sent back to us as JSON
 * ```ts
 * import { pipe, sendSignal, type SignalInfo, spawn } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const out = pipe();
 * const child = spawn(
 *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
 *   console.log(JSON.stringify(signals(["SIGUSR2"]).readSync({ timeout: 10000 })));`,
 *   { blockSignals: ["SIGUSR2"], fds: { 1: out.writer } },
 * );
 * out.writer.close();
 * sendSignal(child, "SIGUSR2", { value: 7 });
 * const info: SignalInfo = JSON.parse(await new Response(out.reader.readable).text());
 * const uid = Deno.uid();
 * assert.deepEqual(info, { signal: 12, name: "SIGUSR2", pid: Deno.pid, uid, value: 7, code: -1 });
 * await child.status;
 * ```
 */
export interface SignalInfo {
  /** The signal's number (`ssi_signo`), e.g. 10. */
  signal: number;
  /** The signal's name, e.g. `"SIGUSR1"` or `"SIGRTMIN+1"`. */
  name: SignalName;
  /**
   * The sender's process id (`ssi_pid`); 0 for a signal from the kernel. A
   * signal the first process of `relaunchWithSignalsBlocked()` forwarded is its.
   */
  pid: number;
  /** The sender's real user id (`ssi_uid`). */
  uid: number;
  /**
   * The value sent with the signal (`ssi_int`, the sigval's `sival_int`) when
   * it has one (`code` SI_QUEUE: `sendSignal(..., { value })`, `sigqueue(3)`;
   * SI_TIMER, SI_MESGQ, SI_ASYNCIO: a POSIX timer's, `mq_notify(3)`'s, AIO's);
   * `null` for a signal sent without (`kill(2)`) or by the kernel.
   */
  value: number | null;
  /**
   * Who sent it and how (`ssi_code`): 0 SI_USER (`kill(2)`), -1 SI_QUEUE
   * (`sigqueue(3)`), -6 SI_TKILL (`tgkill(2)`), 128 SI_KERNEL; a positive code
   * names the kernel's reason (e.g. for SIGCHLD, `CLD_EXITED` 1).
   */
  code: number;
}

const INFO = LAYOUTS.signalfd_siginfo;
const AT = INFO.offsets;
const SIGINFO = LAYOUTS.siginfo_t;
/** Where `_sifields` holds the sender's pid, uid and `sival_int` (`_kill` and `_rt` alike). */
const SI_PID = SIGINFO.offsets["_sifields._pad"];
const SI_UID = SI_PID + 4;
const SI_INT = SI_PID + 8;
const TIMESPEC = LAYOUTS.timespec;

/** Codes whose signals carry a sigval: `sigqueue(3)`, POSIX timers, `mq_notify(3)`, AIO. */
const WITH_VALUE: ReadonlySet<number> = new Set([C.SI_QUEUE, C.SI_TIMER, C.SI_MESGQ, C.SI_ASYNCIO]);

/**
 * Whether a siginfo of `signal` with `code` names a sender in `_sifields`
 * (the kernel's layouts `_kill`, `_rt` and `_sigchld`): not a timer's or a
 * SIGIO's, nor a fault's.
 */
function hasSender(signal: number, code: number): boolean {
  if (code <= 0) return code !== C.SI_TIMER && code !== C.SI_SIGIO;
  return signal === C.SIGCHLD || code === C.SI_KERNEL;
}

/**
 * A reader of signals with their sender and value: a `signalfd(2)` for a set
 * of signals that every thread of this process blocks. Open it with
 * {@link signals}. Reads come in the library's three forms (`read`,
 * `readSync`, `tryRead`), and the reader is an async iterable. Each read
 * takes one signal, the lowest-numbered one pending first: a real-time signal
 * comes once per time it was sent, in that order, each time with its value; a
 * standard signal sent again before it is read is merged into the pending one
 * (one read, with the first sender and value).
 *
 * A signalfd reads the signals sent to the process (`kill`, `sigqueue`) and
 * those sent to the thread that reads; not those sent to another thread.
 *
 * Wraps `signalfd(2)` and `read(2)`. Needs `--allow-ffi`.
 *
 * @example A child started with the signals blocked prints the values it reads
 * ```ts
 * import { pipe, sendSignal, spawn } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const out = pipe();
 * const child = spawn(
 *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
 *   for await (const s of signals(["SIGRTMIN+1", "SIGRTMIN+2"])) {
 *     if (s.name === "SIGRTMIN+2") break;
 *     console.log(s.value);
 *   }`,
 *   { blockSignals: ["SIGRTMIN+1", "SIGRTMIN+2"], fds: { 1: out.writer } },
 * );
 * out.writer.close();
 * for (const value of [1, 2, 3]) sendSignal(child, "SIGRTMIN+1", { value });
 * sendSignal(child, "SIGRTMIN+2");
 * assert.equal(await new Response(out.reader.readable).text(), "1\n2\n3\n");
 * assert.equal((await child.status).code, 0);
 * ```
 */
export class SignalReader extends FdHandle implements AsyncIterable<SignalInfo> {
  static {
    create = (fd, numbers) => new SignalReader(fd, numbers, INTERNAL);
  }

  /** The signal numbers the reader reads, in ascending order. */
  readonly signals: readonly number[];
  readonly #buf = new Uint8Array(INFO.size);
  readonly #view = new DataView(this.#buf.buffer);
  readonly #op: Operation<SignalInfo>;
  readonly #context: WaitContext;
  readonly #set: Uint8Array;
  readonly #info = new Uint8Array(SIGINFO.size);
  readonly #infoView = new DataView(this.#info.buffer);
  readonly #timeout = new Uint8Array(TIMESPEC.size);
  readonly #timeoutView = new DataView(this.#timeout.buffer);

  // Opened by signals() only: the fd must be a signalfd of `numbers`, which it owns.
  private constructor(fd: number, numbers: readonly number[], internal: unknown) {
    if (internal !== INTERNAL) {
      throw new TypeError("SignalReader cannot be constructed: signals() returns one");
    }
    super(fd);
    this.signals = Object.freeze([...numbers].sort((a, b) => a - b));
    // A read decodes at once, so one operation (and one buffer) serves every
    // read, pending or not. The spinner catches an answer that comes within
    // µs (a signal round trip) and, when signals come seldom, stops spinning.
    this.#context = { spinner: new Spinner(), registry: waitsOf(this) };
    this.#set = sigsetOf(this.signals);
    this.#op = {
      syscall: "read",
      subject: this.subject,
      attempt: () => this.#attempt(),
      source: fdSource(fd, READABLE),
      block: (deadline) => this.#block(deadline),
    };
  }

  /**
   * The sync form's blocking take: `sigtimedwait(2)` on the reader's set,
   * which takes the signal itself in one call (the signals are blocked in
   * every thread, so it takes from the same pending set the signalfd reads).
   */
  #block(deadline: number): SignalInfo | typeof AGAIN {
    this.fdFor("read");
    let timeout: Uint8Array | null = null;
    if (deadline !== Infinity) {
      setTimeLeft(this.#timeoutView, deadline);
      timeout = this.#timeout;
    }
    if (libc.sigtimedwait(this.#set, this.#info, timeout) > 0) {
      const v = this.#infoView;
      const signal = v.getInt32(SIGINFO.offsets.si_signo, true);
      const code = v.getInt32(SIGINFO.offsets.si_code, true);
      // Only some layouts of _sifields hold a sender (a timer's has its id there): what
      // signalfd reports, which fills in the fields of the signal's layout alone.
      const sender = hasSender(signal, code);
      return this.#result(
        signal,
        code,
        sender ? v.getUint32(SI_PID, true) : 0,
        sender ? v.getUint32(SI_UID, true) : 0,
        v.getInt32(SI_INT, true),
      );
    }
    failed("sigtimedwait", this.subject); // EAGAIN: the time is up; EINTR: try again
    return AGAIN;
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return "signal reader";
  }

  #attempt(): SignalInfo | typeof AGAIN {
    const fd = this.fdFor("read");
    for (;;) {
      if (libc.read(fd, this.#buf, INFO.size) === INFO.size) return this.#decode();
      if (failed("read", this.subject) === AGAIN) return AGAIN;
    }
  }

  #decode(): SignalInfo {
    const v = this.#view;
    return this.#result(
      v.getUint32(AT.ssi_signo, true),
      v.getInt32(AT.ssi_code, true),
      v.getUint32(AT.ssi_pid, true),
      v.getUint32(AT.ssi_uid, true),
      v.getInt32(AT.ssi_int, true),
    );
  }

  #result(signal: number, code: number, pid: number, uid: number, int: number): SignalInfo {
    return {
      signal,
      name: signalName(signal),
      pid,
      uid,
      value: WITH_VALUE.has(code) ? int : null,
      code,
    };
  }

  /**
   * Waits for the next signal without blocking the event loop. An aborted
   * `signal` rejects with its reason.
   *
   * Wraps `read(2)` on the signalfd. Needs `--allow-ffi`.
   *
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the signal, its sender and value
   * @throws {TypeError} when `options.signal` is not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the reader is (or gets) closed
   *
   * @example A child reads one signal and prints its sender and value
   * ```ts
   * import { pipe, sendSignal, spawn } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const out = pipe();
   * const child = spawn(
   *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
   *   using reader = signals(["SIGUSR2"]);
   *   const { pid, value } = await reader.read({ timeout: 10000 });
   *   console.log(pid, value);`,
   *   { blockSignals: ["SIGUSR2"], fds: { 1: out.writer } },
   * );
   * out.writer.close();
   * sendSignal(child, "SIGUSR2", { value: 7 });
   * assert.equal(await new Response(out.reader.readable).text(), `${Deno.pid} 7\n`);
   * await child.status;
   * ```
   */
  read(options?: WaitOptions): Promise<SignalInfo> {
    return wait(this.#op, options, this.#context);
  }

  /**
   * Waits for the next signal, blocking the thread.
   *
   * Wraps `read(2)` on the signalfd, and `sigtimedwait(2)` to block. Needs `--allow-ffi`.
   *
   * @param options `timeout` in milliseconds
   * @returns the signal, its sender and value
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example A child exits with the value it reads
   * ```ts
   * import { sendSignal, spawn } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const child = spawn(
   *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
   *   using reader = signals(["SIGUSR2"]);
   *   Deno.exit(reader.readSync({ timeout: 10000 }).value);`,
   *   { blockSignals: ["SIGUSR2"] },
   * );
   * sendSignal(child, "SIGUSR2", { value: 5 });
   * assert.equal((await child.status).code, 5);
   * ```
   */
  readSync(options?: SyncWaitOptions): SignalInfo {
    return waitSync(this.#op, options, this.#context);
  }

  /**
   * Takes a pending signal, without waiting.
   *
   * Wraps `read(2)` on the signalfd. Needs `--allow-ffi`.
   *
   * @returns the signal, its sender and value
   * @throws {Deno.errors.WouldBlock} (`EAGAIN`) when none is pending
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example A signal sent before the child's reader opens is pending for it
   * ```ts
   * import { sendSignal, spawn } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const child = spawn(
   *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
   *   using reader = signals(["SIGUSR2"]);
   *   const { value } = reader.tryRead();
   *   try {
   *     reader.tryRead();
   *   } catch (e) {
   *     if (e instanceof Deno.errors.WouldBlock) Deno.exit(value);
   *   }`,
   *   { blockSignals: ["SIGUSR2"] },
   * );
   * // Blocked from the child's first instruction, it is pending once sent.
   * sendSignal(child, "SIGUSR2", { value: 4 });
   * assert.equal((await child.status).code, 4);
   * ```
   */
  tryRead(): SignalInfo {
    return tryNow(this.#op);
  }

  /**
   * The signals as they come: `for await (const s of reader)`. The loop ends
   * when the reader is closed (from elsewhere: a pending read ends it); ending
   * it early (`break`) closes the reader.
   *
   * Wraps `read(2)` on the signalfd. Needs `--allow-ffi`.
   *
   * @returns the signals
   *
   * @example A child counts SIGUSR2 until SIGRTMIN, and exits with the count
   * ```ts
   * import { sendSignal, spawn } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const child = spawn(
   *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
   *   let count = 0;
   *   for await (const s of signals(["SIGUSR2", "SIGRTMIN"])) {
   *     if (s.name === "SIGRTMIN") break;
   *     count++;
   *   }
   *   Deno.exit(count);`,
   *   { blockSignals: ["SIGUSR2", "SIGRTMIN"] },
   * );
   * // Pending signals are read lowest number first: SIGUSR2 (12), then SIGRTMIN (34).
   * sendSignal(child, "SIGUSR2");
   * sendSignal(child, "SIGRTMIN");
   * assert.equal((await child.status).code, 1);
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<SignalInfo, void, undefined> {
    return untilClosed(this, (signal) => this.read({ signal }), { onEnd: () => this.close() });
  }
}

/**
 * Opens a {@link SignalReader} for `list`: a signalfd that reads those
 * signals with their sender's pid and uid and the value sent with them.
 *
 * A signalfd sees a signal only while **every** thread of the process blocks
 * it (a thread that does not takes it first), and a Deno program can have
 * that only from its start: a parent starts it with the signals blocked
 * (`spawn(module, { blockSignals: [...] })`: every thread inherits that
 * mask), or the script relaunches itself so
 * (`await relaunchWithSignalsBlocked([...])` at its top). Signals sent
 * before the reader is opened wait, pending, to be read. Several readers of
 * one signal share it: each signal goes to one of them, as with signalfds in
 * C. Anything else is refused with an error that says so. SIGUSR1 in particular must be blocked
 * from the start: Deno (≥ 2.9.2) opens the V8 inspector on it (and a
 * moment after start, it simply kills the process).
 *
 * Without a blocked mask, the signals Deno supports can be listened to with
 * `Deno.addSignalListener` instead, with no sender, no value, and no
 * real-time signals (Deno refuses them).
 *
 * Wraps `signalfd(2)`, and reads `proc(5)` for the threads' masks. Needs `--allow-ffi`.
 *
 * @param list names like `"SIGUSR1"` or `"SIGRTMIN+1"`, or numbers
 * @returns the reader; close it (or `using`) to release the signalfd
 * @throws {TypeError} for an unknown name or an empty list
 * @throws {RangeError} for a bad number, SIGKILL or SIGSTOP (they cannot be
 *   blocked), or the library's own signals SIGRTMAX and SIGRTMAX-1 (they
 *   cancel its waits)
 * @throws {Deno.errors.NotSupported} when some thread of this process does not
 *   block one of the signals
 * @throws {IpcError} EMFILE/ENFILE when out of descriptors, ENOMEM
 *
 * @example Signals that are not blocked are refused, with what to do instead
 * ```ts
 * import { signals } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * assert.throws(() => signals(["SIGUSR2"]), Deno.errors.NotSupported);
 * ```
 *
 * @example The parent and the child in one file
 * ```ts ignore
 * import { sendSignal, signals, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using reader = signals(["SIGRTMIN+1"]);
 *   const s = await reader.read();
 *   console.log(`${s.name} from ${s.pid}: value ${s.value}`);
 * } else {
 *   await using child = spawn(import.meta.url, { args: ["child"], blockSignals: ["SIGRTMIN+1"] });
 *   // Blocked from its start, the signal waits for the child's reader.
 *   sendSignal(child, "SIGRTMIN+1", { value: 7 });
 *   await child.status;
 * }
 * ```
 */
export function signals(list: ReadonlyArray<SignalName | number>): SignalReader {
  const numbers = readableSignals(list, "signals()");
  const missing = unblockedThread(numbers);
  if (missing !== undefined) {
    const names = missing.signals.map(signalName).join(", ");
    throw new Deno.errors.NotSupported(
      `signals(): ${names} not blocked in thread ${missing.tid} of this process, so a signalfd ` +
        `would never see ${missing.signals.length === 1 ? "it" : "them"}: a signal must be ` +
        "blocked in every thread, which a Deno program gets only from its start. Start it with " +
        `spawn(module, { blockSignals: ${JSON.stringify(missing.signals.map(signalName))} }), ` +
        "or call `await relaunchWithSignalsBlocked([...])` at the top of the script. " +
        "(Deno.addSignalListener() takes standard signals without that, but gives no sender or value.)",
    );
  }
  const fd = ok(
    libc.signalfd(-1, sigsetOf(numbers), C.SFD_NONBLOCK | C.SFD_CLOEXEC),
    "signalfd",
  );
  return create(fd, numbers);
}

/**
 * Whether every thread of this process blocks every one of `list`, which is
 * what {@link signals} needs: true in a process started with them blocked
 * (`spawn(module, { blockSignals })`, `relaunchWithSignalsBlocked`).
 *
 * Wraps `pthread_sigmask(3)`, and reads `proc(5)` for the threads' masks. Needs `--allow-ffi`.
 *
 * @param list names like `"SIGUSR1"` or `"SIGRTMIN+1"`, or numbers
 * @returns whether {@link signals} can read them here
 * @throws {TypeError} for an unknown name or an empty list
 * @throws {RangeError} for a bad number, SIGKILL or SIGSTOP (they cannot be
 *   blocked), or the library's own signals SIGRTMAX and SIGRTMAX-1
 *
 * @example
 * ```ts
 * import { signalsBlocked } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * // A process started normally blocks nothing.
 * assert.equal(signalsBlocked(["SIGUSR2"]), false);
 * ```
 */
export function signalsBlocked(list: ReadonlyArray<SignalName | number>): boolean {
  return unblockedThread(readableSignals(list, "signalsBlocked()")) === undefined;
}
