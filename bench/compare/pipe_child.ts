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
import type { Mode } from "./harness.ts";
import { echoStream, sinkStream } from "./stream_child.ts";

const [role, mode] = Deno.args[0]?.split("-") ?? [];
const size = Number(Deno.args[1]);
const paths = Deno.args.slice(role === "echo" ? 2 : 1);
/** A parent that never opens its side has failed: the open gives up after this long. */
const OPEN_TIMEOUT_MS = 10_000;
if (!["raw", "sync", "async"].includes(mode)) usage();
// The same order as the parent's opens (its output, then its input): neither waits for ever.
using input = paths.length === 2
  ? Fifo.openSync(paths[0], "read", { timeout: OPEN_TIMEOUT_MS })
  : new FdReader(3);
using output = paths.length === 2
  ? Fifo.openSync(paths[1], "write", { timeout: OPEN_TIMEOUT_MS })
  : new FdWriter(4);
if (role === "echo") await echoStream(mode as Mode, input, output, size);
else if (role === "sink") await sinkStream(mode as Mode, input, output);
else usage();

function usage(): never {
  throw new TypeError(
    `usage: pipe_child.ts echo-MODE SIZE [IN OUT] | sink-MODE [IN OUT], got ${Deno.args}`,
  );
}
