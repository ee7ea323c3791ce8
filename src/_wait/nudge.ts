/**
 * Interrupting a blocked system call with a signal to its thread.
 *
 * - **Nudge** ({@link NUDGE_SIGNAL}, SIGRTMAX): cancels a call parked on a pool
 *   thread. The thread is found in `/proc/self/task/<tid>/syscall` by the
 *   call's syscall number and an argument unique to the call (its buffer);
 *   `tgkill` sends the signal. The handler is installed with `SA_RESTART`, so
 *   a nudge that lands elsewhere (the call returned and the thread went on to
 *   one of Deno's own file operations) restarts that operation instead of
 *   failing it; System V IPC calls (`msgrcv`, `msgsnd`, `semop`) return EINTR
 *   after a handler whatever `SA_RESTART` says (signal(7)).
 * - **Alarm** ({@link ALARM_SIGNAL}, SIGRTMAX-1): ends a blocking call of the
 *   sync forms at its deadline. A per-thread timer (`SIGEV_THREAD_ID`) signals
 *   only the thread that blocks, so this handler has no `SA_RESTART`: it
 *   interrupts FIFO opens too. The timer repeats every {@link ALARM_REPEAT_MS}
 *   until disarmed, since a signal that lands before the call enters the kernel
 *   interrupts nothing. A parked call that `SA_RESTART` would restart (a FIFO's
 *   open) is nudged with this signal instead ({@link nudgeThread}'s
 *   `restartable`): one that lands just after the call returned could fail
 *   the thread's next blocking call with EINTR, but the thread is signalled
 *   only when `/proc` has just shown it in the call, a window of µs, where
 *   the other way to end such an open (opening the FIFO's other side) wakes
 *   every other process waiting to open it.
 *
 * The handler of both is the address of `getpid`: a libc function that does
 * nothing harmful (a JS callback must never run in a signal handler). Deno
 * leaves real-time signals alone (it catches 7, 11, 33 at start and 1, 2, 10,
 * 15 later, and `Deno.addSignalListener` refuses real-time signals). When
 * either signal already has another handler, or `/proc/self/task` cannot be
 * read (hidepid, seccomp) or names another CPU's system calls (qemu-user), the
 * library does without: waits poll. The files can also become unreadable
 * while calls are parked: a process that changes its user or group ids (or
 * clears `PR_SET_DUMPABLE`) is no longer dumpable, and they then belong to
 * root, mode 0400. Later waits poll, and a call parked before is cancelled by
 * a nudge to every thread (see {@link threadsLost}).
 *
 * @module
 */
import { cString } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { type About, AGAIN, E, failed, lastErrno, ok } from "../_sys.ts";
import { procBytes, procText, reserveFd, threadIds } from "../_proc.ts";
import { napSync, POLL_FIRST_MS } from "./poll.ts";
import { sliceLeft } from "./deadline.ts";

/** Cancels calls parked on pool threads. */
export const NUDGE_SIGNAL: number = C.SIGRTMAX;
/** Ends the blocking calls of sync forms at their deadline. */
export const ALARM_SIGNAL: number = C.SIGRTMAX - 1;
/** How often an armed alarm fires again until disarmed. */
const ALARM_REPEAT_MS = 5;

const SIGACTION = LAYOUTS.sigaction;
const decoder = new TextDecoder();

let handler: bigint | undefined;
function handlerAddress(): bigint {
  return handler ??= BigInt(Deno.UnsafePointer.value(libc.getpid_address));
}

/** A `struct sigaction` that runs `handler` (0: SIG_DFL) with `flags` and no signal masked. */
export function sigactionOf(handler: bigint, flags: number): Uint8Array {
  return SIGACTION.encode({
    sa_handler: handler,
    sa_mask: { __val: new Array(SIGACTION.fields.sa_mask.fields.__val.length).fill(0n) },
    sa_flags: flags,
    sa_restorer: 0n,
  });
}

/** Installs the no-op handler on `signal` unless another one is there; true when ours is. */
function install(signal: number, restart: boolean): boolean {
  const old = new Uint8Array(SIGACTION.size);
  ok(libc.sigaction(signal, null, old), "sigaction");
  const had = BigInt(SIGACTION.decode(old).sa_handler);
  if (had === handlerAddress()) return true;
  // SIG_DFL is 0: anything else belongs to someone else.
  if (had !== 0n) return false;
  ok(
    libc.sigaction(signal, sigactionOf(handlerAddress(), restart ? C.SA_RESTART : 0), null),
    "sigaction",
  );
  return true;
}

let nudgeReady: boolean | undefined;
let nudgesOff = false;

/** Whether parked calls can be cancelled by a nudge here (checked once per isolate). */
export function canNudge(): boolean {
  // No descriptor to hold in reserve (given back while idle, or none free): not now, and
  // decided at a later wait, when there may be one.
  if (nudgesOff || !reserveFd()) return false;
  return nudgeReady ??= threadsReadable() && !blockedHere(NUDGE_SIGNAL) &&
    install(NUDGE_SIGNAL, true);
}

let restartNudgeReady: boolean | undefined;

/**
 * Whether parked calls that `SA_RESTART` would restart (a FIFO's open) can be
 * cancelled by a nudge with the alarm signal here (checked once per isolate).
 */
export function canNudgeRestartable(): boolean {
  return canNudge() &&
    (restartNudgeReady ??= !blockedHere(ALARM_SIGNAL) && install(ALARM_SIGNAL, false));
}

/** Turns nudges off, as where /proc/self/task cannot be read: calls without an fd then poll (for tests). */
export function useNudges(on: boolean): void {
  nudgesOff = !on;
}

/**
 * Whether `signal` is blocked in this thread: a parent may start us with
 * signals blocked (spawn's `blockSignals`), and Deno's pool threads inherit
 * that mask, so a nudge would never arrive.
 */
function blockedHere(signal: number): boolean {
  const m = /^SigBlk:\s*([0-9a-f]+)$/m.exec(procText("/proc/thread-self/status") ?? "");
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

/**
 * Whether the threads of parked calls can no longer be found, where they could
 * when the calls parked: the process has become non-dumpable since (see the
 * module's notes). Nudges are then off for good (later waits poll), and
 * {@link nudgeAll} is what still ends a call parked before.
 */
export function threadsLost(): boolean {
  if (nudgeReady !== true) return nudgeReady === false;
  if (threadsReadable()) return false;
  nudgeReady = restartNudgeReady = false;
  return true;
}

/**
 * Nudges every thread of this process but this one, for a parked call whose
 * thread cannot be found ({@link threadsLost}). The handler restarts what
 * `SA_RESTART` restarts; elsewhere the signal ends a call with EINTR, which
 * Deno's runtime and this library's other parked calls take for a spurious
 * wake-up and wait again.
 */
export function nudgeAll(): void {
  const me = libc.gettid();
  for (const tid of threadIds() ?? []) if (tid !== me) libc.tgkill(Deno.pid, tid, NUDGE_SIGNAL);
}

/**
 * Whether /proc/self/task/<tid>/syscall names this process's system calls: a
 * thread reading its own file is seen in `read`. Not so where it cannot be
 * read, nor under a user-mode emulator (qemu-user), where the kernel names the
 * host's calls and a nudge would never find its thread.
 */
function threadsReadable(): boolean {
  return syscallLine(libc.gettid())?.startsWith(`${C.SYS_read} `) === true;
}

const lineBuf = new Uint8Array(256);
/**
 * The encoded paths of threads read before. A cache, emptied when it holds
 * {@link MAX_PATHS}: pool threads come and go, and a thread that ended after
 * its last read would otherwise stay in it for good.
 */
const paths = new Map<number, Uint8Array>();
const MAX_PATHS = 128;

/** The text of `/proc/self/task/<tid>/syscall`, or undefined when it cannot be read. */
function syscallLine(tid: number): string | undefined {
  let path = paths.get(tid);
  if (path === undefined) {
    if (paths.size >= MAX_PATHS) paths.clear();
    paths.set(tid, path = cString(`/proc/self/task/${tid}/syscall`));
  }
  const line = procBytes(path, lineBuf);
  if (line === undefined) paths.delete(tid); // the thread is gone
  return line === undefined ? undefined : decoder.decode(line);
}

/** Identifies a blocked call: its syscall number and one argument unique to it. */
export interface BlockedCall {
  /** The syscall number the thread is blocked in. */
  readonly syscall: number;
  /** Which argument identifies the call (0 = the first). */
  readonly arg: number;
  /** That argument's value: the call's own buffer address. */
  readonly value: bigint;
}

/**
 * Pool threads found serving parked calls before, most recent first: Deno
 * reuses its pool threads, so the next parked call is most likely on one of
 * them, and looking there first spares reading every thread of the process
 * (each read costs tens of µs: the kernel waits until the thread is off its
 * CPU). They are looked at least recent first: an idle pool thread waits on a
 * condition variable, and a futex wakes its waiters in the order they came, so
 * the next call goes to the thread idle the longest.
 */
const poolThreads: number[] = [];

/** The thread blocked in `call`, or -1 when none is (not yet, or no more). */
export function findThread(call: BlockedCall): number {
  const want = `${call.syscall} 0x`;
  const value = `0x${call.value.toString(16)}`;
  const matches = (tid: number) => {
    const line = syscallLine(tid);
    if (line === undefined || !line.startsWith(want)) return false;
    return line.split(" ", 2 + call.arg)[1 + call.arg] === value;
  };
  let found = poolThreads.findLast(matches) ?? -1;
  if (found < 0) {
    const known = new Set(poolThreads);
    // Newest first: pool threads start after the runtime's own.
    const tids = (threadIds() ?? []).sort((a, b) => b - a);
    found = tids.find((tid) => !known.has(tid) && matches(tid)) ?? -1;
  }
  if (found > 0) {
    const at = poolThreads.indexOf(found);
    if (at >= 0) poolThreads.splice(at, 1);
    poolThreads.unshift(found);
    poolThreads.length = Math.min(poolThreads.length, 64);
  }
  return found;
}

/**
 * Sends the nudge to thread `tid` of this process; with the alarm signal for a
 * `restartable` call (see {@link canNudgeRestartable}).
 */
export function nudgeThread(tid: number, restartable = false): void {
  // ESRCH: the thread ended; the caller finds the call again or sees it return.
  libc.tgkill(Deno.pid, tid, restartable ? ALARM_SIGNAL : NUDGE_SIGNAL);
}

/** The main isolate's alarm timer, made once (the first timer's id is 0: a null pointer). */
let alarmTimer: Deno.PointerValue = null;
/** Whether the alarm signal can be sent to a thread here; undefined until a timer was tried. */
let alarmWorks: boolean | undefined;
/**
 * Whether this isolate is a Worker's. Its thread ends before the process
 * does, and a timer outlives the thread it signals (each counts against the
 * user's pending-signal limit): a Worker's alarm lives for one call.
 */
export const IN_WORKER: boolean =
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "function";
const ITIMER = LAYOUTS.itimerspec;
const disarmed = new Uint8Array(ITIMER.size);
const armed = new Uint8Array(ITIMER.size);
const armedView = new DataView(armed.buffer);

/**
 * A new timer that signals this thread, or false where the alarm cannot end a
 * call: the signal has a handler of another owner or is blocked (a parent may
 * start us so), or the system cannot send it to a thread (qemu-user has no
 * host signal for the top two real-time signals: EINVAL). Sync forms with a
 * timeout then wait by polling.
 */
function newAlarmTimer(): Deno.PointerValue | false {
  if (!install(ALARM_SIGNAL, false) || blockedHere(ALARM_SIGNAL)) return false;
  const ev = LAYOUTS.sigevent.encode({
    sigev_value: { sival_ptr: 0n },
    sigev_signo: ALARM_SIGNAL,
    sigev_notify: C.SIGEV_THREAD_ID,
    // The union's first int is sigev_notify_thread_id.
    "_sigev_un._pad": [libc.gettid(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  });
  const id = new BigUint64Array(1);
  const r = libc.timer_create(C.CLOCK_MONOTONIC, ev, new Uint8Array(id.buffer));
  if (r < 0 && lastErrno() === E.EINVAL) return false;
  ok(r, "timer_create");
  return Deno.UnsafePointer.create(id[0]);
}

/** Whether the alarm can be had here: tried once (the main isolate keeps the timer). */
function hasAlarm(): boolean {
  if (alarmWorks === undefined) {
    const timer = newAlarmTimer();
    alarmWorks = timer !== false;
    if (timer !== false) {
      if (IN_WORKER) libc.timer_delete(timer);
      else alarmTimer = timer;
    }
  }
  return alarmWorks;
}

function setTimer(ms: number): void {
  const sec = Math.floor(ms / 1000);
  const nsec = Math.max(1, Math.round((ms - sec * 1000) * 1e6));
  const { it_interval, it_value } = ITIMER.offsets;
  const { tv_sec, tv_nsec } = LAYOUTS.timespec.offsets;
  armedView.setBigInt64(it_interval + tv_sec, 0n, true);
  armedView.setBigInt64(it_interval + tv_nsec, BigInt(ALARM_REPEAT_MS * 1e6), true);
  armedView.setBigInt64(it_value + tv_sec, BigInt(sec), true);
  armedView.setBigInt64(it_value + tv_nsec, BigInt(Math.min(nsec, 999_999_999)), true);
}

/**
 * Runs the blocking call `run` on this thread, interrupted (EINTR) once
 * `deadline` has passed, and again every few ms until it returns.
 */
function interruptAt<T>(deadline: number, timer: Deno.PointerValue, run: () => T): T {
  setTimer(Math.max(0.001, sliceLeft(deadline)));
  ok(libc.timer_settime(timer, 0, armed, null), "timer_settime");
  try {
    return run();
  } finally {
    libc.timer_settime(timer, 0, disarmed, null);
  }
}

/**
 * Whether a blocking call can end at `deadline` here: always without one,
 * else where the alarm can be had. An operation on an fd that cannot waits in
 * `poll(2)` instead.
 */
export function interruptible(deadline: number): boolean {
  return deadline === Infinity || hasAlarm();
}

/**
 * Runs `run`, a blocking call of a sync form that handles its own failures,
 * on this thread, interrupted (EINTR) once `deadline` has passed. Only where
 * {@link interruptible} says so.
 */
export function callUntil<T>(deadline: number, run: () => T): T {
  if (deadline === Infinity) return run();
  if (!hasAlarm()) throw new Error("callUntil: no alarm here; check interruptible() first");
  if (!IN_WORKER) return interruptAt(deadline, alarmTimer, run);
  const timer = newAlarmTimer();
  if (timer === false) throw new Error("callUntil: the alarm was lost here (its signal blocked?)");
  try {
    return interruptAt(deadline, timer, run);
  } finally {
    libc.timer_delete(timer);
  }
}

/**
 * The blocking call of a sync form: `run` on this thread, interrupted at
 * `deadline`. Returns its result (`>= 0`), or AGAIN when it was interrupted
 * (the deadline passed, or another signal came); other failures throw. Where
 * no alarm can be had (see {@link interruptible}), a call with a deadline is
 * not made: this waits a moment and returns AGAIN.
 */
export function blockingCall(
  deadline: number,
  run: () => number,
  syscall: string,
  about: About,
): number | typeof AGAIN {
  // No alarm: the call is not made, and the caller tries again after a moment (it polls).
  if (!interruptible(deadline)) {
    napSync(Math.min(POLL_FIRST_MS, deadline - performance.now()));
    return AGAIN;
  }
  const r = callUntil(deadline, run);
  if (r >= 0) return r;
  failed(syscall, about); // throws unless interrupted, or EAGAIN
  return AGAIN;
}
