/**
 * The Deno child of bench/compare/socket.ts's "Deno built-in" rows: it
 * connects with `Deno.connect` and talks with Deno's own `Deno.Conn` only (no
 * FFI), as a Deno program without this library would.
 *
 *   echo unix PATH SIZE | echo tcp PORT SIZE   echo SIZE-byte messages back until end of stream
 *   sink unix PATH | sink tcp PORT             write "R", read to end of stream, then write
 *                                              "count checksum\n" back
 *
 * A TCP connection goes to 127.0.0.1, with `TCP_NODELAY` as in every row.
 *
 * @module
 */
import { foldStamps, readFull, writeAll } from "./common.ts";

const [role, transport, at, sizeArg] = Deno.args;

let conn: Deno.Conn;
if (transport === "unix") {
  conn = await Deno.connect({ transport: "unix", path: at });
} else if (transport === "tcp") {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: Number(at) });
  tcp.setNoDelay(true);
  conn = tcp;
} else {
  throw new TypeError(`unknown transport ${transport}`);
}

try {
  if (role === "echo") {
    const buf = new Uint8Array(Number(sizeArg));
    while (await readFull(conn, buf)) await writeAll(conn, buf);
  } else if (role === "sink") {
    const buf = new Uint8Array(64 * 1024);
    let pos = 0;
    let sum = 0;
    await writeAll(conn, new TextEncoder().encode("R"));
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    await writeAll(conn, new TextEncoder().encode(`${pos} ${sum}\n`));
  } else {
    throw new TypeError(`unknown role ${role}`);
  }
} finally {
  conn.close();
}
