/**
 * The Deno child of bench/compare/socket.ts's and datagram.ts's FFI rows: fd
 * 3 is its end of a connected socket (Unix or TCP stream, or Unix datagram),
 * handed over by `spawn(..., { fds: { 3: conn } })`.
 *
 *   echo-MODE SIZE   echo SIZE-byte messages back until end of stream
 *   sink-MODE        write "R", read to end of stream, then write "count checksum\n" back
 *
 * A datagram socket has no end of stream: an empty datagram stands for it,
 * and each message is one datagram (`send`/`receiveInto`; `read`/`write`
 * in the raw mode, which move one datagram each there).
 *
 * MODE is `sync` or `async` (this library's `Connection.fromFd`), or `raw`
 * (the floor: libc read/write through a plain `Deno.dlopen`, on a blocking fd).
 *
 * @module
 */
import { Connection } from "../../mod.ts";
import { foldStamps } from "./common.ts";
import type { Mode } from "./harness.ts";
import { echoStream, sinkStream } from "./stream_child.ts";

const [role, mode] = Deno.args[0]?.split("-") ?? [];
const size = Number(Deno.args[1]);
if (!["raw", "sync", "async"].includes(mode)) usage();
using conn = Connection.fromFd(3);
const sync = mode === "sync";
if (mode === "raw" || conn.type !== "datagram") {
  // In the raw mode, read and write move one datagram each.
  if (role === "echo") await echoStream(mode as Mode, conn, conn, size);
  else if (role === "sink") await sinkStream(mode as Mode, conn, conn);
  else usage();
} else if (role === "echo") {
  const buf = new Uint8Array(size);
  let n: number | null;
  if (sync) { while ((n = conn.receiveIntoSync(buf)) === size) conn.sendSync(buf); }
  else while ((n = await conn.receiveInto(buf)) === size) await conn.send(buf);
  if (n !== 0) throw new Error(`echo: a message of ${n} bytes, not ${size}`);
} else if (role === "sink") {
  const buf = new Uint8Array(64 * 1024);
  let pos = 0;
  let sum = 0;
  conn.sendSync("R");
  for (;;) {
    // An empty datagram stands for the end of the stream.
    const n = sync ? conn.receiveIntoSync(buf) : await conn.receiveInto(buf);
    if (!n) break;
    sum = foldStamps(sum, buf, n, pos);
    pos += n;
  }
  conn.sendSync(`${pos} ${sum}\n`);
} else {
  usage();
}

function usage(): never {
  throw new TypeError(`usage: socket_child.ts echo-MODE SIZE | sink-MODE, got ${Deno.args}`);
}
