/**
 * POSIX shared memory by name (`shm_open` + `ftruncate` + `mmap`): the parent
 * creates "/libc-ipc-example-<pid>", writes a message and posts a POSIX
 * semaphore that lives in the same memory; the child opens the object by its
 * name, waits on the semaphore and prints the message. The parent unlinks the
 * name at the end. (For a parent and child that want no name at all, see
 * `PosixSharedMemory.anonymous()`, handed over through `spawn(..., { fds })`.)
 *
 * Run: `deno run --allow-ffi examples/posix_shm.ts`. It prints:
 *
 * ```text
 * Child process received: Hello from parent process
 * ```
 *
 * @module
 */
import { PosixSemaphore, PosixSharedMemory, spawn } from "@libc/ipc";

/** Bytes 0..31: the semaphore (sem_t); 32..35: the length; then the text. */
const SEM = 0;
const LENGTH = 32;
const TEXT = 36;

if (Deno.args[0] === "child") {
  using shm = PosixSharedMemory.open(Deno.args[1]);
  using ready = PosixSemaphore.at(shm.bytes.subarray(SEM, LENGTH));
  await ready.wait();
  const length = new DataView(shm.bytes.buffer).getUint32(LENGTH, true);
  const text = shm.bytes.subarray(TEXT, TEXT + length);
  console.log(`Child process received: ${new TextDecoder().decode(text)}`);
} else {
  const name = `/libc-ipc-example-${Deno.pid}`;
  // Created owner-only (0600), 4 KiB, zero-filled.
  using shm = PosixSharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
  try {
    using ready = PosixSemaphore.init(shm.bytes.subarray(SEM, LENGTH), 0);
    const child = spawn(import.meta.url, { args: ["child", name] });
    const { written } = new TextEncoder().encodeInto(
      "Hello from parent process",
      shm.bytes.subarray(TEXT),
    );
    new DataView(shm.bytes.buffer).setUint32(LENGTH, written, true);
    ready.post();
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    PosixSharedMemory.unlink(name);
  }
}
