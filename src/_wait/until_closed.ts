/**
 * The async iteration every receiving handle offers: take the next item
 * until the handle is closed, and end cleanly (no error) when the close
 * ends a take that was pending.
 *
 * Not an async generator: a generator's `return()` waits for the `next()` in
 * progress, so a `for await` left from outside (`ReadableStream.from(x)`
 * cancelled, a `pipeTo` aborted) hung until an item came, which was then
 * taken and dropped. Here `return()` cancels the take in progress and
 * settles as soon as it has ended.
 *
 * @module
 */

/** How an iteration ended: its take found the end, it was left early (`return()`), or it failed. */
export type IterationEnd = "end" | "early" | "error";

/** What an iteration does besides taking. */
export interface IterationOptions<T> {
  /** Runs once, when the iteration ends, however it ends. */
  onEnd?: (how: IterationEnd) => void;
  /** The caller's signal: aborting it rejects the take in progress with its reason. */
  signal?: AbortSignal;
  /**
   * Takes back an item that the take in progress got after the iteration was
   * left (`return()`), where no one would see it: true when it did, and the
   * `next()` waiting for it then ends the iteration; false (or without it),
   * that `next()` gets the item.
   */
  giveBack?: (item: T) => boolean;
}

const DONE: IteratorReturnResult<void> = { value: undefined, done: true };

class UntilClosed<T> implements AsyncGenerator<T, void, undefined> {
  readonly #handle: { readonly closed: boolean };
  readonly #take: (signal: AbortSignal) => Promise<T | null>;
  readonly #onEnd?: (how: IterationEnd) => void;
  readonly #giveBack?: (item: T) => boolean;
  /** Aborted by `return()`: cancels the take in progress. One for the whole iteration. */
  readonly #left = new AbortController();
  /** What each take gets: `#left`'s signal, or it and the caller's together. */
  readonly #signal: AbortSignal;
  #done = false;
  /** The last `next()`'s result: a `next()` made before it settles takes after it. */
  #turn: Promise<unknown> = Promise.resolve();
  /** The `next()` calls not yet settled: with none, a `next()` takes at once. */
  #pending = 0;

  constructor(
    handle: { readonly closed: boolean },
    take: (signal: AbortSignal) => Promise<T | null>,
    { onEnd, signal, giveBack }: IterationOptions<T>,
  ) {
    this.#handle = handle;
    this.#take = take;
    this.#onEnd = onEnd;
    this.#giveBack = giveBack;
    this.#signal = signal === undefined
      ? this.#left.signal
      : AbortSignal.any([signal, this.#left.signal]);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, void>> {
    const take = () => this.#next();
    const result = this.#pending++ === 0 ? take() : this.#turn.then(take, take);
    this.#turn = result;
    return result;
  }

  async #next(): Promise<IteratorResult<T, void>> {
    try {
      if (this.#done) return DONE;
      if (this.#handle.closed) return this.#end("end");
      let item: T | null;
      try {
        item = await this.#take(this.#signal);
      } catch (e) {
        if (this.#done) return DONE; // left meanwhile: the take was cancelled by it
        if (this.#handle.closed && e instanceof Deno.errors.BadResource) return this.#end("end");
        this.#end("error");
        throw e;
      }
      if (item === null) return this.#end("end");
      // An item the take got after `return()` goes back where it came from, or to this
      // `next()`: never dropped here.
      if (this.#done && this.#giveBack?.(item)) return DONE;
      return { value: item, done: false };
    } finally {
      this.#pending--;
    }
  }

  return(): Promise<IteratorResult<T, void>> {
    if (!this.#done) {
      this.#end("early");
      this.#left.abort(new Deno.errors.Interrupted("the iteration was left"));
    }
    // Settles once the take in progress has ended, as the abort ends it at once: an item
    // it got is given back by then, for whoever looks next.
    if (this.#pending === 0) return Promise.resolve(DONE);
    return this.#turn.then(() => DONE, () => DONE);
  }

  /** Ends the iteration as `return()` does, and rejects with `e` (a generator's `throw`). */
  throw(e?: unknown): Promise<IteratorResult<T, void>> {
    return this.return().then(() => Promise.reject(e));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  #end(how: IterationEnd): IteratorReturnResult<void> {
    if (!this.#done) {
      this.#done = true;
      this.#onEnd?.(how);
    }
    return DONE;
  }
}

/**
 * Yields `take(signal)` until `handle` is closed, or `take` gives `null` (end
 * of stream). A take rejected with `BadResource` because the handle closed
 * ends the iteration; any other error is thrown. `signal` is aborted when the
 * iteration is left (`return()`, which settles once the take has ended), and when the
 * caller's `options.signal` is (its reason then rejects the take).
 */
export function untilClosed<T>(
  handle: { readonly closed: boolean },
  take: (signal: AbortSignal) => Promise<T | null>,
  options: IterationOptions<T> = {},
): AsyncGenerator<T, void, undefined> {
  return new UntilClosed(handle, take, options);
}
