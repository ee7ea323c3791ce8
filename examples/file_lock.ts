/**
 * The classic file-locking tutorial ("lockdemo"): the parent locks a file,
 * the child finds it locked, waits for the lock, and gets it once the parent
 * unlocks. The locks are `fcntl(2)` record locks (open file description
 * locks): advisory, and released by the kernel when their process ends. One
 * file plays both roles.
 *
 * The child says on a pipe (its fd 3) that it is waiting: the parent unlocks
 * only then, so the lines come in one order every time.
 *
 * Run: `deno run --allow-ffi examples/file_lock.ts` (task `example:lock`). It
 * prints:
 *
 * ```text
 * Parent: got the lock
 * Child: locked by another process, waiting...
 * Parent: unlocking
 * Child: got the lock
 * ```
 *
 * @module
 */
import { FdWriter, pipe, type RecordLock, RecordLocks, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  // Another open of the file: another owner, whose locks exclude the parent's.
  using locks = RecordLocks.open(Deno.args[1]);
  // Fd 3 is the writing end of a pipe the parent reads.
  using waiting = new FdWriter(3);
  let lock: RecordLock;
  try {
    lock = locks.tryLock(); // the whole file, exclusive (F_OFD_SETLK: never waits)
  } catch (e) {
    if (!(e instanceof Deno.errors.WouldBlock)) throw e;
    console.log("Child: locked by another process, waiting...");
    waiting.writeSync("waiting");
    waiting.close();
    // F_OFD_SETLKW, parked on a pool thread: the event loop runs meanwhile.
    lock = await locks.lock();
  }
  console.log("Child: got the lock");
  lock.unlock();
} else {
  // Created owner-only (0600) through the library: --allow-ffi is all this example needs.
  const path = `/tmp/libc-ipc-example-${Deno.pid}.lock`;
  using locks = RecordLocks.open(path, { create: true });
  try {
    const lock = await locks.lock();
    console.log("Parent: got the lock");
    const { reader, writer } = pipe();
    const child = spawn(import.meta.url, { args: ["child", path], fds: { 3: writer } });
    writer.close(); // the child has its own copy
    // The child closes its end once it waits for the lock (or ends): the text ends there.
    await new Response(reader.readable).text();
    console.log("Parent: unlocking");
    lock.unlock();
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    removeFile(path);
  }
}

/**
 * Removes the lock file with `unlink(2)`: `Deno.remove` would need
 * `--allow-write`, and the library removes only the kernel objects it makes
 * (a lock file is an ordinary file).
 */
function removeFile(path: string): void {
  const libc = Deno.dlopen("libc.so.6", { unlink: { parameters: ["buffer"], result: "i32" } });
  try {
    if (libc.symbols.unlink(new TextEncoder().encode(`${path}\0`)) < 0) {
      throw new Error(`could not remove ${path}`);
    }
  } finally {
    libc.close();
  }
}
