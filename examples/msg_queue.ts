/**
 * The classic message-queue tutorial: the parent creates a System V message
 * queue and sends a message; the child it started receives it and prints it.
 * One file plays both roles, as a `fork()` program would; the parent passes
 * the queue's id to the child as an argument.
 *
 * Run: `deno run --allow-ffi examples/msg_queue.ts`. It prints:
 *
 * ```text
 * Child process received: Hello from parent process
 * ```
 *
 * @module
 */
import { MessageQueue, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  // The child: the queue exists already; its id came from the parent.
  using queue = MessageQueue.fromId(Number(Deno.args[1]));
  const { data } = await queue.receive({ type: 1 });
  console.log(`Child process received: ${new TextDecoder().decode(data)}`);
} else {
  // A new queue that only we (and whoever we tell its id) know, owner-only (0600).
  const queue = MessageQueue.open("private");
  try {
    const child = spawn(import.meta.url, { args: ["child", String(queue.id)] });
    await queue.send("Hello from parent process", { type: 1 });
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    // A System V queue outlives its processes: remove it explicitly.
    queue.remove();
  }
}
