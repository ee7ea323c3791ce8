/**
 * Message types as priorities: the parent queues messages of type 1
 * (urgent), 2 (normal) and 3 (low) in a scrambled order, then starts a child
 * that receives with `type: -3`, "the lowest type ≤ 3 first". The child prints
 * them most urgent first, and in the order they were sent within one type.
 *
 * Run: `deno run --allow-ffi examples/msg_queue_priority.ts`. It prints:
 *
 * ```text
 * Child process received: urgent #1 (type 1)
 * Child process received: urgent #2 (type 1)
 * Child process received: normal #1 (type 2)
 * Child process received: normal #2 (type 2)
 * Child process received: low #1 (type 3)
 * Child process received: low #2 (type 3)
 * ```
 *
 * @module
 */
import { MessageQueue, spawn } from "@libc/ipc";

const URGENT = 1, NORMAL = 2, LOW = 3;

if (Deno.args[0] === "child") {
  using queue = MessageQueue.fromId(Number(Deno.args[1]));
  const count = Number(Deno.args[2]);
  for (let i = 0; i < count; i++) {
    // A negative type takes the message with the lowest type ≤ 3: the most urgent one.
    const { type, data } = await queue.receive({ type: -LOW });
    console.log(`Child process received: ${new TextDecoder().decode(data)} (type ${type})`);
  }
} else {
  const queue = MessageQueue.open("private");
  try {
    const messages: Array<[string, number]> = [
      ["low #1", LOW],
      ["urgent #1", URGENT],
      ["normal #1", NORMAL],
      ["urgent #2", URGENT],
      ["low #2", LOW],
      ["normal #2", NORMAL],
    ];
    // Everything is queued before the child starts, so it can choose among all of them.
    for (const [text, type] of messages) await queue.send(text, { type });
    const child = spawn(import.meta.url, {
      args: ["child", String(queue.id), String(messages.length)],
    });
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    queue.remove();
  }
}
