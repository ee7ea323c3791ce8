/**
 * One-process record lock costs: take an uncontended lock of a file and
 * release it, through this library's try, sync and async forms, against the
 * same `fcntl(2)` calls made through a plain `Deno.dlopen` (the least any
 * Deno code can pay). The difference is what the library adds per lock:
 * checks, the `RecordLock` object, the bookkeeping of held ranges, promises.
 *
 * Run: `deno bench --allow-ffi --allow-write bench/lock_bench.ts`.
 *
 * @module
 */
import { RecordLocks } from "../mod.ts";
import { C, LAYOUTS, LIBC_PATH } from "../ffi/platform.ts";

const libc = Deno.dlopen(LIBC_PATH, {
  fcntl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
}).symbols;

const path = Deno.makeTempFileSync({ prefix: "libc-ipc-bench-" });
const locks = RecordLocks.open(path);
// Deno.bench has no teardown hook: the file goes when the bench module unloads.
globalThis.addEventListener("unload", () => {
  locks.close();
  Deno.removeSync(path);
});

const flock = (type: number) =>
  LAYOUTS.flock.encode({ l_type: type, l_whence: C.SEEK_SET, l_start: 0, l_len: 0, l_pid: 0 });
const lockAll = flock(C.F_WRLCK);
const unlockAll = flock(C.F_UNLCK);
const group = "uncontended lock + unlock";

Deno.bench({
  name: "raw libc fcntl(F_OFD_SETLK) + fcntl(F_UNLCK) (Deno.dlopen)",
  group,
  baseline: true,
  fn() {
    if (libc.fcntl(locks.fd, C.F_OFD_SETLK, lockAll) !== 0) throw new Error("lock failed");
    if (libc.fcntl(locks.fd, C.F_OFD_SETLK, unlockAll) !== 0) throw new Error("unlock failed");
  },
});

Deno.bench({
  name: "tryLock() + unlock()",
  group,
  fn() {
    locks.tryLock().unlock();
  },
});

Deno.bench({
  name: "lockSync() + unlock()",
  group,
  fn() {
    locks.lockSync().unlock();
  },
});

Deno.bench({
  name: "await lock() + unlock()",
  group,
  async fn() {
    (await locks.lock()).unlock();
  },
});

Deno.bench({
  name: "tryLock({ start, length, shared }) + unlock()",
  group,
  fn() {
    locks.tryLock({ start: 4096, length: 512, shared: true }).unlock();
  },
});
