/**
 * One-process costs of shared memory and the ways to wait on it, each group
 * against the least any Deno code can pay for the same thing:
 *
 * - copying 1 MiB into a shared segment's `bytes` against the same copy into
 *   an ordinary `Uint8Array` (the view is the memory itself: no extra copy);
 * - `notify` with no waiter, and `wait` on a word that does not hold the
 *   expected value, against the raw `futex(FUTEX_WAKE)` call;
 * - a System V semaphore's give + take (`opSync`, `tryOp`, `await op`) and a
 *   POSIX semaphore's post + take (`tryWait`, `waitSync`, `await wait`)
 *   against `semop` and `sem_post` + `sem_trywait` through a plain `Deno.dlopen`.
 *
 * Run: `deno bench --allow-ffi bench/shm_bench.ts`. Two-process figures
 * (ping-pongs, throughput, wake lag, against C) are in bench/compare/shm.ts.
 *
 * @module
 */
import {
  notify,
  PosixSemaphore,
  PosixSharedMemory,
  SemaphoreSet,
  SharedMemory,
  wait,
  waitSync,
} from "../mod.ts";
import { LIBC_PATH } from "../ffi/platform.ts";

const libc = Deno.dlopen(LIBC_PATH, {
  futex: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "pointer", "pointer", "u32"],
    result: "i32",
  },
  semop: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sem_post: { parameters: ["pointer"], result: "i32" },
  sem_trywait: { parameters: ["pointer"], result: "i32" },
}).symbols;

const SYS_FUTEX = 202n;
const FUTEX_WAKE = 1;
const MIB = 1 << 20;

// Deno.bench has no teardown hook: what the suites made goes when the module unloads.
const segment = SharedMemory.open("private", { size: MIB });
const page = PosixSharedMemory.anonymous(4096);
const set = SemaphoreSet.open("private", { count: 1 });
globalThis.addEventListener("unload", () => {
  segment.remove();
  segment.close();
  set.remove();
  page.close();
});

{
  const src = new Uint8Array(MIB).fill(7);
  const plain = new Uint8Array(MIB);
  const group = "1 MiB copy";
  Deno.bench({
    name: "into an ordinary Uint8Array",
    group,
    baseline: true,
    fn: () => plain.set(src),
  });
  Deno.bench({ name: "into SharedMemory.bytes", group, fn: () => segment.bytes.set(src) });
}

{
  const words = new Int32Array(page.bytes.buffer, 0, 4);
  const word = Deno.UnsafePointer.of(words);
  const group = "futex without a waiter";
  Deno.bench({
    name: "raw futex(FUTEX_WAKE) (Deno.dlopen)",
    group,
    baseline: true,
    fn: () => void libc.futex(SYS_FUTEX, word, FUTEX_WAKE, 1, null, null, 0),
  });
  Deno.bench({ name: "notify(view, 0, 1)", group, fn: () => void notify(words, 0, 1) });
  Deno.bench({
    name: "waitSync on a word that changed (not-equal)",
    group,
    fn: () => void waitSync(words, 0, 1),
  });
  Deno.bench({
    name: "await wait on a word that changed (not-equal)",
    group,
    async fn() {
      await wait(words, 0, 1);
    },
  });
}

{
  const ops = new Int16Array([0, 1, 0, 0, -1, 0]);
  const opsBytes = new Uint8Array(ops.buffer);
  const give = [{ index: 0, delta: 1 }];
  const take = [{ index: 0, delta: -1 }];
  const group = "System V semaphore give + take";
  Deno.bench({
    name: "raw semop +1, semop -1 (Deno.dlopen)",
    group,
    baseline: true,
    fn() {
      if (libc.semop(set.id, opsBytes, 1) < 0) throw new Error("semop");
      if (libc.semop(set.id, opsBytes.subarray(6), 1) < 0) throw new Error("semop");
    },
  });
  Deno.bench({ name: "opSync +1, tryOp -1", group, fn: () => (set.opSync(give), set.tryOp(take)) });
  Deno.bench({
    name: "opSync +1, opSync -1",
    group,
    fn: () => (set.opSync(give), set.opSync(take)),
  });
  Deno.bench({
    name: "opSync +1, await op -1",
    group,
    async fn() {
      set.opSync(give);
      await set.op(take);
    },
  });
}

{
  const sem = PosixSemaphore.init(page.bytes.subarray(64, 96), 0);
  // The raw row's own semaphore, initialised by the library, used through libc.
  PosixSemaphore.init(page.bytes.subarray(96, 128), 0);
  const pointer = Deno.UnsafePointer.of(page.bytes.subarray(96))!;
  const group = "POSIX semaphore post + take";
  Deno.bench({
    name: "raw sem_post + sem_trywait (Deno.dlopen)",
    group,
    baseline: true,
    fn() {
      libc.sem_post(pointer);
      if (libc.sem_trywait(pointer) < 0) throw new Error("sem_trywait");
    },
  });
  Deno.bench({ name: "post + tryWait", group, fn: () => (sem.post(), sem.tryWait()) });
  Deno.bench({ name: "post + waitSync", group, fn: () => (sem.post(), sem.waitSync()) });
  Deno.bench({
    name: "post + await wait",
    group,
    async fn() {
      sem.post();
      await sem.wait();
    },
  });
}
