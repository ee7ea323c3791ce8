/**
 * The Deno child of bench/compare's FFI rows over pipes and FIFOs: fd 3 is
 * its input and fd 4 its output, both handed over by `spawn(..., { fds })`;
 * or, given the paths of two FIFOs, it opens them (input, then output).
 *
 *   echo-MODE SIZE [IN OUT]   echo SIZE-byte messages from input to output until end of file
 *   sink-MODE [IN OUT]        write "R" on output, drain input, then write "count checksum\n"
 *
 * MODE is `sync` or `async` (this library's FdReader/FdWriter), or `raw` (the
 * floor: libc read/write through a plain `Deno.dlopen`, on blocking fds).
 *
 * @module
 */
import { FdReader, FdWriter, Fifo } from "../../mod.ts";
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
const paths = Deno.args.slice(role === "echo" ? 2 : 1);
/** A parent that never opens its side has failed: the open gives up after this long. */
const OPEN_TIMEOUT_MS = 10_000;
// The same order as the parent's opens (its output, then its input): neither waits for ever.
const fifos = paths.length === 2
  ? [
    Fifo.openSync(paths[0], "read", { timeout: OPEN_TIMEOUT_MS }),
    Fifo.openSync(paths[1], "write", { timeout: OPEN_TIMEOUT_MS }),
  ] as const
  : undefined;
const IN = fifos?.[0].fd ?? 3;
const OUT = fifos?.[1].fd ?? 4;
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
  using input = fifos?.[0] ?? new FdReader(IN);
  using output = fifos?.[1] ?? new FdWriter(OUT);
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
  throw new TypeError(
    `usage: pipe_child.ts echo-MODE SIZE [IN OUT] | sink-MODE [IN OUT], got ${Deno.args}`,
  );
}
