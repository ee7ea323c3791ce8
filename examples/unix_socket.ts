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
  // Fd 3 is the writing end of a pipe the client reads: one byte says "listening" (an end of
  // file alone would come of a server that failed, too).
  using ready = new FdWriter(3);
  ready.writeSync("!");
  ready.close();
  using conn = await listener.accept();
  const message = await new Response(conn.readable).text();
  console.log(`Server received: ${message}`);
} else {
  const path = `/tmp/libc-ipc-example-${Deno.pid}.sock`;
  const ready = pipe();
  const server = spawn(import.meta.url, { args: ["server", path], fds: { 3: ready.writer } });
  ready.writer.close();
  // Its byte once it listens; an end of file without it, if it failed (its error is printed).
  if (await new Response(ready.reader.readable).text() !== "!") {
    Deno.exit((await server.status).code || 1);
  }
  using conn = await connect({ path });
  await conn.write("Hello from client");
  conn.close(); // end of stream: the server reads to here
  const status = await server.status;
  if (!status.success) Deno.exit(status.code);
}
