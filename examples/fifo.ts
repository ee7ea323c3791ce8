/**
 * The classic FIFO tutorial: the parent creates a named pipe, the child opens
 * it for reading and prints what the parent writes into it. One file plays
 * both roles.
 *
 * Run: `deno run --allow-ffi examples/fifo.ts` (task `example:fifo`).
 *
 * @module
 */
import { Fifo, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  // The child: open the FIFO for reading; this waits until the parent opens it for writing.
  using reader = await Fifo.open(Deno.args[1], "read");
  const message = await new Response(reader.readable).text();
  console.log(`Child process received: ${message}`);
} else {
  const path = `/tmp/libc-ipc-example-${Deno.pid}.fifo`;
  // Owner-only (0600); exclusive: a FIFO someone else left at this name is refused, never used.
  Fifo.create(path, { exclusive: true });
  try {
    const child = spawn(import.meta.url, { args: ["child", path] });
    // Opening for writing waits until the child has opened for reading, or has ended without.
    const childEnded = new AbortController();
    const stop = () => childEnded.abort(new Error("the child ended before it opened the FIFO"));
    child.status.then(stop, stop);
    const writer = await Fifo.open(path, "write", { signal: childEnded.signal });
    await writer.write("Hello from parent process");
    writer.close();
    const status = await child.status;
    if (!status.success) Deno.exit(status.code);
  } finally {
    Fifo.unlink(path);
  }
}
