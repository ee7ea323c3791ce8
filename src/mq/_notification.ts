/**
 * What `mq_notify(3)` is given: a `struct sigevent` asking for a signal with a
 * value, checked before any call, and how this process will hear the signal.
 *
 * @module
 */
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { checkInteger, checkOptions, onlyKnown, shown } from "../_check.ts";
import { IN_WORKER } from "../_wait/nudge.ts";
import { type SignalName, signalName, signalNumber } from "../signal/names.ts";
import { checkOwnable, isIgnored, unblockedThread } from "../signal/_mask.ts";

/**
 * Options of {@link PosixMessageQueue.requestNotification}.
 *
 * @example
 * ```ts
 * import type { PosixMessageQueueNotificationOptions } from "@libc/ipc";
 * const options: PosixMessageQueueNotificationOptions = { listener: () => console.log("a message") };
 * ```
 */
export interface PosixMessageQueueNotificationOptions {
  /**
   * A 32-bit integer the signal carries (`sigval.sival_int`), -2^31..2^31-1:
   * its reader ({@link signals}) sees it as `value`, with `code` SI_MESGQ (-3).
   * Default 0.
   */
  value?: number;
  /**
   * Called when the signal comes, for a signal this process does not block in
   * every thread (without one, its default action would end the process); in
   * the main thread only. Heard through `Deno.addSignalListener`, which takes
   * standard signals alone and says nothing of the sender or value; called at
   * every delivery of that signal, whatever sent it (give each queue a signal
   * of its own), until {@link PosixMessageQueue.cancelNotification}, `close()`
   * or the next request.
   */
  listener?: () => void;
}

/** A request checked: its `struct sigevent`, and the listener to add by the signal's name. */
export interface Notification {
  event: Uint8Array;
  name: SignalName;
  listener: (() => void) | undefined;
}

const KEYS: ReadonlySet<string> = new Set(["value", "listener"]);
const WHAT = "requestNotification()";
const NO_THREAD = new Array(LAYOUTS.sigevent.fields["_sigev_un._pad"].length).fill(0);
/** Default actions other than ending the process (signal(7)). */
const DROPPED: readonly number[] = [C.SIGCHLD, C.SIGCONT, C.SIGURG, C.SIGWINCH];
const STOPPING: readonly number[] = [C.SIGTSTP, C.SIGTTIN, C.SIGTTOU];
/** Signals that end programs at a user's or supervisor's word: a listener kept would take that away. */
const ENDING: readonly number[] = [C.SIGINT, C.SIGTERM, C.SIGHUP, C.SIGQUIT];
/** Signals `Deno.addSignalListener` refuses besides the real-time ones. */
const UNLISTENABLE: readonly number[] = [C.SIGILL, C.SIGFPE, C.SIGSEGV];

/** What `signal`, unblocked and with no listener, would do to this process. */
function fate(signal: number): string {
  if (isIgnored(signal)) return "be lost (it is ignored here)";
  if (DROPPED.includes(signal)) return "be lost (its default action)";
  if (STOPPING.includes(signal)) return "stop the process (its default action)";
  return "end the process (its default action)";
}

/**
 * A request by `signal`, checked: the library's own signals and those that
 * cannot be caught are RangeError; one this process would not hear (not
 * blocked in every thread, no listener), or SIGUSR1 unblocked (Deno opens
 * its inspector at it), NotSupported.
 */
export function notificationOf(
  signal: SignalName | number,
  options: PosixMessageQueueNotificationOptions | undefined,
): Notification {
  const number = signalNumber(signal);
  const name = signalName(number);
  const o = checkOptions(options, `${WHAT} options`);
  onlyKnown(o, KEYS, `${WHAT} options`);
  const value = o.value === undefined
    ? 0
    : checkInteger(o.value, "value", -(2 ** 31), 2 ** 31 - 1, "of 32 bits (-2^31..2^31-1)");
  const listener = o.listener;
  if (listener !== undefined && typeof listener !== "function") {
    throw new TypeError(`${WHAT}: listener must be a function, got ${shown(listener)}`);
  }
  checkOwnable(number, WHAT, "notify");
  if (unblockedThread([number]) === undefined) {
    if (listener === undefined) return { event: eventOf(number, value), name, listener };
    throw new TypeError(
      `${WHAT}: ${name} is blocked in every thread of this process, so a listener would never ` +
        "hear it: read it with signals()",
    );
  }
  const blockIt = "block it from the start (spawn's blockSignals, relaunchWithSignalsBlocked) " +
    "and read it with signals()";
  if (number === C.SIGUSR1) {
    throw new Deno.errors.NotSupported(
      `${WHAT}: SIGUSR1 opens Deno's inspector in a process that does not block it, listener ` +
        `or not: use another signal (SIGUSR2), or ${blockIt}`,
    );
  }
  const listenable = number < C.SIGRTMIN && !UNLISTENABLE.includes(number);
  if (!listenable) {
    const without = listener === undefined ? ` without a listener it would ${fate(number)};` : "";
    throw new (listener === undefined ? Deno.errors.NotSupported : TypeError)(
      `${WHAT}: ${name} is not blocked in every thread of this process;${without} ` +
        `Deno.addSignalListener does not take it: ${blockIt}`,
    );
  }
  if (listener === undefined) {
    throw new Deno.errors.NotSupported(
      `${WHAT}: ${name} is not blocked in every thread of this process, so without a listener ` +
        `the notification would ${fate(number)}: pass one (options.listener), or ${blockIt}`,
    );
  }
  if (ENDING.includes(number) || STOPPING.includes(number)) {
    const does = ENDING.includes(number) ? "ends" : "stops";
    throw new Deno.errors.NotSupported(
      `${WHAT}: ${name} ${does} programs at a user's or supervisor's word, and the listener the ` +
        "library keeps for a signal would take that away: use another signal (SIGUSR2), or " +
        blockIt,
    );
  }
  if (IN_WORKER) {
    throw new Deno.errors.NotSupported(
      `${WHAT}: a listener in a Worker would go with the Worker while the kernel's request ` +
        `stays, and the next message would end the process: ask from the main thread, or ${blockIt}`,
    );
  }
  return { event: eventOf(number, value), name, listener };
}

/**
 * Per signal, the listeners of the requests that stand, called by one
 * listener the library adds at the first and never removes: in Deno, a
 * signal caught while its last listener is removed ends the process.
 */
const listening = new Map<SignalName, Set<() => void>>();

/**
 * Adds `listener` for the signal `name` (see {@link listening}); returns
 * what removes it. One that throws is reported (`reportError`): the program
 * ends as at an uncaught exception unless a global "error" listener calls
 * `preventDefault()`, and then the others are still called.
 */
export function listen(name: SignalName, listener: () => void): () => void {
  const each = listening.get(name) ?? listenerOf(name);
  // A function of its own: the same listener may be given to two requests.
  const entry = () => listener();
  each.add(entry);
  return () => each.delete(entry);
}

/** The set of listeners of `name`, with the one listener that calls them added. */
function listenerOf(name: SignalName): Set<() => void> {
  const each = new Set<() => void>();
  Deno.addSignalListener(name as Deno.Signal, () => {
    for (const f of [...each]) {
      try {
        f();
      } catch (e) {
        reportError(e);
      }
    }
  });
  listening.set(name, each);
  return each;
}

/** The `struct sigevent` of `signal` with `value`. */
function eventOf(number: number, value: number): Uint8Array {
  return LAYOUTS.sigevent.encode({
    // sival_int is the union's low 32 bits (both platforms are little-endian).
    sigev_value: { sival_ptr: BigInt(value >>> 0) },
    sigev_signo: number,
    sigev_notify: C.SIGEV_SIGNAL,
    "_sigev_un._pad": NO_THREAD,
  });
}
