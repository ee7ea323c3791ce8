/**
 * The classic POSIX message queue tutorial: the parent creates a queue and
 * sends a message, the child it started opens the queue by name, receives the
 * message and prints it. One file plays both roles, as a `fork()` program
 * would.
 *
 * Run: `deno run --allow-ffi examples/posix_mq.ts` (task `example:posix-mq`).
 *
 * @module
 */
import { PosixMessageQueue, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  // The child: the parent passed the queue's name.
  using queue = PosixMessageQueue.open(Deno.args[1], { access: "read" });
  const { data } = await queue.receive();
  console.log(`Child process received: ${new TextDecoder().decode(data)}`);
} else {
  const name = `/libc-ipc-example-${Deno.pid}`;
  using queue = PosixMessageQueue.open(name, {
    create: true,
    exclusive: true,
    maxMessages: 10,
    messageSize: 256,
    access: "write",
  });
  try {
    const child = spawn(import.meta.url, { args: ["child", name] });
    await queue.send("Hello from parent process");
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    // The queue outlives the processes that use it until its name is removed.
    PosixMessageQueue.unlink(name);
  }
}
