/**
 * Passing a descriptor to another process (`SCM_RIGHTS`): the parent makes a
 * pipe and a socketpair, hands one end of the socketpair to a child, and
 * sends the pipe's writing end over it. The child writes into the descriptor
 * it received; the parent reads that from the pipe. One file plays both
 * roles, as a `fork()` program would.
 *
 * Run: `deno run --allow-ffi examples/fd_passing.ts` (task `example:fd-passing`).
 * It prints:
 *
 * ```text
 * Parent received: Hello through a passed descriptor
 * ```
 *
 * @module
 */
import { Connection, pipe, socketpair, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  // Fd 3 is the child's end of the socketpair, handed over by the parent.
  using conn = Connection.fromFd(3);
  // Whatever is not taken from `received` is closed with it.
  using received = await conn.receiveFds();
  if (received === null) throw new Error("the parent closed the socket before sending");
  using writer = received.writer(0);
  await writer.write("Hello through a passed descriptor");
} else {
  const { reader, writer } = pipe();
  const [mine, theirs] = socketpair();
  const child = spawn(import.meta.url, { args: ["child"], fds: { 3: theirs } });
  theirs.close(); // the child has its own copy
  await mine.sendFds([writer]);
  // The child holds a copy of the writing end now: once it closes it, the pipe ends.
  writer.close();
  mine.close();
  const message = await new Response(reader.readable).text();
  reader.close();
  console.log(`Parent received: ${message}`);
  const status = await child.status;
  if (!status.success) Deno.exit(status.code);
}
