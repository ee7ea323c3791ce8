/**
 * The classic Unix-socket tutorial: a server process listens on a socket
 * file and prints what a client sends it. Here the child is the server and
 * the parent the client; where the tutorial's client sleeps and hopes the
 * server is up, this one waits until the server says, on a pipe, that it
 * listens. The socket file is created owner-only (0600) and removed when the
 * listener closes.
 *
 * Run: `deno run --allow-ffi examples/unix_socket.ts`. It prints:
 *
 * ```text
 * Server received: Hello from client
 * ```
 *
 * @module
 */
import { connect, FdWriter, listen, pipe, spawn } from "@libc/ipc";

if (Deno.args[0] === "server") {
  using listener = listen({ path: Deno.args[1] });
  // Fd 3 is the writing end of a pipe the client reads: closing it says "listening".
  new FdWriter(3).close();
  using conn = await listener.accept();
  const message = await new Response(conn.readable).text();
  console.log(`Server received: ${message}`);
} else {
  const path = `/tmp/libc-ipc-example-${Deno.pid}.sock`;
  const ready = pipe();
  const server = spawn(import.meta.url, { args: ["server", path], fds: { 3: ready.writer } });
  ready.writer.close();
  // End of file once the server has closed its end: it listens by then.
  await new Response(ready.reader.readable).text();
  using conn = await connect({ path });
  await conn.write("Hello from client");
  conn.close(); // end of stream: the server reads to here
  const status = await server.status;
  if (!status.success) Deno.exit(status.code);
}
