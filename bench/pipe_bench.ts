/**
 * One-process pipe costs: write a message and read it back, 64 B and 64 KiB,
 * through this library's sync and async forms, against the same libc calls
 * made through a plain `Deno.dlopen` (the least any Deno code can pay). The
 * difference is what the library adds per call: checks, errno handling,
 * promises. Buffers are reused, as hot paths should, except by the async
 * iteration (small chunks are views of a buffer they share, bulk ones have
 * their own) and the `readable` stream (each chunk a buffer of its own, of
 * the size read, as a Web Stream takes each chunk's buffer over).
 *
 * Run: `deno bench --allow-ffi bench/pipe_bench.ts`. Cross-process figures
 * (ping-pong, throughput, against C and `Deno.Command`) are in bench/compare/.
 *
 * @module
 */
import { pipe } from "../mod.ts";
import { LIBC_PATH } from "../ffi/platform.ts";

const libc = Deno.dlopen(LIBC_PATH, {
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // The naive async FFI read: the call runs on a pool thread, whatever the fd holds.
  read_nonblocking: {
    name: "read",
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
}).symbols;

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const SMALL = 64;
const LARGE = 64 * 1024;

/** A pipe whose buffer holds a whole large message, so one process can write it and then read it. */
function roomyPipe() {
  const p = pipe();
  libc.fcntl(p.writer.fd, F_SETPIPE_SZ, 2 * LARGE);
  if (libc.fcntl(p.writer.fd, F_GETPIPE_SZ, 0) < LARGE) {
    p[Symbol.dispose]();
    throw new Error("cannot make a pipe buffer of 64 KiB");
  }
  return p;
}

const pipes: Array<ReturnType<typeof pipe>> = [];
// Deno.bench has no teardown hook; the fds are closed when the bench module unloads.
globalThis.addEventListener("unload", () => pipes.forEach((p) => p[Symbol.dispose]()));

function fixture(size: number) {
  const p = roomyPipe();
  pipes.push(p);
  return {
    reader: p.reader,
    writer: p.writer,
    rfd: p.reader.fd,
    wfd: p.writer.fd,
    out: new Uint8Array(size).fill(7),
    into: new Uint8Array(size),
  };
}

/** Fails loudly rather than timing a short transfer. */
function expect(n: number | null, size: number): void {
  if (n !== size) throw new Error(`moved ${n} bytes, expected ${size}`);
}

for (const size of [SMALL, LARGE]) {
  const group = size === SMALL ? "64 B write + read" : "64 KiB write + read";
  const label = size === SMALL ? "64 B" : "64 KiB";

  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} raw libc write + read (Deno.dlopen)`,
      group,
      baseline: true,
      fn() {
        expect(libc.write(f.wfd, f.out, size), size);
        expect(libc.read(f.rfd, f.into, size), size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} writeSync + readSync`,
      group,
      fn() {
        f.writer.writeSync(f.out);
        expect(f.reader.readSync(f.into), size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} await write + read`,
      group,
      async fn() {
        await f.writer.write(f.out);
        expect(await f.reader.read(f.into), size);
      },
    });
  }
  {
    const f = fixture(size);
    const chunks = f.reader[Symbol.asyncIterator]();
    Deno.bench({
      name: `${label} writeSync + for await chunks`,
      group,
      async fn() {
        f.writer.writeSync(f.out);
        let n = 0;
        while (n < size) n += (await chunks.next()).value!.byteLength;
        expect(n, size);
      },
    });
  }
  {
    const f = fixture(size);
    const chunks = f.reader.readable.getReader();
    Deno.bench({
      name: `${label} writeSync + readable's read()`,
      group,
      async fn() {
        f.writer.writeSync(f.out);
        let n = 0;
        while (n < size) n += (await chunks.read()).value!.byteLength;
        expect(n, size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} raw write + await nonblocking FFI read (no waiting engine)`,
      group,
      async fn() {
        expect(libc.write(f.wfd, f.out, size), size);
        expect(await libc.read_nonblocking(f.rfd, f.into, size), size);
      },
    });
  }
}
