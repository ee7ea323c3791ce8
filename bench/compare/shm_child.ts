/**
 * The Deno child of bench/compare/shm.ts, on the shared page it gets as fd 3
 * (layout: shm_common.ts). Roles:
 *
 *   echo-futex-MODE N        N turns of the futex ping-pong: waits for GO = 2i+1, sets 2i+2
 *   echo-sysv-MODE N ID      N turns over System V set ID: takes member 0, gives member 1
 *   echo-posix-MODE N        N turns over the two sem_t of the page: waits on the first, posts the second
 *   copy-MODE N SIZE         N rounds: waits for GO = 2i+1, copies SIZE bytes out of DATA, sets 2i+2
 *
 * MODE: `raw` (blocking libc calls through a plain `Deno.dlopen`, the floor),
 * `sync` or `async` (this library's forms).
 *
 * @module
 */
import {
  notify,
  PosixSemaphore,
  PosixSharedMemory,
  SemaphoreSet,
  wait,
  waitSync,
} from "../../mod.ts";
import {
  DATA,
  GO,
  rawSemop,
  rawSemPost,
  rawSemWait,
  rawWait,
  rawWake,
  SEM,
  SEM2,
  wordPointer,
} from "./shm_common.ts";

const [role, kind, modeArg] = Deno.args[0].split("-");
const n = Number(Deno.args[1]);
using shm = PosixSharedMemory.fromFd(3);
const words = new Int32Array(shm.bytes.buffer, 0, 16);
const goPtr = wordPointer(words, GO);

/** Until GO holds `value`, in `mode`. */
async function awaitGo(mode: string, value: number): Promise<void> {
  for (let v; (v = Atomics.load(words, GO)) !== value;) {
    if (mode === "raw") rawWait(goPtr, v);
    else if (mode === "sync") waitSync(words, GO, v);
    else await wait(words, GO, v);
  }
}

function setGo(mode: string, value: number): void {
  Atomics.store(words, GO, value);
  if (mode === "raw") rawWake(goPtr);
  else notify(words, GO, 1);
}

if (role === "echo" && kind === "futex") {
  const mode = modeArg;
  for (let i = 0; i < n; i++) {
    await awaitGo(mode, 2 * i + 1);
    setGo(mode, 2 * i + 2);
  }
} else if (role === "echo" && kind === "sysv") {
  const mode = modeArg;
  const id = Number(Deno.args[2]);
  using set = SemaphoreSet.fromId(id);
  const take = [{ index: 0, delta: -1 }];
  const give = [{ index: 1, delta: 1 }];
  for (let i = 0; i < n; i++) {
    if (mode === "raw") {
      rawSemop(id, 0, -1);
      rawSemop(id, 1, 1);
    } else if (mode === "sync") {
      set.opSync(take);
      set.opSync(give);
    } else {
      await set.op(take);
      await set.op(give);
    }
  }
} else if (role === "echo" && kind === "posix") {
  const mode = modeArg;
  using mine = PosixSemaphore.at(shm.bytes.subarray(SEM, SEM + 32));
  using theirs = PosixSemaphore.at(shm.bytes.subarray(SEM2, SEM2 + 32));
  const minePtr = Deno.UnsafePointer.of(shm.bytes.subarray(SEM))!;
  const theirsPtr = Deno.UnsafePointer.of(shm.bytes.subarray(SEM2))!;
  for (let i = 0; i < n; i++) {
    if (mode === "raw") {
      rawSemWait(minePtr);
      rawSemPost(theirsPtr);
    } else if (mode === "sync") {
      mine.waitSync();
      theirs.post();
    } else {
      await mine.wait();
      theirs.post();
    }
  }
} else if (role === "copy") {
  const mode = kind;
  const size = Number(Deno.args[2]);
  const data = shm.bytes.subarray(DATA, DATA + size);
  const out = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    await awaitGo(mode, 2 * i + 1);
    out.set(data);
    setGo(mode, 2 * i + 2);
  }
  if (out[size - 1] !== 7) throw new Error("copy: wrong data");
} else {
  throw new TypeError(`shm_child.ts: unknown role ${Deno.args}`);
}
