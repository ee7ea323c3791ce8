/**
 * An echo over TCP: the parent listens on 127.0.0.1 on a free port (port 0;
 * the kernel picks one, and `listener.addr` tells which), starts a client
 * process with that port, and echoes what the client sends; the client
 * prints what comes back. The client connects with a timeout: a server that
 * is not there is `ConnectionRefused`, one that does not answer `TimedOut`,
 * each naming the address.
 *
 * Run: `deno run --allow-ffi examples/tcp.ts`. It prints:
 *
 * ```text
 * Client received: Hello over TCP
 * ```
 *
 * @module
 */
import { connect, listen, spawn } from "@libc/ipc";

if (Deno.args[0] === "client") {
  using conn = await connect({ hostname: "127.0.0.1", port: Number(Deno.args[1]), timeout: 5000 });
  await conn.write("Hello over TCP");
  conn.shutdown("write"); // the server reads to the end, then echoes and closes
  console.log(`Client received: ${await new Response(conn.readable).text()}`);
} else {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const client = spawn(import.meta.url, { args: ["client", String(port)] });
  {
    using conn = await listener.accept();
    const message = new Uint8Array(await new Response(conn.readable).arrayBuffer());
    await conn.write(message);
  }
  const status = await client.status;
  if (!status.success) Deno.exit(status.code);
}
