/**
 * What `mq_notify(3)` is given: a `struct sigevent` asking for a signal with a
 * value, checked before any call.
 *
 * @module
 */
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { checkInteger, checkOptions, onlyKnown } from "../_check.ts";
import { ALARM_SIGNAL, NUDGE_SIGNAL } from "../_wait/nudge.ts";
import { type SignalName, signalName, signalNumber } from "../signal/names.ts";
import { notHeard } from "../signal/_mask.ts";

/**
 * Options of {@link PosixMessageQueue.requestNotification}.
 *
 * @example
 * ```ts
 * import type { PosixMessageQueueNotificationOptions } from "@libc/ipc";
 * const options: PosixMessageQueueNotificationOptions = { value: 7 };
 * ```
 */
export interface PosixMessageQueueNotificationOptions {
  /**
   * A 32-bit integer the signal carries (`sigval.sival_int`), -2^31..2^31-1:
   * its reader ({@link signals}) sees it as `value`, with `code` SI_MESGQ (-3).
   * Default 0.
   */
  value?: number;
}

const KEYS: ReadonlySet<string> = new Set(["value"]);
const WHAT = "requestNotification()";
const NO_THREAD = new Array(LAYOUTS.sigevent.fields["_sigev_un._pad"].length).fill(0);

/**
 * The `struct sigevent` of a notification by `signal`: a RangeError for the
 * library's own signals, NotSupported for one this process would not hear
 * (no handler, not blocked: its default action would end the process).
 */
export function notificationEvent(
  signal: SignalName | number,
  options: PosixMessageQueueNotificationOptions | undefined,
): Uint8Array {
  const number = signalNumber(signal);
  const o = checkOptions(options, `${WHAT} options`);
  onlyKnown(o, KEYS, `${WHAT} options`);
  const value = o.value === undefined
    ? 0
    : checkInteger(o.value, "value", -(2 ** 31), 2 ** 31 - 1, "of 32 bits (-2^31..2^31-1)");
  if (number === NUDGE_SIGNAL || number === ALARM_SIGNAL) {
    throw new RangeError(
      `${WHAT}: ${signalName(number)} (${number}) is reserved by this library: it interrupts ` +
        "blocked calls to cancel waits and end sync timeouts",
    );
  }
  const why = notHeard(number);
  if (why !== undefined) {
    throw new Deno.errors.NotSupported(
      `${WHAT}: ${why}. Listen for it with Deno.addSignalListener() first, or read it with ` +
        "signals() in a program started with it blocked (spawn's blockSignals, " +
        "relaunchWithSignalsBlocked)",
    );
  }
  return LAYOUTS.sigevent.encode({
    // sival_int is the union's low 32 bits (both platforms are little-endian).
    sigev_value: { sival_ptr: BigInt(value >>> 0) },
    sigev_signo: number,
    sigev_notify: C.SIGEV_SIGNAL,
    "_sigev_un._pad": NO_THREAD,
  });
}
