/**
 * The async iteration every receiving handle offers: take the next item
 * until the handle is closed, and end cleanly (no error) when the close
 * ends a take that was pending.
 *
 * @module
 */

/**
 * Yields `next()` until `handle` is closed, or `next()` gives `null` (end of
 * stream). A take rejected with `BadResource` because the handle closed ends
 * the loop; any other error is thrown.
 */
export async function* untilClosed<T>(
  handle: { readonly closed: boolean },
  next: () => Promise<T | null>,
): AsyncGenerator<T, void, undefined> {
  while (!handle.closed) {
    let item: T | null;
    try {
      item = await next();
    } catch (e) {
      if (handle.closed && e instanceof Deno.errors.BadResource) return;
      throw e;
    }
    if (item === null) return;
    yield item;
  }
}
