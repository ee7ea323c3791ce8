/**
 * The waiting engine. Every blocking operation is first tried without waiting
 * on the main thread (where errno is readable); when it would block, it waits:
 *
 * - for a file descriptor: one epoll instance, and one `epoll_wait` parked on a
 *   pool thread for every fd wait of the process. Waits are added and removed
 *   with `epoll_ctl` from the main thread while that call is parked; an eventfd
 *   in the set wakes it when nothing is left to wait for, so the process can exit.
 * - for a call that has no fd (a FIFO's blocking `open`, later `msgrcv`, `semop`):
 *   {@link parked} runs it on a pool thread, at most {@link PARK_BUDGET} at once.
 *
 * So the library holds at most `1 + PARK_BUDGET` of Deno's 32 pool threads,
 * however many waits are pending.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";
import { C, SIZEOF } from "../ffi/platform.ts";
import { lastError } from "./errors.ts";
import { setImmediate } from "node:timers";

/** Options of every waiting (async) operation. */
export interface WaitOptions {
  /** Cancels the wait: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Milliseconds to wait at most; then the promise rejects with `Deno.errors.TimedOut`. */
  timeout?: number;
}

/** Returned by an attempt that would block. */
export const AGAIN: unique symbol = Symbol("AGAIN");

/** Readiness to wait for. */
export const READABLE: number = C.EPOLLIN;
/** Readiness to wait for. */
export const WRITABLE: number = C.EPOLLOUT;

/** Pool threads that {@link parked} calls may hold at once. */
export const PARK_BUDGET = 4;
/** How often a cancelled parked call is nudged again until it returns. */
const NUDGE_MS = 2;

const MAX_EVENTS = 64;
const EVENT_SIZE = SIZEOF.epoll_event;
// epoll_event.data follows the u32 events field (packed on x86_64).
const DATA_OFFSET = EVENT_SIZE === 12 ? 4 : 8;

interface FdWait {
  fd: number;
  events: number;
  owner: RefOwner | undefined;
  resolve(): void;
  reject(e: unknown): void;
}

/** Whether the waits of an owner keep the process alive (`ChildProcess.unref()` clears it). */
export interface RefOwner {
  ref: boolean;
}

/** Checks the common options up front so a bad one fails before any syscall. */
export function checkWaitOptions(options: WaitOptions | undefined): void {
  if (options === undefined) return;
  const { signal, timeout } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError("signal must be an AbortSignal");
  }
  if (timeout !== undefined && (typeof timeout !== "number" || !(timeout >= 0))) {
    throw new RangeError(`timeout must be a number of milliseconds >= 0, got ${timeout}`);
  }
}

/** A deadline for a whole operation made of several waits. */
export function deadlineOf(options: WaitOptions | undefined): number | undefined {
  return options?.timeout === undefined ? undefined : performance.now() + options.timeout;
}

function timedOut(): Error {
  return new Deno.errors.TimedOut("the operation timed out");
}

class FdEngine {
  #epfd = -1;
  #wakeFd = -1;
  #waits = new Map<number, Set<FdWait>>();
  #registered = new Map<number, number>();
  #parked = false;
  #events = new Uint8Array(EVENT_SIZE * MAX_EVENTS);
  #eventsView = new DataView(this.#events.buffer);
  #ctl = new Uint8Array(EVENT_SIZE);
  #ctlView = new DataView(this.#ctl.buffer);
  #counter = new Uint8Array(8);

  /** Resolves when `fd` is ready for `events` (or has an error or hang-up: the caller's retry sees it). */
  wait(
    fd: number,
    events: number,
    signal?: AbortSignal,
    deadline?: number,
    owner?: RefOwner,
  ): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (deadline !== undefined && performance.now() >= deadline) {
      return Promise.reject(timedOut());
    }
    this.#open();
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const w: FdWait = {
        fd,
        events,
        owner,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      const onAbort = () => this.#cancel(w, signal!.reason);
      let set = this.#waits.get(fd);
      if (set === undefined) this.#waits.set(fd, set = new Set());
      set.add(w);
      try {
        this.#sync(fd);
      } catch (e) {
        set.delete(w);
        if (set.size === 0) this.#waits.delete(fd);
        reject(e);
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      if (deadline !== undefined) {
        timer = setTimeout(
          () => this.#cancel(w, timedOut()),
          Math.max(0, deadline - performance.now()),
        );
      }
      this.#park();
    });
  }

  /**
   * Rejects every wait on `fd` (its handle is closing) and forgets the fd.
   * Each wait gets an error of its own from `reason()`: a caller may add to
   * it (FdWriter.write adds its own `bytesWritten`).
   */
  cancelFd(fd: number, reason: () => unknown): void {
    const set = this.#waits.get(fd);
    if (set === undefined) return;
    this.#waits.delete(fd);
    this.#sync(fd);
    for (const w of set) w.reject(reason());
    this.#wakeIfIdle();
  }

  /** How many fds have waits pending (for tests and diagnostics). */
  get pending(): number {
    return this.#waits.size;
  }

  #cancel(w: FdWait, reason: unknown): void {
    const set = this.#waits.get(w.fd);
    if (set === undefined || !set.delete(w)) return;
    if (set.size === 0) this.#waits.delete(w.fd);
    this.#sync(w.fd);
    w.reject(reason);
    this.#wakeIfIdle();
  }

  #open(): void {
    if (this.#epfd >= 0) return;
    const epfd = libc.epoll_create1(C.EPOLL_CLOEXEC);
    if (epfd < 0) throw lastError("epoll_create1");
    const wakeFd = libc.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    if (wakeFd < 0) {
      const e = lastError("eventfd");
      libc.close(epfd);
      throw e;
    }
    this.#epfd = epfd;
    this.#wakeFd = wakeFd;
    this.#control(C.EPOLL_CTL_ADD, wakeFd, C.EPOLLIN);
  }

  /** Brings the epoll registration of `fd` in line with its pending waits. */
  #sync(fd: number): void {
    const set = this.#waits.get(fd);
    let mask = 0;
    if (set !== undefined) { for (const w of set) mask |= w.events; }
    const had = this.#registered.get(fd);
    if (mask === (had ?? 0)) return;
    if (mask === 0) {
      this.#registered.delete(fd);
      // The fd may already be closed by its owner; the kernel then dropped it itself.
      this.#control(C.EPOLL_CTL_DEL, fd, 0, true);
      return;
    }
    this.#control(had === undefined ? C.EPOLL_CTL_ADD : C.EPOLL_CTL_MOD, fd, mask);
    this.#registered.set(fd, mask);
  }

  #control(op: number, fd: number, events: number, quiet = false): void {
    this.#ctlView.setUint32(0, events, true);
    this.#ctlView.setInt32(DATA_OFFSET, fd, true);
    if (libc.epoll_ctl(this.#epfd, op, fd, this.#ctl) < 0 && !quiet) {
      throw lastError("epoll_ctl", { fd });
    }
  }

  /** Call after an owner's `ref` changed: parks for it, or lets the process exit. */
  refChanged(): void {
    this.#park();
    this.#wakeIfIdle();
  }

  /** Whether some wait keeps the process alive (a parked call does, unref'd waits must not). */
  #hasRef(): boolean {
    for (const set of this.#waits.values()) {
      for (const w of set) if (w.owner === undefined || w.owner.ref) return true;
    }
    return false;
  }

  #park(): void {
    if (this.#parked || !this.#hasRef()) return;
    this.#parked = true;
    libc.epoll_wait_parked(this.#epfd, this.#events, MAX_EVENTS, -1).then((n) => this.#woken(n));
  }

  #woken(n: number): void {
    this.#parked = false;
    const ready: FdWait[] = [];
    for (let i = 0; i < n; i++) {
      const base = i * EVENT_SIZE;
      const got = this.#eventsView.getUint32(base, true);
      const fd = this.#eventsView.getInt32(base + DATA_OFFSET, true);
      if (fd === this.#wakeFd) {
        libc.read(this.#wakeFd, this.#counter, 8);
        continue;
      }
      const set = this.#waits.get(fd);
      if (set === undefined) continue;
      const any = (got & (C.EPOLLERR | C.EPOLLHUP)) !== 0;
      for (const w of set) {
        if (any || (w.events & got) !== 0) {
          set.delete(w);
          ready.push(w);
        }
      }
      if (set.size === 0) this.#waits.delete(fd);
      this.#sync(fd);
    }
    for (const w of ready) w.resolve();
    // n < 0 (EINTR) simply parks again; the waits are still registered.
    this.#park();
  }

  #wakeIfIdle(): void {
    if (!this.#parked || this.#hasRef()) return;
    this.#counter.fill(0);
    this.#counter[0] = 1;
    libc.write(this.#wakeFd, this.#counter, 8);
  }
}

/** The process-wide engine for fd waits. */
export const fdEngine: FdEngine = new FdEngine();

/**
 * Adaptive spin before parking: a few µs of non-waiting attempts pay when the
 * other side answers quickly (a parked wait costs tens of µs); the budget grows
 * with spins that succeed and shrinks with spins that do not.
 */
export class Spinner {
  #budgetMs = 0.02;
  #yieldFirst = false;
  #firstTries = 0;
  static readonly MIN_MS = 0.005;
  static readonly MAX_MS = 0.1;

  /**
   * The first try of a wait. When recent first tries found nothing (the peer
   * answers after we ask, as in a request/reply exchange), it yields the CPU
   * first: a peer on this CPU then answers before the try, which spares a
   * failing call and the way into the waiting engine (measured on POSIX
   * queues: 12.5 → 10 µs per round trip on one CPU). Every 16th try does not
   * yield, so a source that fills up again (a burst to drain) turns it off.
   */
  first<T>(attempt: () => T | typeof AGAIN): T | typeof AGAIN {
    if (this.#yieldFirst && (++this.#firstTries & 15) !== 0) {
      libc.sched_yield();
      return attempt();
    }
    const r = attempt();
    this.#yieldFirst = r === AGAIN;
    return r;
  }

  /**
   * Repeats `attempt` for up to the current budget; returns its result or AGAIN.
   * Each try first yields the CPU: when the other side runs on this same CPU,
   * that lets it run now instead of after our budget; alone on the CPU,
   * sched_yield returns at once.
   */
  spin<T>(attempt: () => T | typeof AGAIN): T | typeof AGAIN {
    const start = performance.now();
    const end = start + this.#budgetMs;
    let now = start;
    while (now < end) {
      libc.sched_yield();
      const r = attempt();
      now = performance.now();
      if (r !== AGAIN) {
        this.#budgetMs = Math.min(Spinner.MAX_MS, Math.max(this.#budgetMs, 2 * (now - start)));
        return r;
      }
    }
    this.#budgetMs = Math.max(Spinner.MIN_MS, this.#budgetMs / 2);
    return AGAIN;
  }

  /**
   * After a parked wait of `waitedMs` in all: had the budget been that long,
   * the spin would have caught it. Without this, a budget that fell to MIN_MS
   * (e.g. while the peer was starting) never grows back: a spin can only
   * succeed, and grow it, if the peer answers within the current budget.
   */
  learn(waitedMs: number): void {
    if (waitedMs <= Spinner.MAX_MS) {
      this.#budgetMs = Math.min(Spinner.MAX_MS, Math.max(this.#budgetMs, 1.5 * waitedMs));
    }
  }
}

/**
 * Runs `attempt` until it completes: at once, then after a short adaptive spin,
 * then each time the epoll engine reports `fd` ready for `events`, until
 * `signal` aborts or `deadline` (a `performance.now()` time) passes.
 */
export async function untilReady<T>(
  fd: number,
  events: number,
  attempt: () => T | typeof AGAIN,
  signal: AbortSignal | undefined,
  deadline: number | undefined,
  spinner?: Spinner,
  attempted = false,
): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  // A caller that has just tried (FdReader.read) saves a syscall that would fail again.
  let r: T | typeof AGAIN = attempted ? AGAIN : attempt();
  if (r !== AGAIN) return r;
  const waitStart = performance.now();
  if (spinner !== undefined) {
    r = spinner.spin(attempt);
    if (r !== AGAIN) return r;
  }
  for (;;) {
    await fdEngine.wait(fd, events, signal, deadline);
    r = attempt();
    if (r !== AGAIN) {
      spinner?.learn(performance.now() - waitStart);
      return r;
    }
  }
}

/** First and longest sleep between tries of {@link untilDone}, in ms. */
export const POLL_FIRST_MS = 1;
/** Longest sleep between tries of {@link untilDone}: the most a waiter can lag behind. */
export const POLL_MAX_MS = 10;

/**
 * Runs `attempt` until it completes, for calls that have no fd to wait on
 * (SysV `msgrcv`/`msgsnd`): at once, after a short adaptive spin, then after
 * sleeps that double from {@link POLL_FIRST_MS} to {@link POLL_MAX_MS}. It
 * holds no pool thread, so any number can wait, `signal` and `deadline` stop
 * it at once, and the process can exit; the price is up to POLL_MAX_MS of lag
 * on a wait that outlasts the spin.
 */
export async function untilDone<T>(
  attempt: () => T | typeof AGAIN,
  signal: AbortSignal | undefined,
  deadline: number | undefined,
  spinner: Spinner,
  attempted = false,
): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  let r: T | typeof AGAIN = attempted ? AGAIN : attempt();
  if (r !== AGAIN) return r;
  const start = performance.now();
  r = spinner.spin(attempt);
  let sleep = POLL_FIRST_MS;
  while (r === AGAIN) {
    if (performance.now() - start < YIELD_PHASE_MS) {
      // Any timer costs ~2 ms, whatever its delay: first retry on every event-loop turn.
      await nextTurn(signal, deadline);
      libc.sched_yield();
    } else {
      await sleepFor(sleep, signal, deadline);
      sleep = Math.min(POLL_MAX_MS, sleep * 2);
    }
    r = attempt();
  }
  spinner.learn(performance.now() - start);
  return r;
}

/** How long {@link untilDone} retries on every event-loop turn before it sleeps between tries. */
export const YIELD_PHASE_MS = 2;

/** Resolves on the next event-loop turn (`setImmediate`: µs, where a 0 ms timer takes ms). */
function nextTurn(signal: AbortSignal | undefined, deadline: number | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (deadline !== undefined && performance.now() >= deadline) return Promise.reject(timedOut());
  return new Promise((resolve) => setImmediate(resolve));
}

/** Sleeps `ms`, or less up to `deadline` (then TimedOut); an abort rejects at once. */
function sleepFor(
  ms: number,
  signal: AbortSignal | undefined,
  deadline: number | undefined,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const left = deadline === undefined ? ms : deadline - performance.now();
  if (left <= 0) return Promise.reject(timedOut());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.min(ms, left));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The blocking twin of {@link untilReady}: the caller has just tried; spin
 * briefly, then block the thread in `poll(2)` until `fd` is ready, and retry.
 */
export function untilReadySync<T>(
  fd: number,
  events: number,
  attempt: () => T | typeof AGAIN,
  deadline: number | undefined,
  spinner: Spinner,
): T {
  const start = performance.now();
  let r = spinner.spin(attempt);
  while (r === AGAIN) {
    pollSync(fd, events, deadline);
    r = attempt();
    if (r !== AGAIN) spinner.learn(performance.now() - start);
  }
  return r;
}

/**
 * Blocks the calling thread until `fd` is ready for `events` (`poll(2)`), or
 * throws `TimedOut` once `deadline` (a `performance.now()` time) has passed.
 */
export function pollSync(fd: number, events: number, deadline?: number): void {
  // poll(2) takes POLL* bits; EPOLLIN/EPOLLOUT have the same values as POLLIN/POLLOUT.
  pollView.setInt32(0, fd, true);
  pollView.setInt16(4, events, true);
  for (;;) {
    const ms = deadline === undefined ? -1 : Math.max(0, Math.ceil(deadline - performance.now()));
    const n = libc.poll(pollFd, 1, ms);
    if (n > 0) return;
    if (n === 0) throw timedOut();
    const e = lastError("poll", { fd });
    if (!(e instanceof Deno.errors.Interrupted)) throw e;
  }
}

// One struct pollfd for every pollSync: a fresh buffer and DataView per call cost
// more than the poll(2) itself, and a thread blocks in one poll at a time.
const pollFd = new Uint8Array(8);
const pollView = new DataView(pollFd.buffer);

let parkedNow = 0;
const parkQueue: Array<() => void> = [];

/**
 * Runs a blocking call on a pool thread, at most {@link PARK_BUDGET} at once
 * (later ones queue). `call` starts the nonblocking FFI call; `cancel` must make
 * the kernel return it promptly; `release` undoes the result of a call that
 * completed after all but was cancelled (closes an fd it opened, ...).
 */
export async function parked<T>(
  call: () => Promise<T>,
  cancel: () => void,
  release: (result: T) => void,
  options: WaitOptions | undefined,
): Promise<T> {
  const signal = options?.signal;
  if (signal?.aborted) throw signal.reason;
  let cancelled: { reason: unknown } | undefined;
  let leaveQueue: ((reason: unknown) => void) | undefined;
  let nudger: ReturnType<typeof setInterval> | undefined;
  let running = false;
  const stop = (reason: unknown) => {
    if (cancelled !== undefined) return;
    cancelled = { reason };
    if (!running) return leaveQueue?.(reason);
    // The call may not have entered the kernel yet: nudge until it returns.
    cancel();
    nudger = setInterval(cancel, NUDGE_MS);
  };
  const onAbort = () => stop(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = options?.timeout === undefined
    ? undefined
    : setTimeout(() => stop(timedOut()), options.timeout);
  try {
    if (parkedNow >= PARK_BUDGET) {
      await new Promise<void>((resolve, reject) => {
        parkQueue.push(resolve);
        leaveQueue = (reason) => {
          const at = parkQueue.indexOf(resolve);
          if (at >= 0) parkQueue.splice(at, 1);
          reject(reason);
        };
      });
      // Cancelled just as our turn came: hand the turn on.
      if (cancelled !== undefined) {
        parkQueue.shift()?.();
        throw cancelled.reason;
      }
    }
    parkedNow++;
    running = true;
    try {
      const result = await call();
      if (cancelled !== undefined) {
        release(result);
        throw cancelled.reason;
      }
      return result;
    } finally {
      parkedNow--;
      parkQueue.shift()?.();
    }
  } finally {
    clearTimeout(timer);
    clearInterval(nudger);
    signal?.removeEventListener("abort", onAbort);
  }
}
