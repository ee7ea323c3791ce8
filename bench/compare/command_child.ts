/**
 * The Deno child of bench/compare's `Deno.Command` rows and of its Deno
 * built-in FIFO rows: it talks with Deno's built-in API only (no FFI), as a
 * Deno program without this library would: over its own stdin and stdout, or
 * over two FIFOs it opens with `Deno.open` (input, then output): `FsFile`s.
 *
 *   echo SIZE [IN OUT]   echo SIZE-byte messages from input to output until end of file
 *   sink [IN OUT]        write "R", drain input, then write "count checksum\n"
 *
 * @module
 */
import { type AsyncReader, type AsyncWriter, foldStamps, readFull, writeAll } from "./common.ts";

const [mode, ...rest] = Deno.args;
const paths = mode === "echo" ? rest.slice(1) : rest;

// The same order as the parent's opens (its output, then its input): neither waits for ever.
const input: AsyncReader = paths.length === 2
  ? await Deno.open(paths[0], { read: true })
  : Deno.stdin;
const output: AsyncWriter = paths.length === 2
  ? await Deno.open(paths[1], { write: true })
  : Deno.stdout;

if (mode === "echo") {
  const buf = new Uint8Array(Number(rest[0]));
  while (await readFull(input, buf)) await writeAll(output, buf);
} else if (mode === "sink") {
  const buf = new Uint8Array(64 * 1024);
  let pos = 0;
  let sum = 0;
  await writeAll(output, new TextEncoder().encode("R"));
  for (;;) {
    const n = await input.read(buf);
    if (n === null) break;
    sum = foldStamps(sum, buf, n, pos);
    pos += n;
  }
  await writeAll(output, new TextEncoder().encode(`${pos} ${sum}\n`));
} else {
  throw new TypeError(`unknown mode ${mode}`);
}
