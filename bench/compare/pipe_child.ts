/**
 * The Deno child of bench/compare's FFI rows: fd 3 is its input and fd 4 its
 * output, both handed over by `spawn(..., { fds })`.
 *
 *   echo-MODE SIZE   echo SIZE-byte messages from fd 3 to fd 4 until end of file
 *   sink-MODE        write "R" on fd 4, drain fd 3, then write "count checksum\n"
 *
 * MODE is `sync` or `async` (this library's FdReader/FdWriter), or `raw` (the
 * floor: libc read/write through a plain `Deno.dlopen`, on blocking fds).
 *
 * @module
 */
import { FdReader, FdWriter } from "../../mod.ts";
import { foldStamps, makeBlocking, rawLibc, rawReadFull, rawWriteAll } from "./common.ts";

const [role, mode] = Deno.args[0]?.split("-") ?? [];
const size = Number(Deno.args[1]);
const IN = 3;
const OUT = 4;
const CHUNK = 64 * 1024;
const encoder = new TextEncoder();

if (mode === "raw") {
  makeBlocking(IN);
  makeBlocking(OUT);
  if (role === "echo") {
    const buf = new Uint8Array(size);
    while (rawReadFull(IN, buf)) rawWriteAll(OUT, buf);
  } else if (role === "sink") {
    const { read } = rawLibc();
    const buf = new Uint8Array(CHUNK);
    let pos = 0;
    let sum = 0;
    rawWriteAll(OUT, encoder.encode("R"));
    for (;;) {
      const n = read(IN, buf, CHUNK);
      if (n === 0) break;
      if (n < 0) throw new Error("read failed");
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    rawWriteAll(OUT, encoder.encode(`${pos} ${sum}\n`));
  } else {
    usage();
  }
} else if (mode === "sync" || mode === "async") {
  const sync = mode === "sync";
  using input = new FdReader(IN);
  using output = new FdWriter(OUT);
  if (role === "echo") {
    const buf = new Uint8Array(size);
    if (sync) {
      while (readFullSync(input, buf)) output.writeSync(buf);
    } else {
      while (await readFull(input, buf)) await output.write(buf);
    }
  } else if (role === "sink") {
    const buf = new Uint8Array(CHUNK);
    let pos = 0;
    let sum = 0;
    output.writeSync("R");
    for (;;) {
      const n = sync ? input.readSync(buf) : await input.read(buf);
      if (n === null) break;
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    output.writeSync(`${pos} ${sum}\n`);
  } else {
    usage();
  }
} else {
  usage();
}

function usage(): never {
  throw new TypeError(`usage: pipe_child.ts echo-MODE SIZE | sink-MODE, got ${Deno.args}`);
}

/** Fills `buf` (a message may arrive in pieces); false at end of file before its first byte. */
function readFullSync(input: FdReader, buf: Uint8Array): boolean {
  let got = 0;
  while (got < buf.byteLength) {
    const n = input.readSync(got === 0 ? buf : buf.subarray(got));
    if (n === null) {
      if (got === 0) return false;
      throw new Error("short read");
    }
    got += n;
  }
  return true;
}

async function readFull(input: FdReader, buf: Uint8Array): Promise<boolean> {
  let got = 0;
  while (got < buf.byteLength) {
    const n = await input.read(got === 0 ? buf : buf.subarray(got));
    if (n === null) {
      if (got === 0) return false;
      throw new Error("short read");
    }
    got += n;
  }
  return true;
}
