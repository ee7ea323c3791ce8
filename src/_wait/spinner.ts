/**
 * {@link Spinner}: the adaptive spin of synchronous attempts before a wait
 * parks. A few µs of non-waiting attempts pay when the other side answers
 * quickly (a parked wait costs tens of µs); the budget grows with spins that
 * succeed and shrinks with spins that do not.
 *
 * Its yields cost more than their time where the peer answers late: under
 * Linux's EEVDF scheduler, `sched_yield` with another task runnable on the
 * CPU pushes the thread's deadline a slice later, and the thread keeps that
 * deadline while it sleeps, so the wake-up that ends its wait does not
 * preempt what runs on its CPU then. A pipe reader that yielded before it
 * parked woke 50 µs later after 20 ms idle (median of 150 wake-ups: 269 µs
 * against 213 without the yields). So after a wait that parked longer than
 * {@link Spinner.MAX_MS}, the next wait neither yields nor spins, until a
 * wait ends soon again.
 *
 * On a CPU other programs keep busy, a yield gives the CPU away for a whole
 * slice (milliseconds), and an async wait's yields are the event loop's:
 * with a pipe fed every 100 µs and three busy processes on two CPUs, 2 ms
 * timers came 21-29 ms late (p90), where they come 2.5 ms late without the
 * yields. So {@link Spinner.CONTENDED_YIELDS} yields in a row that took
 * longer than {@link Spinner.CONTENDED_MS} turn yields off for
 * {@link Spinner.CALM_MS}: a spin is one try, and the waits park. One slow
 * yield alone does not: on one CPU, a peer's turn is sometimes that long
 * (a collection), and without the yields an async round trip there took
 * 45 µs where it takes 26.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { AGAIN } from "../_sys.ts";

/** Gives the CPU to another runnable task, if there is one. */
const yieldCpu = (): void => {
  libc.sched_yield();
};

/** One per direction of a handle: each learns its own peer's pace. */
export class Spinner {
  readonly #yield: () => void;
  #budgetMs = 0.02;
  #switching = false;
  #firstTries = 0;
  /** First tries in a row that found nothing, counting only those made without a yield. */
  #misses = 0;
  /** Spins in a row that found nothing at the smallest budget. */
  #idleSpins = 0;
  /** The last wait parked longer than MAX_MS: the peer answers late (see the module's comment). */
  #late = false;
  static readonly MIN_MS = 0.005;
  static readonly MAX_MS = 0.1;
  /** A yield that took longer than this gave the CPU to another task on this CPU. */
  static readonly SWITCH_MS = 0.002;
  /** A yield that took longer than this ran other programs for a slice: the CPU is contended. */
  static readonly CONTENDED_MS = 1;
  /** How many slow yields in a row make the CPU contended. */
  static readonly CONTENDED_YIELDS = 3;
  /** How long yields stay off once the CPU is contended. */
  static readonly CALM_MS = 100;
  /** Yields in a row that took longer than CONTENDED_MS. */
  #slowYields = 0;
  /** Until when (performance.now()) yields are off: see the module's comment. */
  #calmUntil = -Infinity;

  /** @param yieldCpu how to yield (`sched_yield`; a test's stand-in measures the rules) */
  constructor(yieldCpu_: () => void = yieldCpu) {
    this.#yield = yieldCpu_;
  }

  /** Whether yields found the CPU busy with other programs within the last CALM_MS. */
  get contended(): boolean {
    return performance.now() < this.#calmUntil;
  }

  /**
   * The first try of a wait. When the last two first tries found nothing (the
   * peer answers after we ask, as in a request/reply exchange), it yields the CPU
   * first if yields have been giving the CPU to another task: a peer on this
   * CPU then answers before the try, which spares a failing call and the way
   * into the waiting engine (measured on POSIX queues: 12.5 → 10 µs per round
   * trip on one CPU). Where yields return at once (the peer runs elsewhere,
   * or answers late), they cost without helping: one in 8 still yields, to
   * find out again. Every 16th try does not yield at all, so a source that
   * fills up again (a burst to drain) turns it off.
   *
   * Two misses in a row, not one: in a one-way transfer a first try misses
   * once each time the buffer fills or empties, and yielding before every
   * try then hands the CPU over once per chunk, where C's processes switch
   * once per buffer (measured on a Unix stream socket on one CPU, 64 KiB
   * writes: 0.88 → 0.29 process switches per chunk).
   */
  first<T>(attempt: () => T | typeof AGAIN): T | typeof AGAIN {
    const n = ++this.#firstTries;
    if (!this.#late && this.#yieldsFirst() && (n & 15) !== 0) {
      if (this.#switching || (n & 7) === 1) {
        const start = performance.now();
        if (start >= this.#calmUntil) {
          this.#yield();
          const took = performance.now() - start;
          this.#switching = took > Spinner.SWITCH_MS;
          this.#yielded(start + took, took);
        }
      }
      return attempt();
    }
    const r = attempt();
    this.#misses = r === AGAIN ? this.#misses + 1 : 0;
    return r;
  }

  /** Counts a yield that ended at `now` after `took` ms; enough slow ones in a row start a calm. */
  #yielded(now: number, took: number): void {
    if (took <= Spinner.CONTENDED_MS) {
      this.#slowYields = 0;
    } else if (++this.#slowYields >= Spinner.CONTENDED_YIELDS) {
      this.#slowYields = 0;
      this.#calmUntil = now + Spinner.CALM_MS;
    }
  }

  /** Whether first tries yield first: the last two made without a yield found nothing. */
  #yieldsFirst(): boolean {
    return this.#misses >= 2;
  }

  /**
   * Whether a sync wait should block at once, skipping its first try and the
   * spin: recent first tries found nothing, and yields gave the CPU to another
   * task, so the peer shares this CPU. Blocking then switches to it as the
   * yield did, in one system call instead of two (the yield, then the try).
   * Every 16th wait takes the yield path instead, to find out again.
   */
  blocksFirst(): boolean {
    return this.#yieldsFirst() && this.#switching && (++this.#firstTries & 15) !== 0;
  }

  /**
   * Repeats `attempt` for up to the current budget; returns its result or AGAIN.
   * Each try first yields the CPU: when the other side runs on this same CPU,
   * that lets it run now instead of after our budget; alone on the CPU,
   * sched_yield returns at once.
   */
  spin<T>(attempt: () => T | typeof AGAIN): T | typeof AGAIN {
    if (this.#late) return AGAIN;
    // A peer that has not answered within the smallest budget four times in a
    // row answers late: spin one wait in 8 only (parked waits that end soon
    // grow the budget again, see learn()).
    if (
      this.#budgetMs === Spinner.MIN_MS && this.#idleSpins >= 4 && (++this.#idleSpins & 7) !== 0
    ) {
      return AGAIN;
    }
    const start = performance.now();
    if (start < this.#calmUntil) return attempt(); // one try, no yield
    const end = start + this.#budgetMs;
    let now = start;
    while (now < end) {
      const before = now;
      this.#yield();
      const yielded = performance.now();
      this.#yielded(yielded, yielded - before);
      const r = attempt();
      now = performance.now();
      if (r !== AGAIN) {
        this.#budgetMs = Math.min(Spinner.MAX_MS, Math.max(this.#budgetMs, 2 * (now - start)));
        this.#idleSpins = 0;
        return r;
      }
    }
    if (this.#budgetMs === Spinner.MIN_MS) this.#idleSpins++;
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
    this.#late = waitedMs > Spinner.MAX_MS;
    if (!this.#late) {
      this.#budgetMs = Math.min(Spinner.MAX_MS, Math.max(this.#budgetMs, 1.5 * waitedMs));
      this.#idleSpins = 0;
    }
  }
}
