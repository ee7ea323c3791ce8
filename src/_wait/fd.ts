/**
 * The fd readiness source: pipes, FIFOs, POSIX queues, pidfds (and next
 * sockets, signalfd). One epoll instance, and **one** `epoll_wait` parked on
 * a pool thread for every fd wait of the isolate. Waits are added and removed
 * with `epoll_ctl` from the main thread while that call is parked; an eventfd
 * in the set wakes it when no wait that keeps the process alive is left, so
 * the process can exit; waits that keep nothing alive (an unref'd child's)
 * are then looked at on a timer that keeps nothing alive either. The sync form blocks in `poll(2)`.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, E, errorOf, failed, lastErrno, RETRY } from "../_sys.ts";
import { MAX_TIMER_MS } from "./deadline.ts";
import type { Pending } from "./pending.ts";
import type { Source } from "./source.ts";
import { ownedCount } from "../_owned_fds.ts";
import { errorFromCode } from "../errors.ts";
import { settleReleased } from "./release.ts";

/** Readiness to wait for: data to read (or end of file, an error). */
export const READABLE: number = C.EPOLLIN;
/** Readiness to wait for: room to write (or an error). */
export const WRITABLE: number = C.EPOLLOUT;

const MAX_EVENTS = 64;
/**
 * How often waits that keep nothing alive (an unref'd child's) are looked at
 * while no other wait parks `epoll_wait`: on a timer that keeps nothing alive
 * either, so that they still settle while the process runs for other reasons.
 */
const UNREF_POLL_MS = 50;
const EVENT = LAYOUTS.epoll_event;
// The fd is kept in the low 32 bits of epoll_data_t (little-endian on every platform we have).
const DATA = EVENT.offsets.data;
const EVENTS = EVENT.offsets.events;
const POLLFD = LAYOUTS.pollfd;

interface FdWait {
  readonly fd: number;
  readonly events: number;
  readonly pending: Pending;
  /**
   * Whether it keeps the process alive: its `Pending.ref` when it parked. A
   * handle's `unref()`/`ref()` restarts its waits, which park again with the
   * new value, so the engine counts these instead of looking at every wait.
   */
  readonly ref: boolean;
  readonly resolve: (r: typeof AGAIN) => void;
}

/** An fd the engine knows: its pending waits, and what its epoll registration is armed for. */
interface FdEntry {
  /** Kept, with the entry, from one wait to the next: a park allocates no collection. */
  readonly waits: FdWait[];
  /**
   * The events its registration is armed for, -1 when it has none.
   * Registrations are one-shot: an event disarms the fd in the kernel (0
   * here), so the wake-up path needs no `epoll_ctl`; a registration stays,
   * disarmed, until the fd waits again (re-armed with one `EPOLL_CTL_MOD`) or
   * its handle closes ({@link FdEngine.forget}).
   */
  armed: number;
}

/** An error or hang-up completes every wait of the fd: its retry sees it. */
const ERROR_OR_HANGUP = C.EPOLLERR | C.EPOLLHUP;

/**
 * The wake-up path runs after an idle gap, from cold caches and often
 * before V8 has optimised it, so its bookkeeping is kept short: one lookup per
 * event, arrays rather than sets, and counters rather than walks over every wait.
 */
class FdEngine {
  #epfd = -1;
  #wakeFd = -1;
  /** Every fd with waits pending or a registration. */
  #fds = new Map<number, FdEntry>();
  /** Waits pending, and those of them that keep the process alive. */
  #waiting = 0;
  #refWaiting = 0;
  #parked = false;
  #unrefPoll: ReturnType<typeof setTimeout> | undefined;
  #events = new Uint8Array(EVENT.size * MAX_EVENTS);
  #eventsView = new DataView(this.#events.buffer);
  #ctl = new Uint8Array(EVENT.size);
  #ctlView = new DataView(this.#ctl.buffer);
  #counter = new Uint8Array(8);

  /** Resolves when `fd` is ready for `events` (or has an error or hang-up: the retry sees it), or `p` is cancelled. */
  park(fd: number, events: number, p: Pending): Promise<typeof AGAIN> {
    this.#open(p.syscall, fd);
    return new Promise((resolve) => {
      const w: FdWait = { fd, events, pending: p, ref: p.ref, resolve };
      let entry = this.#fds.get(fd);
      if (entry === undefined) this.#fds.set(fd, entry = { waits: [], armed: -1 });
      entry.waits.push(w);
      this.#count(w, 1);
      this.#sync(fd, entry);
      p.onCancel(() => this.#drop(w));
      this.#park();
    });
  }

  /** Its epoll instance and eventfd, while open. */
  get descriptors(): number[] {
    return this.#epfd < 0 ? [] : [this.#epfd, this.#wakeFd];
  }

  /** How many fds have waits pending (for tests and diagnostics). */
  get pending(): number {
    let n = 0;
    for (const entry of this.#fds.values()) if (entry.waits.length > 0) n++;
    return n;
  }

  #count(w: FdWait, by: 1 | -1): void {
    this.#waiting += by;
    if (w.ref) this.#refWaiting += by;
  }

  #drop(w: FdWait): void {
    const entry = this.#fds.get(w.fd);
    const at = entry?.waits.indexOf(w) ?? -1;
    if (entry === undefined || at < 0) return;
    entry.waits.splice(at, 1);
    this.#count(w, -1);
    this.#sync(w.fd, entry);
    w.resolve(AGAIN);
    this.#wakeIfIdle();
  }

  /** Opens the epoll and its eventfd for the first wait; failing, an error of that wait's call on `fd`. */
  #open(syscall: string, fd: number): void {
    if (this.#epfd >= 0) return;
    const cannot = (what: string) =>
      errorFromCode(lastErrno(), syscall, { fd }, `the wait needs ${what}, which failed`);
    const epfd = libc.epoll_create1(C.EPOLL_CLOEXEC);
    if (epfd < 0) throw cannot("an epoll (epoll_create1)");
    const wakeFd = libc.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    if (wakeFd < 0) {
      const e = cannot("an eventfd");
      libc.close(epfd);
      throw e;
    }
    this.#epfd = epfd;
    this.#wakeFd = wakeFd;
    this.#control(C.EPOLL_CTL_ADD, wakeFd, C.EPOLLIN);
  }

  /** Brings the epoll registration of `fd` in line with its pending waits. */
  #sync(fd: number, entry: FdEntry): void {
    let mask = 0;
    for (const w of entry.waits) mask |= w.events;
    if (mask === Math.max(entry.armed, 0)) {
      // No wait and no registration (its handle forgot it while waits were pending): nothing to keep.
      if (entry.armed < 0) this.#fds.delete(fd);
      return;
    }
    if (mask === 0) {
      // Its last wait was cancelled before an event: remove it (a fired one stays, disarmed).
      return this.forget(fd);
    }
    const events = mask | C.EPOLLONESHOT;
    if (entry.armed < 0) {
      this.#add(fd, events);
    } else if (this.#control(C.EPOLL_CTL_MOD, fd, events) === E.ENOENT) {
      // Its file was closed and the kernel dropped it: the number is another file's now.
      this.#add(fd, events);
    }
    entry.armed = mask;
  }

  #add(fd: number, events: number): void {
    if (this.#control(C.EPOLL_CTL_ADD, fd, events) === E.EEXIST) {
      this.#control(C.EPOLL_CTL_MOD, fd, events);
    }
  }

  /**
   * Forgets `fd` before its handle closes it: pending waits on it must have
   * been cancelled. (The kernel would drop the registration when the file
   * closes, but not while a copy of the descriptor lives on elsewhere.)
   */
  forget(fd: number): void {
    const entry = this.#fds.get(fd);
    if (entry === undefined) return;
    if (entry.waits.length === 0) this.#fds.delete(fd);
    if (entry.armed < 0) return;
    entry.armed = -1;
    this.#control(C.EPOLL_CTL_DEL, fd, 0, true);
  }

  /** `epoll_ctl`; returns 0, or the errno of ENOENT/EEXIST, which the caller handles. */
  #control(op: number, fd: number, events: number, quiet = false): number {
    this.#ctlView.setUint32(EVENT.offsets.events, events, true);
    this.#ctlView.setInt32(DATA, fd, true);
    this.#ctlView.setInt32(DATA + 4, 0, true);
    if (libc.epoll_ctl(this.#epfd, op, fd, this.#ctl) === 0 || quiet) return 0;
    const code = lastErrno();
    if (code === E.ENOENT || code === E.EEXIST) return code;
    throw errorOf(code, "epoll_ctl", { fd });
  }

  #park(): void {
    if (this.#parked) return;
    if (this.#refWaiting === 0) return this.#pollLater();
    this.#parked = true;
    libc.epoll_wait_parked(this.#epfd, this.#events, MAX_EVENTS, -1).then((n) => this.#woken(n));
  }

  #woken(n: number): void {
    this.#parked = false;
    for (let i = 0; i < n; i++) {
      const base = i * EVENT.size;
      const got = this.#eventsView.getUint32(base + EVENTS, true);
      const fd = this.#eventsView.getInt32(base + DATA, true);
      if (fd === this.#wakeFd) {
        libc.read(this.#wakeFd, this.#counter, 8);
        continue;
      }
      const entry = this.#fds.get(fd);
      if (entry === undefined) continue;
      // The event disarmed the one-shot registration.
      if (entry.armed > 0) entry.armed = 0;
      this.#ready(fd, entry, got);
    }
    // n < 0 (EINTR) simply parks again; the waits are still registered.
    this.#park();
    this.releaseIfIdle();
  }

  /** Resolves the waits of `fd` that `got` concerns (their engine tries again); the others stay, in order. */
  #ready(fd: number, entry: FdEntry, got: number): void {
    const waits = entry.waits;
    const any = (got & ERROR_OR_HANGUP) !== 0;
    let kept = 0;
    for (let j = 0; j < waits.length; j++) {
      const w = waits[j];
      if (any || (w.events & got) !== 0) {
        this.#count(w, -1);
        w.pending.onCancel(undefined);
        w.resolve(AGAIN);
      } else {
        waits[kept++] = w;
      }
    }
    waits.length = kept;
    this.#sync(fd, entry);
  }

  /**
   * Makes the waits of `fd` for `events` try again now, as if it were ready:
   * for a change that `epoll` does not report (a Unix socket shut down for
   * writing with its buffer full stays not writable, where a send fails with EPIPE).
   */
  retry(fd: number, events: number): void {
    const entry = this.#fds.get(fd);
    if (entry === undefined) return;
    this.#ready(fd, entry, events);
    this.#wakeIfIdle();
  }

  /** Looks at the fds of unref'd waits once {@link UNREF_POLL_MS} has passed, unless parked by then. */
  #pollLater(): void {
    if (this.#unrefPoll !== undefined || this.#waiting === 0) return;
    this.#unrefPoll = setTimeout(() => {
      this.#unrefPoll = undefined;
      // What the parked call would have returned, taken without waiting; #woken parks again.
      if (!this.#parked) this.#woken(libc.epoll_wait(this.#epfd, this.#events, MAX_EVENTS, 0));
    }, UNREF_POLL_MS);
    Deno.unrefTimer(this.#unrefPoll);
  }

  /**
   * Closes the epoll instance and its eventfd when this isolate has no handle
   * that owns a descriptor, no fd wait pending and no `epoll_wait` in flight:
   * a Worker's would stay open after it ends (nothing tells an isolate it
   * ends). The next wait opens them again. Called as handles close, and
   * when the parked `epoll_wait` returns.
   */
  releaseIfIdle(): void {
    if (this.#epfd < 0 || this.#parked || this.#waiting > 0 || ownedCount() > 0) return;
    if (this.#unrefPoll !== undefined) clearTimeout(this.#unrefPoll);
    this.#unrefPoll = undefined;
    // Registrations left (fired, or of fds forgotten) go with the instance.
    this.#fds.clear();
    libc.close(this.#wakeFd);
    libc.close(this.#epfd);
    this.#epfd = this.#wakeFd = -1;
    settleReleased();
  }

  #wakeIfIdle(): void {
    if (!this.#parked || this.#refWaiting > 0) return;
    this.#counter.fill(0);
    this.#counter[0] = 1;
    libc.write(this.#wakeFd, this.#counter, 8);
  }
}

/** The isolate's engine for fd waits. */
export const fdEngine: FdEngine = new FdEngine();

// One struct pollfd for every pollSync: a fresh buffer per call costs more than
// poll(2) itself, and a thread blocks in one poll at a time.
const pollBuf = new Uint8Array(POLLFD.size);
const pollView = new DataView(pollBuf.buffer);

/**
 * Blocks the calling thread until `fd` is ready for `events` (`poll(2)`) or
 * `deadline` passes; returns AGAIN either way (the caller retries or times out).
 */
export function pollSync(fd: number, events: number, deadline: number): typeof AGAIN {
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return AGAIN;
    const ms = left === Infinity ? -1 : Math.min(Math.ceil(left), MAX_TIMER_MS);
    if (pollOne(fd, events, ms) >= 0) return AGAIN;
    if (failed("poll", { fd }) !== RETRY) return AGAIN;
  }
}

/** Whether `fd` is ready for `events` now (or in error: a try then reports it), from `poll(2)` with no wait. */
export function pollNow(fd: number, events: number): boolean {
  return pollOne(fd, events, 0) !== 0;
}

/** Whether `fd` has bytes to read now (`POLLIN` itself: a hang-up alone is not enough). */
export function hasBytesNow(fd: number): boolean {
  return eventsNow(fd, READABLE);
}

/**
 * Whether `poll(2)` reports `events` themselves on `fd` now: not only the
 * `POLLERR`/`POLLHUP` it reports whatever was asked (a pending error is not a
 * shut-down, say).
 */
export function eventsNow(fd: number, events: number): boolean {
  return pollOne(fd, events, 0) > 0 &&
    (pollView.getInt16(POLLFD.offsets.revents, true) & events) !== 0;
}

/** `poll(2)` of `fd` alone for `events`, up to `ms` (-1: no limit); what poll returns. */
function pollOne(fd: number, events: number, ms: number): number {
  // poll(2) takes POLL* bits; EPOLLIN/EPOLLOUT have the values of POLLIN/POLLOUT.
  pollView.setInt32(POLLFD.offsets.fd, fd, true);
  pollView.setInt16(POLLFD.offsets.events, events, true);
  return libc.poll(pollBuf, 1, ms);
}

/** The readiness source of `fd` becoming ready for `events`. */
export function fdSource(fd: number, events: number): Source<never> {
  return {
    park: (p) => fdEngine.park(fd, events, p),
    block: (deadline) => pollSync(fd, events, deadline),
    parksUnref: true,
  };
}
