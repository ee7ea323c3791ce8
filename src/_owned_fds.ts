/**
 * The descriptors this library's open handles own, in this isolate (a Worker
 * has its own list: module state is per isolate). A second handle adopting one
 * (`fromFd`, `new FdReader(fd)`) would close it under the first, and the first
 * would then close whatever file took the number next.
 *
 * @module
 */

/** Each owned descriptor, with what names its owner ("a reader"). */
const owned = new Map<number, () => string>();

/** Throws a TypeError when an open handle owns `fd`: the caller's would close it under that one. */
export function checkNotOwned(fd: number, what: string): void {
  const owner = owned.get(fd);
  if (owner !== undefined) {
    throw new TypeError(
      `${what}: fd ${fd} belongs to an open ${owner()}, which closes it: pass that handle, ` +
        "or a copy of the descriptor (dup)",
    );
  }
}

/** Records that an open handle owns `fd`, named by `owner()`. */
export function own(fd: number, owner: () => string): void {
  owned.set(fd, owner);
}

/** Forgets `fd` as its owner closes it. */
export function disown(fd: number): void {
  owned.delete(fd);
}

/** How many descriptors open handles own. */
export function ownedCount(): number {
  return owned.size;
}
