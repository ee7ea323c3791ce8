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
import {
  foldStamps,
  makeBlocking,
  rawLibc,
  rawReadFull,
  rawWriteAll,
  readFull,
  readFullSync,
} from "./common.ts";

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
