/**
 * What `mq_notify(3)` is given: a `struct sigevent` asking for a signal with a
 * value, checked before any call, and how this process will hear the signal.
 *
 * @module
 */
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { checkInteger, checkOptions, onlyKnown, shown } from "../_check.ts";
import { ALARM_SIGNAL, NUDGE_SIGNAL } from "../_wait/nudge.ts";
import { type SignalName, signalName, signalNumber } from "../signal/names.ts";
import { unblockedThread } from "../signal/_mask.ts";

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
   * every thread (without one, its default action would end the process).
   * The request adds it with `Deno.addSignalListener`, which takes standard
   * signals alone and says nothing of the sender or value, and it stays until
   * {@link PosixMessageQueue.cancelNotification}, `close()` or the next
   * request: it hears every delivery of that signal, whatever sent it.
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
  if (number === NUDGE_SIGNAL || number === ALARM_SIGNAL) {
    throw new RangeError(
      `${WHAT}: ${name} (${number}) is reserved by this library: it interrupts ` +
        "blocked calls to cancel waits and end sync timeouts",
    );
  }
  if (number === C.SIGKILL || number === C.SIGSTOP) {
    throw new RangeError(`${WHAT}: ${name} cannot be caught or blocked, so it cannot notify`);
  }
  const blocked = unblockedThread([number]) === undefined;
  if (blocked && listener !== undefined) {
    throw new TypeError(
      `${WHAT}: ${name} is blocked in every thread of this process, so a listener would never ` +
        "hear it: read it with signals()",
    );
  }
  if (!blocked && listener === undefined) {
    const action = DROPPED.includes(number)
      ? "be lost"
      : STOPPING.includes(number)
      ? "stop the process"
      : "end the process";
    throw new Deno.errors.NotSupported(
      `${WHAT}: ${name} is not blocked in every thread of this process, so without a listener ` +
        `the notification would ${action} (its default action): pass one (options.listener), ` +
        "or read the signal with signals() in a program started with it blocked (spawn's " +
        "blockSignals, relaunchWithSignalsBlocked)",
    );
  }
  if (!blocked && number === C.SIGUSR1) {
    throw new Deno.errors.NotSupported(
      `${WHAT}: SIGUSR1 opens Deno's inspector in a process that does not block it, listener ` +
        "or not: use another signal (SIGUSR2), or block it from the start",
    );
  }
  const event = LAYOUTS.sigevent.encode({
    // sival_int is the union's low 32 bits (both platforms are little-endian).
    sigev_value: { sival_ptr: BigInt(value >>> 0) },
    sigev_signo: number,
    sigev_notify: C.SIGEV_SIGNAL,
    "_sigev_un._pad": NO_THREAD,
  });
  return { event, name, listener };
}
