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
import { AGAIN, E, errorOf, failed, lastErrno, ok, RETRY } from "../_sys.ts";
import { MAX_TIMER_MS } from "./deadline.ts";
import type { Pending } from "./pending.ts";
import type { Source } from "./source.ts";

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
const POLLFD = LAYOUTS.pollfd;

interface FdWait {
  readonly fd: number;
  readonly events: number;
  readonly pending: Pending;
  readonly resolve: (r: typeof AGAIN) => void;
}

class FdEngine {
  #epfd = -1;
  #wakeFd = -1;
  #waits = new Map<number, Set<FdWait>>();
  /**
   * The fds registered in the epoll set, and the events each is armed for.
   * Registrations are one-shot: an event disarms its fd in the kernel (0
   * here), so the wake-up path needs no `epoll_ctl`; a registration stays,
   * disarmed, until the fd waits again (re-armed with one `EPOLL_CTL_MOD`) or
   * its handle closes ({@link FdEngine.forget}).
   */
  #registered = new Map<number, number>();
  #parked = false;
  #unrefPoll: ReturnType<typeof setTimeout> | undefined;
  #events = new Uint8Array(EVENT.size * MAX_EVENTS);
  #eventsView = new DataView(this.#events.buffer);
  #ctl = new Uint8Array(EVENT.size);
  #ctlView = new DataView(this.#ctl.buffer);
  #counter = new Uint8Array(8);

  /** Resolves when `fd` is ready for `events` (or has an error or hang-up: the retry sees it), or `p` is cancelled. */
  park(fd: number, events: number, p: Pending): Promise<typeof AGAIN> {
    this.#open();
    return new Promise((resolve) => {
      const w: FdWait = { fd, events, pending: p, resolve };
      let set = this.#waits.get(fd);
      if (set === undefined) this.#waits.set(fd, set = new Set());
      set.add(w);
      this.#sync(fd);
      p.onCancel(() => this.#drop(w));
      this.#park();
    });
  }

  /** How many fds have waits pending (for tests and diagnostics). */
  get pending(): number {
    return this.#waits.size;
  }

  #drop(w: FdWait): void {
    const set = this.#waits.get(w.fd);
    if (set === undefined || !set.delete(w)) return;
    if (set.size === 0) this.#waits.delete(w.fd);
    this.#sync(w.fd);
    w.resolve(AGAIN);
    this.#wakeIfIdle();
  }

  #open(): void {
    if (this.#epfd >= 0) return;
    const epfd = ok(libc.epoll_create1(C.EPOLL_CLOEXEC), "epoll_create1");
    const wakeFd = libc.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    if (wakeFd < 0) {
      libc.close(epfd);
      ok(wakeFd, "eventfd");
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
    const armed = this.#registered.get(fd);
    if (mask === (armed ?? 0)) return;
    if (mask === 0) {
      // Its last wait was cancelled before an event: remove it (a fired one stays, disarmed).
      return this.forget(fd);
    }
    const events = mask | C.EPOLLONESHOT;
    if (armed === undefined) {
      this.#add(fd, events);
    } else if (this.#control(C.EPOLL_CTL_MOD, fd, events) === E.ENOENT) {
      // Its file was closed and the kernel dropped it: the number is another file's now.
      this.#add(fd, events);
    }
    this.#registered.set(fd, mask);
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
    if (!this.#registered.delete(fd)) return;
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

  /** Whether some wait keeps the process alive (unref'd ones must not). */
  #hasRef(): boolean {
    for (const set of this.#waits.values()) {
      for (const w of set) if (w.pending.ref) return true;
    }
    return false;
  }

  #park(): void {
    if (this.#parked) return;
    if (!this.#hasRef()) return this.#pollLater();
    this.#parked = true;
    libc.epoll_wait_parked(this.#epfd, this.#events, MAX_EVENTS, -1).then((n) => this.#woken(n));
  }

  #woken(n: number): void {
    this.#parked = false;
    const ready: FdWait[] = [];
    for (let i = 0; i < n; i++) {
      const base = i * EVENT.size;
      const got = this.#eventsView.getUint32(base + EVENT.offsets.events, true);
      const fd = this.#eventsView.getInt32(base + DATA, true);
      if (fd === this.#wakeFd) {
        libc.read(this.#wakeFd, this.#counter, 8);
        continue;
      }
      // The event disarmed the one-shot registration.
      if (this.#registered.has(fd)) this.#registered.set(fd, 0);
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
    for (const w of ready) {
      w.pending.onCancel(undefined);
      w.resolve(AGAIN);
    }
    // n < 0 (EINTR) simply parks again; the waits are still registered.
    this.#park();
  }

  /** Looks at the fds of unref'd waits once {@link UNREF_POLL_MS} has passed, unless parked by then. */
  #pollLater(): void {
    if (this.#unrefPoll !== undefined || this.#waits.size === 0) return;
    this.#unrefPoll = setTimeout(() => {
      this.#unrefPoll = undefined;
      // What the parked call would have returned, taken without waiting; #woken parks again.
      if (!this.#parked) this.#woken(libc.epoll_wait(this.#epfd, this.#events, MAX_EVENTS, 0));
    }, UNREF_POLL_MS);
    Deno.unrefTimer(this.#unrefPoll);
  }

  #wakeIfIdle(): void {
    if (!this.#parked || this.#hasRef()) return;
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
