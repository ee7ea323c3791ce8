/**
 * The Deno child of bench/compare's `Deno.Command` rows: it talks over its own
 * stdin and stdout with Deno's built-in API only (no FFI), as a Deno program
 * without this library would.
 *
 *   echo SIZE   echo SIZE-byte messages from stdin to stdout
 *   sink        write "R", drain stdin, then write "count checksum\n"
 *
 * @module
 */
import { foldStamps } from "./common.ts";

const [mode, sizeArg] = Deno.args;

/** Writes all of `data` (`Deno.stdout.write` may write part of it). */
async function writeAll(data: Uint8Array): Promise<void> {
  let put = 0;
  while (put < data.byteLength) {
    put += await Deno.stdout.write(put === 0 ? data : data.subarray(put));
  }
}

if (mode === "echo") {
  const buf = new Uint8Array(Number(sizeArg));
  echo: for (;;) {
    let got = 0;
    while (got < buf.byteLength) {
      const n = await Deno.stdin.read(got === 0 ? buf : buf.subarray(got));
      if (n === null) {
        if (got === 0) break echo;
        throw new Error("short read");
      }
      got += n;
    }
    await writeAll(buf);
  }
} else if (mode === "sink") {
  const buf = new Uint8Array(64 * 1024);
  let pos = 0;
  let sum = 0;
  await writeAll(new TextEncoder().encode("R"));
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    sum = foldStamps(sum, buf, n, pos);
    pos += n;
  }
  await writeAll(new TextEncoder().encode(`${pos} ${sum}\n`));
} else {
  throw new TypeError(`unknown mode ${mode}`);
}
