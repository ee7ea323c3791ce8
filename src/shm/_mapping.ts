/**
 * A mapping of shared memory made by the library (`shmat`, `mmap`), and the
 * one rule that keeps every view of it safe: before the memory is unmapped,
 * its ArrayBuffer is detached, so every view the caller kept (subarrays,
 * DataViews, Int32Arrays taken from `bytes.buffer`) reads as length 0 and
 * never touches unmapped memory. Detaching is O(1): `transfer()` moves the
 * external backing store without copying it, and the moved buffer is dropped.
 *
 * Mappings are found by their ArrayBuffer, which is what every view of them
 * shares: that is how `wait`/`notify` and semaphores in shared memory check
 * that a view is over shared memory and still mapped.
 *
 * @module
 */
import { closedError, errorFromCode, type ErrorSubject } from "../errors.ts";
import { ERRNO } from "../../ffi/platform.ts";
import { WaitRegistry } from "../_wait/mod.ts";
import { addressOf, checkBuffer, checkInteger, isDetached } from "../_check.ts";
import { parkedCallsReturned } from "../_wait/futex.ts";
import { bufferOf, byteOffsetOf } from "../_views.ts";

const byBuffer = new WeakMap<ArrayBuffer, Mapping>();
/** The mappings of each object that are mapped still (see {@link Mapping.object}). */
const byObject = new Map<string, Set<Mapping>>();

/**
 * Copies the object's bytes from `at` into `into` through its file, not the
 * mapping (`pread(2)`): how many there are, fewer past the object's end
 * where another handle or process shrank it, which through the mapping is
 * SIGBUS.
 */
export type FileCopy = (into: Uint8Array, at: number) => number;

/** Memory mapped into this process by the library, with the one view over it. */
export class Mapping {
  /** The address of its first byte. */
  readonly address: bigint;
  /** Its size in bytes. */
  readonly size: number;
  /** Futex waits on words in it: cancelled when it is unmapped. */
  readonly waits: WaitRegistry = new WaitRegistry();
  readonly #pointer: NonNullable<Deno.PointerValue>;
  #buffer: ArrayBuffer;
  #bytes: Uint8Array<ArrayBuffer>;
  #unmap: (() => void) | undefined;
  readonly #what: string;
  readonly #subject: ErrorSubject;

  /**
   * Which object it maps (`shm <id>`, `file <st_dev:st_ino>`): two mappings
   * of one object are the same bytes at two addresses.
   */
  readonly object: string;

  /**
   * Wraps `size` bytes at `pointer`; `unmap` gives them back to the kernel
   * (`shmdt`, `munmap`), and throws if it cannot.
   */
  constructor(
    pointer: NonNullable<Deno.PointerValue>,
    size: number,
    unmap: () => void,
    what: string,
    subject: ErrorSubject,
    object?: string,
  ) {
    this.#pointer = pointer;
    this.address = BigInt(Deno.UnsafePointer.value(pointer));
    this.object = object ?? `mapping ${this.address}`;
    let same = byObject.get(this.object);
    if (same === undefined) byObject.set(this.object, same = new Set());
    same.add(this);
    this.size = size;
    this.#buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, size);
    this.#bytes = new Uint8Array(this.#buffer);
    this.#unmap = unmap;
    this.#what = what;
    this.#subject = subject;
    byBuffer.set(this.#buffer, this);
  }

  /**
   * The view over the whole mapping; length 0 once unmapped. A TypeError
   * while mapped once its buffer was transferred away: the view would read
   * as length 0, and writes through it would be lost without a word.
   */
  get bytes(): Uint8Array<ArrayBuffer> {
    if (this.#unmap !== undefined && this.#buffer.detached) {
      throw new TypeError(
        `the ${this.#what}'s buffer was transferred away. Moved whole (postMessage with a ` +
          "transfer list, or transfer() of the same length), the memory is the buffer where it " +
          "went, which keeps it mapped until this process exits, even after close(); " +
          "transfer(n) of another length made a private copy, which no other process sees",
      );
    }
    return this.#bytes;
  }

  /** The buffer of its views while mapped (a detached one after). */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /** What errors about it name: the segment's id, the object's path or fd. */
  get subject(): ErrorSubject {
    return this.#subject;
  }

  /** Whether it is still mapped. */
  get mapped(): boolean {
    return this.#unmap !== undefined;
  }

  /**
   * A pointer to byte `offset`, for calls that take one (`sem_init`,
   * `FUTEX_WAKE`); throws once unmapped. An offset from the mapping's own
   * pointer: `UnsafePointer.of(view)` costs more than a FUTEX_WAKE.
   */
  pointerAt(offset: number, syscall: string): NonNullable<Deno.PointerValue> {
    this.check(syscall);
    return Deno.UnsafePointer.offset(this.#pointer, offset)!;
  }

  /** Throws the closed-handle error (EBADF) once unmapped. */
  check(syscall: string): void {
    if (this.#unmap === undefined) throw closedError(this.#what, syscall, this.#subject);
  }

  /**
   * A copy of `length` bytes from `offset` (the whole rest by default): how a
   * read-only mapping is read, since a JS write to a read-only page would
   * kill the process and V8 has no read-only typed arrays.
   */
  read(
    offset: number | undefined,
    length: number | undefined,
    syscall: string,
    copy?: FileCopy,
  ): Uint8Array<ArrayBuffer> {
    const at = this.#offset(offset, syscall);
    const n = length === undefined
      ? this.size - at
      : checkInteger(length, "length", 0, this.size - at);
    const out = new Uint8Array(n);
    if (n === 0) return out;
    if (copy === undefined) {
      Deno.UnsafePointerView.copyInto(this.pointerAt(at, syscall), out);
    } else if (copy(out, at) < n) {
      throw new RangeError(
        `bytes ${at}..${at + n} reach past the object's end: another handle or process shrank it`,
      );
    }
    return out;
  }

  /** Copies bytes from `offset` into `target`, as many as fit; returns how many. */
  readInto(
    target: Uint8Array,
    offset: number | undefined,
    syscall: string,
    copy?: FileCopy,
  ): number {
    checkBuffer(target, "target");
    const at = this.#offset(offset, syscall);
    const n = Math.min(target.byteLength, this.size - at);
    if (n <= 0) return 0;
    // A target in shared memory may be the very bytes being copied, at another address
    // too (a second mapping of the object): a forward copy would read bytes it already
    // overwrote. Through a copy of their own, as TypedArray.set() copies.
    const into = this.#aliases(target) ? new Uint8Array(n) : target.subarray(0, n);
    let got = n;
    if (copy !== undefined) got = copy(into, at);
    else Deno.UnsafePointerView.copyInto(this.pointerAt(at, syscall), into);
    if (into.buffer !== target.buffer) target.set(into.subarray(0, got));
    return got;
  }

  /**
   * Whether `target` may be bytes of the object this maps: a view of one of
   * its mappings (this one or another), or of a buffer moved away whole from
   * one, which still views its memory (found by address: nothing else knows
   * that buffer).
   */
  #aliases(target: Uint8Array): boolean {
    const m = mappingOf(target);
    if (m !== undefined) return m.object === this.object;
    let address: bigint | undefined;
    for (const other of byObject.get(this.object)!) {
      if (!other.#buffer.detached) continue;
      address ??= addressOf(target);
      if (address < other.address + BigInt(other.size) && address >= other.address) return true;
    }
    return false;
  }

  #offset(offset: number | undefined, syscall: string): number {
    this.check(syscall);
    return offset === undefined ? 0 : checkInteger(offset, "offset", 0, this.size);
  }

  /**
   * Detaches every view, cancels the waits on words in it (their error says
   * `why`, by default that the memory is closed), then unmaps it
   * (without futex_waitv, once the FUTEX_WAITs parked on its words have
   * returned: a few ms later at most). A second call does nothing. A buffer
   * the caller transferred away (to a Worker, say) still views the memory
   * wherever it went, and nothing here can detach it: that memory stays
   * mapped until the process exits, since unmapping it would let that view
   * touch unmapped memory.
   */
  unmap(why?: string): void {
    const unmap = this.#unmap;
    if (unmap === undefined) return;
    this.#unmap = undefined;
    byBuffer.delete(this.#buffer);
    const movedAway = this.#buffer.detached;
    if (!movedAway) this.#buffer.transfer();
    // A buffer moved away keeps its memory mapped, and the mapping known by address.
    const same = byObject.get(this.object);
    if (!movedAway && same !== undefined) {
      same.delete(this);
      if (same.size === 0) byObject.delete(this.object);
    }
    this.waits.cancelAll((s) =>
      why === undefined
        ? closedError(this.#what, s, this.#subject)
        : errorFromCode(ERRNO.EBADF, s, this.#subject, why)
    );
    if (movedAway) return;
    // Without futex_waitv, a cancelled wait's FUTEX_WAIT returns only once a
    // wake reaches it, which needs the memory mapped: unmapped after it has.
    const returned = parkedCallsReturned(this.address, this.size);
    if (returned === undefined) return unmap();
    // A mapping of ours fails to unmap only at a bad address: nothing to report later.
    returned.then(() => {
      try {
        unmap();
      } catch { /* see above */ }
    });
  }
}

/** The live mapping `view` is over, or undefined (not the library's shared memory, or unmapped). */
export function mappingOf(view: ArrayBufferView): Mapping | undefined {
  const buffer = bufferOf(view);
  return buffer instanceof ArrayBuffer ? byBuffer.get(buffer) : undefined;
}

/**
 * Where `view` starts in `mapping` (its {@link mappingOf}, whose buffer it
 * views), by the built-in `byteOffset`: never by the property, which a caller
 * can redefine on the object, when a call will write there. A TypeError
 * unless `size` bytes from there lie in the mapping.
 */
export function offsetIn(mapping: Mapping, view: ArrayBufferView, size: number): number {
  const offset = bufferOf(view) === mapping.buffer ? byteOffsetOf(view) : -1;
  if (!(offset >= 0 && offset + size <= mapping.size)) {
    throw new TypeError(`the view's ${size} bytes are not inside the shared memory it names`);
  }
  return offset;
}

/**
 * The mapping `view` is over, checked: a TypeError naming `what` when it is
 * not over shared memory mapped by the library, or no longer mapped.
 */
export function sharedMappingOf(view: ArrayBufferView, what = "view"): Mapping {
  if (!ArrayBuffer.isView(view)) {
    throw new TypeError(
      `${what} must be a typed array or DataView, got ${Object.prototype.toString.call(view)}`,
    );
  }
  if (isDetached(view)) {
    throw new TypeError(`${what} is over shared memory that has been detached or closed`);
  }
  const m = mappingOf(view);
  if (m === undefined) {
    throw new TypeError(
      `${what} is not over shared memory: take it from a SharedMemory's or ` +
        "PosixSharedMemory's `bytes.buffer` (other processes cannot see ordinary memory, " +
        "and V8 may move it)",
    );
  }
  return m;
}
