/**
 * {@link sendSignal}: a signal to a process, with a value if wanted.
 *
 * @module
 */
import { cString } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { E, lastErrno, ok } from "../_sys.ts";
import { errorFromCode } from "../errors.ts";
import { checkBoolean, checkInteger, checkOptions, onlyKnown, shown } from "../_check.ts";
import { ALARM_SIGNAL, NUDGE_SIGNAL } from "../_wait/nudge.ts";
import { ChildProcess, groupLeaders, pidfdOf } from "../process/child.ts";
import { type SignalName, signalName, signalNumber } from "./names.ts";

/**
 * Options of {@link sendSignal}.
 *
 * @example A value, read by a child that blocks the signal
 * ```ts
 * import { sendSignal, type SendSignalOptions, spawn } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const child = spawn(
 *   `data:text/javascript,import { signals } from "${import.meta.resolve("@libc/ipc")}";
 *   const { value, code } = signals(["SIGUSR2"]).readSync({ timeout: 10000 });
 *   Deno.exit(code === -1 ? value : 99); // -1: SI_QUEUE, a signal sent with a value`,
 *   { blockSignals: ["SIGUSR2"] },
 * );
 * const options: SendSignalOptions = { value: 42 };
 * sendSignal(child, "SIGUSR2", options);
 * assert.equal((await child.status).code, 42);
 * ```
 */
export interface SendSignalOptions {
  /**
   * A 32-bit integer sent with the signal (`sigval.sival_int`), -2^31..2^31-1:
   * the signal goes with `sigqueue(3)` and its reader sees it as `value`, with
   * `code` SI_QUEUE. Without it the signal goes with `kill(2)` (`code` SI_USER).
   */
  value?: number;
  /**
   * Send to every process of the process group `target` (`kill(2)` of its
   * negated id; 2 or more: `kill(-1)` would signal every process this user may
   * signal), or to the group a {@link ChildProcess} leads (started with
   * `processGroup: 0`): the child and every process it started there, also
   * after the child itself has ended and been reaped, while a process is left
   * in the group (once none is, its id may go to a new process, as with
   * `killpg(3)` after `waitpid`). Default `false`. A value cannot go with it:
   * `sigqueue(3)` signals one process.
   */
  group?: boolean;
}

const SIGINFO = LAYOUTS.siginfo_t;
/**
 * Where `_sifields._pad` holds the members of `_rt` that `sigqueue(3)` fills
 * in: the sender's pid, its uid, and `sival_int` (the low half of the sigval
 * on little-endian platforms). The test suite checks them against C.
 */
const RT_PID = 0;
const RT_UID = 1;
const RT_INT = 2;
const SIFIELDS = SIGINFO.offsets["_sifields._pad"];
// An ArrayBuffer of its own: its address, taken once, stays put (small typed arrays may live on
// V8's heap, which moves).
const siginfo = new Uint8Array(new ArrayBuffer(SIGINFO.size));
const siginfoView = new DataView(siginfo.buffer);
/** Its address, taken at the first send (taking it needs `--allow-ffi`; importing must not). */
let siginfoPointer: Deno.PointerValue | undefined;

const SEND_OPTIONS: ReadonlySet<string> = new Set(["value", "group"]);

function checkSendOptions(
  options: SendSignalOptions,
): { value: number | undefined; group: boolean } {
  // A mistyped key would send the signal without its value, silently.
  const o = checkOptions(options);
  onlyKnown(o, SEND_OPTIONS, "sendSignal options");
  const group = checkBoolean(o.group, "group");
  if (o.value === undefined) return { value: undefined, group };
  const value = checkInteger(
    o.value,
    "value",
    -(2 ** 31),
    2 ** 31 - 1,
    "of 32 bits (-2^31..2^31-1)",
  );
  if (group) {
    throw new TypeError("a value goes to one process (sigqueue(3)): it cannot go to a group");
  }
  return { value, group };
}

/**
 * Sends a signal to a process, with a 32-bit value if `options.value` is
 * given. To a {@link ChildProcess}, it goes through the child's pidfd
 * (`pidfd_send_signal(2)`), so it never reaches another process that reused
 * the pid of a child that has ended.
 *
 * The reader of the signal ({@link signals}) sees the value, this process's
 * pid and uid, and `code` SI_QUEUE (-1) for a signal with a value, SI_USER (0)
 * without. A value rides only on real-time signals reliably: those queue, each
 * one with its own value, while a standard signal sent again before it is read
 * is merged into the pending one (the first value stays).
 *
 * The library's own signals, SIGRTMAX and SIGRTMAX-1 (they interrupt blocked
 * calls to cancel waits and end sync timeouts), cannot be sent to this process
 * or its process group: arriving unannounced, they would kill it (before the
 * library installs their handler) or cut one of its calls short. Mind SIGUSR1
 * to a Deno process that does not block it: Deno (≥ 2.9.2) opens its V8
 * inspector on it, or, in its first moments, dies of it.
 *
 * Wraps `kill(2)`, `sigqueue(3)` and `pidfd_send_signal(2)`. Needs `--allow-ffi`.
 *
 * @param target a process id, or a child started with `spawn`/`spawnProgram`;
 *   with `group`, a process group id, or a child that leads one
 * @param signal a name like `"SIGUSR2"` or `"SIGRTMIN+1"`, or a number; 0, the
 *   null signal, sends nothing: it checks that the process exists and this user
 *   may signal it, as `kill(pid, 0)` does
 * @param options `value`: a 32-bit integer to send with the signal; `group`: send
 *   to a process group
 * @throws {TypeError} for an unknown signal name, a target that is neither a
 *   pid nor a child, `options` that is not an object or has a key other than
 *   `value` and `group`, a value that is not a number or goes with `group`,
 *   `group` that is not a boolean, or with `group` a child that leads no group
 * @throws {RangeError} for a bad signal number, a pid that is not an integer
 *   ≥ 1 (a group id ≥ 2), a value outside -2^31..2^31-1, or SIGRTMAX/SIGRTMAX-1
 *   to this process or its group
 * @throws {Deno.errors.NotFound} (`ESRCH`) when no such process (or group)
 *   exists, or the child has ended and been reaped
 * @throws {Deno.errors.PermissionDenied} (`EPERM`) when this user may not signal it
 * @throws {Deno.errors.WouldBlock} (`EAGAIN`) when its queue of pending
 *   signals with values is full (`RLIMIT_SIGPENDING`)
 *
 * @example A real-time signal with a value ends a program that does not read it
 * ```ts
 * import { sendSignal, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const child = spawnProgram("/bin/sleep", ["10"]);
 * sendSignal(child, "SIGRTMIN+1", { value: 42 });
 * assert.equal((await child.status).signal, "SIGRTMIN+1");
 * ```
 *
 * @example A child and every process it starts, by their group
 * ```ts
 * import { sendSignal, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * // The shell leads a group of its own; the sleep it starts joins it.
 * const child = spawnProgram("/bin/sh", ["-c", "/bin/sleep 10 & wait"], { processGroup: 0 });
 * sendSignal(child, "SIGTERM", { group: true });
 * assert.equal((await child.status).signal, "SIGTERM");
 * ```
 *
 * @example Whether a process is there: the null signal
 * ```ts
 * import { sendSignal, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const child = spawnProgram("/bin/sleep", ["10"]);
 * sendSignal(child.pid, 0); // there: no error, and nothing sent
 * child.kill("SIGTERM");
 * await child.status; // reaped: the pid is free now
 * assert.throws(() => sendSignal(child.pid, 0), Deno.errors.NotFound);
 * ```
 *
 * @example A signal that has no process to go to
 * ```ts
 * import { sendSignal, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const child = spawnProgram("/bin/true");
 * await child.status; // reaped: the pid is free now
 * assert.throws(() => sendSignal(child, "SIGUSR2", { value: 1 }), Deno.errors.NotFound);
 * ```
 */
export function sendSignal(
  target: number | ChildProcess,
  signal: SignalName | number,
  options: SendSignalOptions = {},
): void {
  // 0, the null signal: kill(pid, 0) sends nothing, and says whether the process is there.
  const sig = signal === 0 ? 0 : signalNumber(signal);
  const { value, group } = checkSendOptions(options);
  if (group) return sendToGroup(groupOf(target), sig);
  if (target instanceof ChildProcess) return sendToChild(target, sig, value);
  checkTarget(target, "≥ 1 (a pid; a process group goes with { group: true })");
  if (isReserved(sig) && isThisProcess(target)) {
    throw new RangeError(
      `${signalName(sig)} (${sig}) is reserved by this library: it cannot be sent to this process`,
    );
  }
  const subject = { pid: target };
  if (value === undefined) {
    ok(libc.kill(target, sig), "kill", subject);
  } else {
    // The union sigval goes in one register: sival_int is its low 32 bits.
    queued(libc.sigqueue(target, sig, BigInt(value)), "sigqueue", subject);
  }
}

/**
 * `ok` for a signal sent with a value: its EAGAIN says that the target's
 * user has as many signals queued as `RLIMIT_SIGPENDING` lets it have.
 */
function queued(r: number, syscall: string, subject: { pid: number }): void {
  if (r >= 0) return;
  if (lastErrno() !== E.EAGAIN) ok(r, syscall, subject);
  throw errorFromCode(
    E.EAGAIN,
    syscall,
    subject,
    "the signals queued to the receiver's user reached RLIMIT_SIGPENDING (ulimit -i); " +
      "they are taken as they are read",
  );
}

function checkTarget(target: unknown, range: string, min = 1): number {
  if (typeof target !== "number") {
    throw new TypeError(`target must be a process id or a ChildProcess, got ${shown(target)}`);
  }
  return checkInteger(target, "target", min, 2 ** 31 - 1, range);
}

/** The library's own signals, which would kill this process or cut one of its calls short. */
function isReserved(sig: number): boolean {
  return sig === NUDGE_SIGNAL || sig === ALARM_SIGNAL;
}

/** The id of the group `target` names: a number as given, or the one a child leads. */
function groupOf(target: number | ChildProcess): number {
  if (!(target instanceof ChildProcess)) {
    // kill(-1) is no group: it signals every process this user may signal.
    return checkTarget(target, "≥ 2 (a process group id; 1 would signal every process)", 2);
  }
  // A child not reaped yet keeps its pid, so its group id tells whether it leads one. Once
  // reaped, only one started leading its group does: that group lives on while a process is
  // in it, and its id is not given to a new process meanwhile.
  const leads = pidfdOf(target) >= 0
    ? libc.getpgid(target.pid) === target.pid
    : groupLeaders.has(target);
  if (!leads) {
    throw new TypeError(
      `child process ${target.pid} leads no process group: start it with processGroup: 0`,
    );
  }
  return target.pid;
}

function sendToGroup(pgid: number, sig: number): void {
  if (isReserved(sig) && pgid === libc.getpgid(0)) {
    throw new RangeError(
      `${signalName(sig)} (${sig}) is reserved by this library: it cannot be sent to the ` +
        "process group of this process",
    );
  }
  ok(libc.kill(-pgid, sig), "kill", { processGroup: pgid });
}

/** Whether `id` is this process or one of its threads, whose kill(2) reaches this process too. */
function isThisProcess(id: number): boolean {
  return id === Deno.pid ||
    libc.faccessat(C.AT_FDCWD, cString(`/proc/self/task/${id}`), C.F_OK, 0) === 0;
}

function sendToChild(child: ChildProcess, sig: number, value: number | undefined): void {
  const subject = { pid: child.pid };
  const pidfd = pidfdOf(child);
  if (pidfd < 0) {
    throw errorFromCode(
      E.ESRCH,
      "pidfd_send_signal",
      subject,
      "the child has ended and been reaped",
    );
  }
  if (value === undefined) {
    // No siginfo: the kernel fills in SI_USER, our pid and uid, as kill(2) does.
    ok(libc.pidfd_send_signal(pidfd, sig, null, 0), "pidfd_send_signal", subject);
    return;
  }
  // The kernel takes a siginfo to another process only with si_code < 0 (and not
  // SI_TKILL), and keeps si_pid and si_uid as given: fill them in as sigqueue(3) does.
  // Written in place (the rest of the buffer stays zero): this is the hot path of a
  // signal round trip.
  siginfoView.setInt32(SIGINFO.offsets.si_signo, sig, true);
  siginfoView.setInt32(SIGINFO.offsets.si_code, C.SI_QUEUE, true);
  siginfoView.setInt32(SIFIELDS + 4 * RT_PID, Deno.pid, true);
  siginfoView.setUint32(SIFIELDS + 4 * RT_UID, libc.getuid(), true);
  // The whole sigval, as sigqueue(3) passes it: sign-extended past sival_int.
  siginfoView.setInt32(SIFIELDS + 4 * RT_INT, value, true);
  siginfoView.setInt32(SIFIELDS + 4 * RT_INT + 4, value < 0 ? -1 : 0, true);
  queued(
    libc.pidfd_send_signal(pidfd, sig, siginfoPointer ??= Deno.UnsafePointer.of(siginfo), 0),
    "pidfd_send_signal",
    subject,
  );
}
