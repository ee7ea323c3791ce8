/**
 * The classic shared-memory tutorial: the parent creates a System V segment
 * (`shmget(IPC_PRIVATE, 1024, ...)` + `shmat`) and writes a message into it;
 * the child it started attaches the same segment and prints the message.
 * Where the tutorial's child sleeps and hopes, this one waits on a futex word
 * at the start of the segment, which the parent sets and notifies once the
 * message is written: no sleep, no race.
 *
 * Run: `deno run --allow-ffi examples/shared_memory.ts`. It prints:
 *
 * ```text
 * Child process received: Hello from parent process
 * ```
 *
 * @module
 */
import { notify, SharedMemory, spawn, wait } from "@libc/ipc";

/** Bytes 0..3: the "ready" word (0 = not yet, 1 = written); 4..7: the length; then the text. */
const READY = 0;
const LENGTH = 1;
const TEXT = 8;

if (Deno.args[0] === "child") {
  using shm = SharedMemory.fromId(Number(Deno.args[1]));
  const words = new Int32Array(shm.bytes.buffer, 0, 2);
  // Returns at once if the parent was first; else sleeps until it notifies.
  await wait(words, READY, 0);
  const text = shm.bytes.subarray(TEXT, TEXT + Atomics.load(words, LENGTH));
  console.log(`Child process received: ${new TextDecoder().decode(text)}`);
} else {
  // A new segment of 1024 bytes, owner-only (0600), zero-filled by the kernel.
  using shm = SharedMemory.open("private", { size: 1024 });
  try {
    const child = spawn(import.meta.url, { args: ["child", String(shm.id)] });
    const words = new Int32Array(shm.bytes.buffer, 0, 2);
    const { written } = new TextEncoder().encodeInto(
      "Hello from parent process",
      shm.bytes.subarray(TEXT),
    );
    Atomics.store(words, LENGTH, written);
    Atomics.store(words, READY, 1);
    notify(words, READY);
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    // A segment outlives its processes: remove it (it goes once the last process detaches).
    shm.remove();
  }
}
