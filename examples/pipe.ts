/**
 * The classic pipe tutorial: the parent writes a message into a pipe, the
 * child it started reads it and prints it. One file plays both roles, as a
 * `fork()` program would.
 *
 * Run: `deno run --allow-ffi examples/pipe.ts` (task `example:pipe`).
 *
 * @module
 */
import { FdReader, pipe, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  // The child: fd 3 is the pipe's reading end, handed over by the parent.
  using reader = new FdReader(3);
  const message = await new Response(reader.readable).text();
  console.log(`Child process received: ${message}`);
} else {
  const { reader, writer } = pipe();
  const child = spawn(import.meta.url, { args: ["child"], fds: { 3: reader } });
  // The child has its own copy of the reading end; closing ours lets it see end of file.
  reader.close();
  await writer.write("Hello from parent process");
  writer.close();
  const status = await child.status;
  if (!status.success) Deno.exit(status.code);
}
