/**
 * The classic semaphore tutorial: a parent and a child each enter a critical
 * section guarded by one System V semaphore (initial value 1) three times; the
 * two sections never overlap. Which enters when depends on how soon the child
 * has started: the parent may be through all three before it comes. The acquisition is
 * made with `SEM_UNDO` (the default), so a process killed inside its section
 * leaves the semaphore free; `using` releases it at the end of the block.
 *
 * Run: `deno run --allow-ffi examples/semaphore.ts`. It prints, in some order
 * of sections:
 *
 * ```text
 * Parent process entering critical section
 * Parent process leaving critical section
 * Child process entering critical section
 * Child process leaving critical section
 * ...
 * ```
 *
 * @module
 */
import { Semaphore, spawn } from "@libc/ipc";

const TURNS = 3;

async function criticalSections(sem: Semaphore, who: string): Promise<void> {
  for (let i = 0; i < TURNS; i++) {
    using _ = await sem.acquire();
    console.log(`${who} process entering critical section`);
    // The work of the section; the other process waits meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 20));
    console.log(`${who} process leaving critical section`);
  }
}

if (Deno.args[0] === "child") {
  using sem = Semaphore.fromId(Number(Deno.args[1]));
  await criticalSections(sem, "Child");
} else {
  // A new semaphore that only we (and whoever we tell its id) know, owner-only (0600).
  const sem = Semaphore.open("private", { value: 1 });
  try {
    const child = spawn(import.meta.url, { args: ["child", String(sem.id)] });
    await criticalSections(sem, "Parent");
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  } finally {
    // A System V semaphore outlives its processes: remove it explicitly.
    sem.remove();
  }
}
