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
const FD = 3;
const CHUNK = 64 * 1024;
const encoder = new TextEncoder();

if (mode === "raw") {
  makeBlocking(FD);
  if (role === "echo") {
    const buf = new Uint8Array(size);
    while (rawReadFull(FD, buf)) rawWriteAll(FD, buf);
  } else if (role === "sink") {
    const { read } = rawLibc();
    const buf = new Uint8Array(CHUNK);
    let pos = 0;
    let sum = 0;
    rawWriteAll(FD, encoder.encode("R"));
    for (;;) {
      const n = read(FD, buf, CHUNK);
      if (n === 0) break;
      if (n < 0) throw new Error("read failed");
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    rawWriteAll(FD, encoder.encode(`${pos} ${sum}\n`));
  } else {
    usage();
  }
} else if (mode === "sync" || mode === "async") {
  const sync = mode === "sync";
  using conn = Connection.fromFd(FD);
  const dgram = conn.type === "datagram";
  if (role === "echo" && dgram) {
    const buf = new Uint8Array(size);
    let n: number | null;
    if (sync) { while ((n = conn.receiveIntoSync(buf)) === size) conn.sendSync(buf); }
    else while ((n = await conn.receiveInto(buf)) === size) await conn.send(buf);
    if (n !== 0) throw new Error(`echo: a message of ${n} bytes, not ${size}`);
  } else if (role === "echo") {
    const buf = new Uint8Array(size);
    if (sync) {
      while (readFullSync(conn, buf)) conn.writeSync(buf);
    } else {
      while (await readFull(conn, buf)) await conn.write(buf);
    }
  } else if (role === "sink") {
    const buf = new Uint8Array(CHUNK);
    let pos = 0;
    let sum = 0;
    const say = (text: string) => dgram ? conn.sendSync(text) : conn.writeSync(text);
    say("R");
    for (;;) {
      const n = dgram
        ? (sync ? conn.receiveIntoSync(buf) : await conn.receiveInto(buf)) || null
        : sync
        ? conn.readSync(buf)
        : await conn.read(buf);
      if (n === null) break;
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    say(`${pos} ${sum}\n`);
  } else {
    usage();
  }
} else {
  usage();
}

function usage(): never {
  throw new TypeError(`usage: socket_child.ts echo-MODE SIZE | sink-MODE, got ${Deno.args}`);
}
