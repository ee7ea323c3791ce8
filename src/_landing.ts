/**
 * Where the messages that a receive returns as new bytes land. A new
 * `ArrayBuffer` costs Deno more than the system call that fills it (0.4 µs
 * at 8 bytes, 1.7 µs at 1 KiB: no typed array lives on V8's heap there),
 * where a view of an existing one costs 30 ns. So the kernel writes each
 * message into the free end of a slab that this module (one per isolate)
 * shares among all handles, and the message's bytes are a view of where it
 * landed, as Node's `Buffer` pool hands out small buffers. A slab the free
 * end of which has no room for the next receive is left to the garbage
 * collector, which frees it once no message refers to it.
 *
 * @module
 */
import { copyBytes } from "./_copy.ts";

/** The size of a slab: what one small message kept alive can hold on to. */
const SLAB = 64 * 1024;

/** Receives that may fill more than this land in {@link large}, their messages copied out. */
const POOLED_MAX = SLAB / 4;

let slab = new ArrayBuffer(0);
let view = new DataView(slab);
/** Where the slab's free end starts. */
let free = 0;
/** No area: bytes were kept from the last one. */
const NONE = new Uint8Array(0);
/** The last area handed out, handed out again while nothing is kept from it. */
let area: Uint8Array<ArrayBuffer> = NONE;
/**
 * The largest buffer kept for the next receive once one has landed in it: a
 * receive into a caller's buffer of 512 MiB, once, must not hold that much
 * for the life of the process. A larger one is held weakly: receives in a
 * row reuse it, and the garbage collector frees it once they stop.
 */
export const KEPT_MAX = 1024 * 1024;
let largeHeld: WeakRef<Uint8Array<ArrayBuffer>> | undefined;

/**
 * Where receives that may fill more than {@link POOLED_MAX} land, kept for
 * the next one (the largest asked for, up to {@link KEPT_MAX}): a slab of their size would hold a
 * few messages at most, and taking its place would end the slab of the small
 * ones each time receives of both sizes alternate.
 */
let large: Uint8Array<ArrayBuffer> = new Uint8Array(0);

/**
 * Where the next receive that may fill `room` bytes (at least 1) lands: the
 * free end of the slab, 8-byte aligned. A new slab when the free end is too
 * small, or when a caller transferred the buffer of a message's bytes away
 * (the slab then has no bytes at all). At least `room` bytes where `room` is
 * over {@link POOLED_MAX}.
 */
export function landingArea(room: number): Uint8Array<ArrayBuffer> {
  if (room > POOLED_MAX) {
    if (large.byteLength >= room) return large;
    const held = largeHeld?.deref();
    if (held !== undefined && held.byteLength >= room) return held;
    const area = new Uint8Array(room);
    if (room <= KEPT_MAX) large = area;
    else largeHeld = new WeakRef(area);
    return area;
  }
  if (area.byteLength === room) return area;
  if (free + room > slab.byteLength) {
    slab = new ArrayBuffer(SLAB);
    view = new DataView(slab);
    free = 0;
  }
  return area = new Uint8Array(slab, free, room);
}

/**
 * Bytes `offset..offset + n` of `landed`, the area a receive just filled, as
 * a message's bytes: a view of the slab, past which the free end moves; a
 * copy when `landed` is not the slab's area.
 */
export function keepLanded(
  landed: Uint8Array,
  offset: number,
  n: number,
): Uint8Array<ArrayBuffer> {
  if (landed !== area) return landed.slice(offset, offset + n);
  const start = landed.byteOffset + offset;
  free = (start + n + 7) & ~7;
  area = NONE;
  return new Uint8Array(slab, start, n);
}

/**
 * The first `n` bytes of `source` (a buffer a receive landed in elsewhere, as
 * a parked call's own) where a message's bytes are kept: copied to the free
 * end of the slab when they are small enough to share it, so that keeping
 * them is a view there rather than a buffer of their own; else `source`
 * itself, which {@link keepLanded} copies out once.
 */
export function landedCopy(source: Uint8Array, n: number): Uint8Array {
  if (n > POOLED_MAX) return source;
  const to = landingArea(n);
  copyBytes(to, 0, source, 0, n);
  return to;
}

/** A DataView of `landed`'s buffer, where `landed` starts at `landed.byteOffset`. */
export function landedView(landed: Uint8Array): DataView {
  return landed.buffer === slab ? view : new DataView(landed.buffer);
}

/**
 * The least room a receive of one message gets. On a socket that other
 * processes read too, the size peeked at is a guess: another reader can take
 * that message between the peek and the receive, and the next one may be
 * longer. This much holds any message of a Unix socket whose sender kept the
 * default send buffer (`net.core.wmem_default`, 212 992 bytes).
 */
const MESSAGE_ROOM = 256 * 1024;

/**
 * Where the receive of one message, peeked at `size` bytes, lands: a buffer
 * kept for such receives, with room for at least `size` and
 * {@link MESSAGE_ROOM} bytes, from which {@link keepMessage} takes the message.
 */
export function messageArea(size: number): Uint8Array<ArrayBuffer> {
  return landingArea(Math.max(size, MESSAGE_ROOM));
}

/**
 * The first `n` bytes a receive put into `landed`, from {@link messageArea},
 * as a message's bytes: copied to the slab when small enough to share it,
 * else to a buffer of their own (about what a zeroed buffer of their own
 * would cost to make, without the copy).
 */
export function keepMessage(landed: Uint8Array<ArrayBuffer>, n: number): Uint8Array<ArrayBuffer> {
  if (n === 0) return new Uint8Array(0);
  return keepLanded(landedCopy(landed, n), 0, n);
}

/** The most one read of a byte stream's iteration takes, in a transfer of bulk. */
const BULK_CHUNK = SLAB;

/**
 * The attempt that takes a byte stream's next chunk, from `read` (which
 * fills the area it is given: the count, or null or AGAIN): each chunk lands
 * in the slab, up to {@link POOLED_MAX} bytes, and is a view of it there, or
 * with `fresh` a copy (a Web Stream takes each chunk's buffer over). A read
 * that filled that much is a transfer of bulk: the next ones land in
 * buffers of their own of {@link BULK_CHUNK} bytes, one read and no copy
 * each (four reads of the slab and its share of a new one cost more), until
 * a read takes less again, which is copied out of its buffer and ends the bulk.
 */
export function chunkAttempt<N extends null | symbol>(
  read: (area: Uint8Array<ArrayBuffer>) => number | N,
  fresh = false,
): () => Uint8Array<ArrayBuffer> | N {
  let bulk = false;
  /** The buffer of the next read of bulk, kept while reads find nothing (tries, spins). */
  let own: Uint8Array<ArrayBuffer> | undefined;
  return () => {
    const area = bulk ? own ??= new Uint8Array(BULK_CHUNK) : landingArea(POOLED_MAX);
    const n = read(area);
    if (typeof n !== "number") return n;
    const wasBulk = bulk;
    bulk = n >= POOLED_MAX;
    if (!wasBulk) return fresh ? area.slice(0, n) : keepLanded(area, 0, n);
    own = undefined;
    return bulk ? area.subarray(0, n) : area.slice(0, n);
  };
}
