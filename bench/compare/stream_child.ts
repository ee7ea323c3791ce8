/**
 * The child's side of the stream rows (stream_rows.ts): the echo of the
 * ping-pong and the sink of the transfer, in each mode, for pipe_child.ts and
 * socket_child.ts.
 *
 * @module
 */
import {
  foldStamps,
  makeBlocking,
  rawLibc,
  rawReadFull,
  rawWriteAll,
  readFull,
  readFullSync,
  type StreamReader,
  type StreamWriter,
} from "./common.ts";
import type { Mode } from "./harness.ts";

/** The size of the sink's reads. */
const CHUNK = 64 * 1024;

/** Echoes `size`-byte messages from `input` to `output` until end of stream. */
export async function echoStream(
  mode: Mode,
  input: StreamReader,
  output: StreamWriter,
  size: number,
): Promise<void> {
  const buf = new Uint8Array(size);
  if (mode === "raw") {
    makeBlocking(input.fd);
    makeBlocking(output.fd);
    while (rawReadFull(input.fd, buf)) rawWriteAll(output.fd, buf);
  } else if (mode === "sync") {
    while (readFullSync(input, buf)) output.writeSync(buf);
  } else {
    while (await readFull(input, buf)) await output.write(buf);
  }
}

/** Writes "R" on `output`, drains `input`, then writes "count checksum\n" of what came. */
export async function sinkStream(
  mode: Mode,
  input: StreamReader,
  output: StreamWriter,
): Promise<void> {
  const buf = new Uint8Array(CHUNK);
  let pos = 0;
  let sum = 0;
  const encoder = new TextEncoder();
  if (mode === "raw") {
    makeBlocking(input.fd);
    makeBlocking(output.fd);
    const { read } = rawLibc();
    rawWriteAll(output.fd, encoder.encode("R"));
    for (;;) {
      const n = read(input.fd, buf, CHUNK);
      if (n === 0) break;
      if (n < 0) throw new Error("read failed");
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    rawWriteAll(output.fd, encoder.encode(`${pos} ${sum}\n`));
    return;
  }
  output.writeSync("R");
  for (;;) {
    const n = mode === "sync" ? input.readSync(buf) : await input.read(buf);
    if (n === null) break;
    sum = foldStamps(sum, buf, n, pos);
    pos += n;
  }
  output.writeSync(`${pos} ${sum}\n`);
}
