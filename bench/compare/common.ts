/**
 * What the drivers of bench/compare, their harness and their children share.
 *
 * The data protocol (pipe.c does the same in C): the first byte of each 4 KiB
 * block of the stream is a stamp derived from the block's index, and the
 * receiver folds those bytes, in order, into a checksum. A receiver that missed
 * or reordered blocks reports a wrong checksum, yet the check costs 16 byte
 * reads per 64 KiB, so it does not weigh on the throughput being measured.
 *
 * The raw libc calls: the "floor" rows call read/write through a `Deno.dlopen`
 * of their own on blocking fds, which is the least any Deno program pays; the
 * harness places processes on CPUs with `sched_setaffinity`; wait.ts reads
 * the clock every process shares (`CLOCK_MONOTONIC`) and CPU time with
 * `clock_gettime` and `getrusage`; lag.ts sleeps to the µs with `clock_nanosleep`.
 *
 * @module
 */
import { LIBC_PATH } from "../../ffi/platform.ts";

/** Bytes per stamped block. */
export const BLOCK = 4096;

/** The stamp byte of block `i` of the stream. */
export function stamp(i: number): number {
  return (i * 131 + 7) & 255;
}

/** Stamps `chunk`, which starts at stream offset `offset` (a multiple of {@link BLOCK}). */
function stampChunk(chunk: Uint8Array, offset: number): void {
  for (let o = 0; o < chunk.byteLength; o += BLOCK) chunk[o] = stamp((offset + o) / BLOCK);
}

/** Folds the stamps found in `buf[0..n)`, which starts at stream offset `pos`, into `sum`. */
export function foldStamps(sum: number, buf: Uint8Array, n: number, pos: number): number {
  const end = pos + n;
  for (let o = Math.ceil(pos / BLOCK) * BLOCK; o < end; o += BLOCK) {
    sum = (Math.imul(sum, 31) + buf[o - pos]) >>> 0;
  }
  return sum;
}

/** The checksum of a whole stream of `total` bytes. */
export function expectedChecksum(total: number): number {
  let sum = 0;
  for (let i = 0; i * BLOCK < total; i++) sum = (Math.imul(sum, 31) + stamp(i)) >>> 0;
  return sum;
}

const MIB = 1024 * 1024;

/**
 * A transfer: `total` timed bytes after `warm` untimed ones, parent → child
 * in `chunk`-byte writes; the receiver answers "count checksum" of the whole
 * stream, which {@link Transfer.check} checks.
 */
export class Transfer {
  readonly #checksum: number;

  constructor(readonly total: number, readonly chunk: number, readonly warm = 0) {
    this.#checksum = expectedChecksum(warm + total);
  }

  /** Throws unless the receiver's "count checksum" says it saw every byte, in order. */
  check(report: string): void {
    const [count, sum] = report.trim().split(" ").map(Number);
    const all = this.warm + this.total;
    if (count !== all || sum !== this.#checksum) {
      throw new Error(`receiver reported "${report.trim()}", expected "${all} ${this.#checksum}"`);
    }
  }

  /**
   * Sends the untimed bytes, then the timed ones: stamps `chunk` (of
   * {@link chunk} bytes) with each offset in turn and calls `send`. Returns when
   * the timed part began (`performance.now()`). Only a promise is awaited, so
   * the sync and raw rows pay no microtask per chunk.
   */
  async send(chunk: Uint8Array, send: () => unknown): Promise<number> {
    if (chunk.byteLength !== this.chunk) throw new RangeError(`a chunk of ${chunk.byteLength} B`);
    let t0 = 0;
    for (let offset = 0; offset < this.warm + this.total; offset += this.chunk) {
      if (offset === this.warm) t0 = performance.now();
      stampChunk(chunk, offset);
      const sent = send();
      if (sent instanceof Promise) await sent;
    }
    return t0;
  }

  /** MiB/s of the timed bytes, sent in `ms`. */
  rate(ms: number): number {
    return this.total / MIB / (ms / 1000);
  }

  /** The MiB/s of a C or Python program's run that printed "ns count checksum", checked. */
  printed(out: string): number {
    const [ns, ...report] = out.split(" ");
    this.check(report.join(" "));
    return this.rate(Number(ns) / 1e6);
  }

  /** "64 MiB", "8 MiB" ... of `bytes`. */
  static mib(bytes: number): string {
    return `${bytes / MIB} MiB`;
  }
}

const symbols = {
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** `read` on one of Deno's pool threads: the least an async wait through FFI can cost. */
  readParked: {
    name: "read",
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  clock_nanosleep: { parameters: ["i32", "i32", "buffer", "pointer"], result: "i32" },
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

/** libc functions of the raw rows and of CPU placement. */
export type RawLibc = Deno.DynamicLibrary<typeof symbols>["symbols"];

let raw: RawLibc | undefined;

/** Opens libc on first use (the `Deno.Command` child has no FFI permission and never calls this). */
export function rawLibc(): RawLibc {
  return raw ??= Deno.dlopen(LIBC_PATH, symbols).symbols;
}

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/** Clears O_NONBLOCK: the raw rows block in read/write, as C does. */
export function makeBlocking(fd: number): void {
  const { fcntl } = rawLibc();
  const flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    throw new Error(`fcntl(${fd}) failed`);
  }
}

/** Fills `buf` with blocking reads; false at end of file before its first byte. */
export function rawReadFull(fd: number, buf: Uint8Array): boolean {
  const { read } = rawLibc();
  let got = 0;
  while (got < buf.byteLength) {
    const n = read(fd, got === 0 ? buf : buf.subarray(got), buf.byteLength - got);
    if (n === 0 && got === 0) return false;
    if (n <= 0) throw new Error(`read(${fd}) returned ${n}`);
    got += n;
  }
  return true;
}

/** Writes all of `buf` with blocking writes. */
export function rawWriteAll(fd: number, buf: Uint8Array): void {
  const { write } = rawLibc();
  let put = 0;
  while (put < buf.byteLength) {
    const n = write(fd, put === 0 ? buf : buf.subarray(put), buf.byteLength - put);
    if (n < 0) throw new Error(`write(${fd}) failed`);
    put += n;
  }
}

const CLOCK_MONOTONIC = 1;
const RUSAGE_SELF = 0;
// struct timespec as 32-bit words (little-endian): read without making BigInts, the cheaper way.
const timespec = new Int32Array(4);
const timespecBytes = new Uint8Array(timespec.buffer);
// struct rusage: ru_utime and ru_stime (two struct timeval), then 14 longs.
const rusage = new BigInt64Array(18);
const rusageBytes = new Uint8Array(rusage.buffer);

/** `CLOCK_MONOTONIC` in ns: the same clock in every process, so times compare across them. */
export function monotonicNs(): number {
  if (rawLibc().clock_gettime(CLOCK_MONOTONIC, timespecBytes) < 0) throw new Error("clock_gettime");
  return (timespec[1] * 2 ** 32 + (timespec[0] >>> 0)) * 1e9 + timespec[2];
}

const TIMER_ABSTIME = 1;
const EINTR = 4;
const deadline = new BigInt64Array(2);
const deadlineBytes = new Uint8Array(deadline.buffer);

/**
 * Blocks this thread until `CLOCK_MONOTONIC` reads `ns` (`clock_nanosleep`):
 * within tens of µs, where a Deno timer fires in steps of a few ms.
 */
export function sleepUntilNs(ns: number): void {
  deadline[0] = BigInt(Math.floor(ns / 1e9));
  deadline[1] = BigInt(Math.floor(ns % 1e9));
  for (
    let rc;
    (rc = rawLibc().clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadlineBytes, null));
  ) {
    // The error comes back as the result, not in errno; EINTR: a signal handler ran, sleep on.
    if (rc !== EINTR) throw new Error(`clock_nanosleep failed: error ${rc}`);
  }
}

/** CPU time of this process, every thread, user and system, in ns (`getrusage(RUSAGE_SELF)`). */
export function cpuNs(): number {
  if (rawLibc().getrusage(RUSAGE_SELF, rusageBytes) < 0) throw new Error("getrusage");
  return Number(rusage[0] + rusage[2]) * 1e9 + Number(rusage[1] + rusage[3]) * 1e3;
}

/** What reads bytes asynchronously: this library's readers, and Deno's `Conn`, `FsFile`, stdin. */
export interface AsyncReader {
  read(buf: Uint8Array): Promise<number | null>;
}

/** What the stream rows read from: this library's `FdReader` or `Connection`. */
export interface StreamReader extends AsyncReader {
  readonly fd: number;
  readSync(buf: Uint8Array): number | null;
}

/** What the stream rows write to: this library's `FdWriter` or `Connection`. */
export interface StreamWriter {
  readonly fd: number;
  writeSync(data: Uint8Array | string): number;
  write(data: Uint8Array): Promise<number>;
}

/** Deno's `Conn`, `FsFile`, stdout: their `write` may write part of what it is given. */
export interface AsyncWriter {
  write(data: Uint8Array): Promise<number>;
}

/** Writes all of `data`. */
export async function writeAll(to: AsyncWriter, data: Uint8Array): Promise<void> {
  let put = 0;
  while (put < data.byteLength) put += await to.write(put === 0 ? data : data.subarray(put));
}

/** Everything that arrives until end of stream, as text. */
export async function readAllText(from: AsyncReader): Promise<string> {
  const buf = new Uint8Array(256);
  const text = new TextDecoder();
  let out = "";
  for (let n; (n = await from.read(buf)) !== null;) out += text.decode(buf.subarray(0, n));
  return out;
}

/** Fills `buf` with sync reads (a message may arrive in pieces); false at end of stream before its first byte. */
export function readFullSync(from: StreamReader, buf: Uint8Array): boolean {
  let got = 0;
  while (got < buf.byteLength) {
    const n = from.readSync(got === 0 ? buf : buf.subarray(got));
    if (n === null) {
      if (got === 0) return false;
      throw new Error("short read");
    }
    got += n;
  }
  return true;
}

/** The async form of {@link readFullSync}. */
export async function readFull(from: AsyncReader, buf: Uint8Array): Promise<boolean> {
  let got = 0;
  while (got < buf.byteLength) {
    const n = await from.read(got === 0 ? buf : buf.subarray(got));
    if (n === null) {
      if (got === 0) return false;
      throw new Error("short read");
    }
    got += n;
  }
  return true;
}

/** Everything that arrives until end of stream, as text, read in `mode` (raw: libc `read`). */
export async function readText(
  from: StreamReader,
  mode: "raw" | "sync" | "async",
): Promise<string> {
  const buf = new Uint8Array(256);
  const text = new TextDecoder();
  let out = "";
  for (;;) {
    let n: number | null;
    if (mode === "raw") {
      n = rawLibc().read(from.fd, buf, buf.byteLength);
      if (n < 0) throw new Error("read failed");
      if (n === 0) n = null;
    } else {
      n = mode === "sync" ? from.readSync(buf) : await from.read(buf);
    }
    if (n === null) return out;
    out += text.decode(buf.subarray(0, n));
  }
}
