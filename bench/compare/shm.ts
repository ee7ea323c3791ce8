/**
 * Cross-process shared memory, futex and semaphore comparison, every row in
 * the same run, at every placement of harness.ts, as ratios to a baseline:
 *
 * - **Ping-pongs** of a turn handed back and forth: a futex word in shared
 *   memory (`wait`/`notify`), a System V semaphore set of two members
 *   (`SemaphoreSet.op`), two unnamed POSIX semaphores in shared memory
 *   (`PosixSemaphore.wait`/`post`); against the same in C (shm.c: fork,
 *   blocking calls) and the same blocking calls made through a plain
 *   `Deno.dlopen` (the floor).
 * - **Throughput**: per round, one process writes 1 MiB into shared memory
 *   and hands the turn over by futex; the other copies it out and hands it
 *   back. Against the memory-speed limit, the same two copies in one process
 *   (`Uint8Array.set` twice), and against C.
 *
 * How soon a waiter wakes after an idle gap, and what idle waits cost, lag.ts
 * measures for every mechanism.
 *
 * Python 3 programs (python/shm.py) add a row to the semaphore ping-pongs and
 * the throughput where `python3` runs: `sysv_ipc.Semaphore` (where that
 * module is installed), `multiprocessing.Semaphore`, `mmap` slices. Pure
 * Python has no futex, so it has no futex ping-pong.
 *
 * Run: `deno task bench:compare:shm` (Linux; needs `cc`); also run by
 * `deno task bench:compare`. `--raw` also prints every sample.
 *
 * @module
 */
import {
  type ChildProcess,
  notify,
  PosixSemaphore,
  PosixSharedMemory,
  SemaphoreSet,
  spawn,
  wait,
  waitSync,
} from "../../mod.ts";
import {
  atInterrupt,
  cChildCpu,
  checkStatus,
  cPingPong,
  fixed,
  mark,
  type Measure,
  measure,
  type Mode,
  pingPongIntro,
  pingPongTable,
  placed,
  type Placement,
  placements,
  quick,
  RoundClock,
  type Row,
  row,
  runC,
  section,
  standalone,
  table,
  withC,
} from "./harness.ts";
import { pyPingPong, Python, type PythonRow, runPython } from "./python/python.ts";
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

const CHILD = new URL("shm_child.ts", import.meta.url);
/**
 * Throughput: bytes per round, timed rounds per run, untimed ones first. The
 * untimed rounds are many for the reason of the harness's WARMUP: after 30
 * (enough for the child's start-up) the waits' code had run 30 times, and the
 * async form moved 8 817 MiB/s on one CPU, where the next run of this driver,
 * after 3 000, gave 11 126 (medians of 3 runs).
 */
const COPY_SIZE = 1 << 20;
const COPY_ROUNDS = quick(300, 20);
const COPY_WARMUP = quick(3000, 3);
const MODES = ["raw", "sync", "async"] as const;

/** A page of anonymous shared memory (plus `extra` bytes of data) for a Deno child, as its fd 3. */
function page(extra = 0): PosixSharedMemory {
  return PosixSharedMemory.anonymous(DATA + extra);
}

/**
 * Starts shm_child.ts in `role`, placed, with SIGINT blocked (see msg_queue.ts's
 * `spawnChild`: a child that Ctrl-C ended would leave a futex or semaphore wait
 * here waiting for good); returns it.
 */
function child(where: Placement | undefined, shm: PosixSharedMemory, args: string[]) {
  const start = () => spawn(CHILD, { args, fds: { 3: shm }, blockSignals: ["SIGINT"] });
  return where === undefined ? start() : placed(where, start);
}

// ---------------------------------------------------------------- ping-pongs

type Kind = "futex" | "sysv" | "posix";

/** One ping-pong run of `kind` in `mode` against shm_child.ts: µs per round trip. */
function denoPingPong(kind: Kind, mode: Mode): Measure {
  return async (where, laps) => {
    using shm = page();
    const words = new Int32Array(shm.bytes.buffer, 0, 16);
    const set = kind === "sysv" ? SemaphoreSet.open("private", { count: 2 }) : undefined;
    // Ctrl-C finds a set by the last pid that operated on it: none has yet.
    const forget = atInterrupt(() => set?.remove());
    const theirs = kind === "posix"
      ? PosixSemaphore.init(shm.bytes.subarray(SEM, SEM + 32), 0)
      : undefined;
    const mine = kind === "posix"
      ? PosixSemaphore.init(shm.bytes.subarray(SEM2, SEM2 + 32), 0)
      : undefined;
    let c: ChildProcess | undefined;
    try {
      const clock = new RoundClock();
      const args = [`echo-${kind}-${mode}`, `${clock.total}`, ...(set ? [`${set.id}`] : [])];
      c = child(where, shm, args);
      const give = [{ index: 0, delta: 1 }];
      const take = [{ index: 1, delta: -1 }];
      const goPtr = wordPointer(words, GO);
      const theirsPtr = Deno.UnsafePointer.of(shm.bytes.subarray(SEM))!;
      const minePtr = Deno.UnsafePointer.of(shm.bytes.subarray(SEM2))!;
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        if (kind === "futex") {
          Atomics.store(words, GO, 2 * i + 1);
          if (mode === "raw") rawWake(goPtr);
          else notify(words, GO, 1);
          for (let v; (v = Atomics.load(words, GO)) !== 2 * i + 2;) {
            if (mode === "raw") rawWait(goPtr, v);
            else if (mode === "sync") waitSync(words, GO, v);
            else await wait(words, GO, v);
          }
        } else if (set !== undefined) {
          if (mode === "raw") {
            rawSemop(set.id, 0, 1);
            rawSemop(set.id, 1, -1);
          } else {
            set.opSync(give);
            if (mode === "sync") set.opSync(take);
            else await set.op(take);
          }
        } else if (mode === "raw") {
          rawSemPost(theirsPtr);
          rawSemWait(minePtr);
        } else {
          theirs!.post();
          if (mode === "sync") mine!.waitSync();
          else await mine!.wait();
        }
      }
      clock.tick(clock.total);
      await checkStatus(c.status, "shm_child.ts");
      return clock.laps(laps);
    } finally {
      forget();
      set?.remove();
      theirs?.close();
      mine?.close();
      if (c !== undefined) await c.status.catch(() => {});
    }
  };
}

/** What a Python program does per turn, in the row's note, where its name cannot say it. */
const PY_SYSV =
  "Python: two `sysv_ipc.Semaphore`, each a set of one where the others use one set " +
  "of two; one `semop` per turn all the same.";
const PY_POSIX = "Python: `multiprocessing.Semaphore` (fork context) is a process-shared `sem_t` " +
  "made by `sem_open` and unlinked at once; `acquire()` is `sem_trywait` then `sem_wait`, " +
  "`release()` is `sem_post`.";

const PING_PONGS: Array<
  {
    kind: Kind;
    title: string;
    command: string;
    c: string;
    lib: string;
    python: (py: Python) => PythonRow;
  }
> = [
  {
    kind: "futex",
    title: "futex word",
    command: "pingpong",
    c: "FUTEX_WAIT/WAKE",
    lib: "wait/notify",
    python: () => ({ rows: [], notes: ["Python: no row, pure Python has no futex."] }),
  },
  {
    kind: "sysv",
    title: "System V semaphores",
    command: "sysv",
    c: "semop",
    lib: "op",
    python: (py) =>
      py.row("sysv_ipc.Semaphore acquire/release", pyPingPong("shm.py", "sysv"), {
        needs: "sysv_ipc",
        about: PY_SYSV,
      }),
  },
  {
    kind: "posix",
    title: "POSIX semaphores",
    command: "posix",
    c: "sem_wait/sem_post",
    lib: "wait/post",
    python: (py) =>
      py.row("multiprocessing.Semaphore acquire/release", pyPingPong("shm.py", "posix"), {
        about: PY_POSIX,
      }),
  },
];

// ---------------------------------------------------------------- throughput

/** MiB/s of the same two copies in one process: the memory-speed limit. */
function inProcess(): Measure {
  return () => {
    const src = new Uint8Array(COPY_SIZE).fill(7);
    const mid = new Uint8Array(COPY_SIZE);
    const out = new Uint8Array(COPY_SIZE);
    const t0 = performance.now();
    for (let i = 0; i < COPY_ROUNDS; i++) {
      mid.set(src);
      out.set(mid);
    }
    return Promise.resolve(mib(performance.now() - t0));
  };
}

function mib(ms: number): number {
  return (COPY_SIZE * COPY_ROUNDS / 2 ** 20) / (ms / 1000);
}

/** One throughput run through shared memory against shm_child.ts: MiB/s. */
function denoCopy(mode: Mode): Measure {
  return async (where) => {
    using shm = page(COPY_SIZE);
    const words = new Int32Array(shm.bytes.buffer, 0, 16);
    const data = shm.bytes.subarray(DATA, DATA + COPY_SIZE);
    const src = new Uint8Array(COPY_SIZE).fill(7);
    let c: ChildProcess | undefined;
    try {
      c = child(where, shm, [`copy-${mode}`, `${COPY_WARMUP + COPY_ROUNDS}`, `${COPY_SIZE}`]);
      let t0 = 0;
      for (let i = 0; i < COPY_WARMUP + COPY_ROUNDS; i++) {
        if (i === COPY_WARMUP) t0 = performance.now();
        data.set(src);
        Atomics.store(words, GO, 2 * i + 1);
        notify(words, GO, 1);
        for (let v; (v = Atomics.load(words, GO)) !== 2 * i + 2;) {
          if (mode === "async") await wait(words, GO, v);
          else waitSync(words, GO, v);
        }
      }
      const rate = mib(performance.now() - t0);
      await checkStatus(c.status, "shm_child.ts");
      return rate;
    } finally {
      if (c !== undefined) await c.status.catch(() => {});
    }
  };
}

/** python/shm.py's copy: memoryview slices over a shared mmap, the turn by semaphores. */
function pyCopy(): Measure {
  return async (where) => {
    const args = ["copy", `${COPY_ROUNDS}`, `${COPY_WARMUP}`, `${COPY_SIZE}`, ...cChildCpu(where)];
    return mib(Number(await runPython("shm.py", args)) / 1e6);
  };
}

function cCopy(bin: string): Measure {
  return async (where) => {
    const out = await runC(bin, [
      "copy",
      `${COPY_ROUNDS}`,
      `${COPY_WARMUP}`,
      `${COPY_SIZE}`,
      ...cChildCpu(where),
    ]);
    return mib(Number(out) / 1e6);
  };
}

// ---------------------------------------------------------------- report

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const where = placements();
  const py = await Python.find();
  return await withC(["shm.c"], async ([bin]) => {
    const blocks: Array<string | string[]> = [];
    const allRows: Row[] = [];
    let seconds = 0;
    for (const p of PING_PONGS) {
      const names = {
        c: `C (fork; ${p.c})`,
        raw: `raw libc via Deno.dlopen (floor)`,
        sync: `@libc/ipc sync: ${p.lib}`,
        async: `@libc/ipc async: ${p.lib}`,
      };
      const python = p.python(py);
      const rows = [
        row(names.c, cPingPong(bin, p.command)),
        ...MODES.map((m) => row(names[m], denoPingPong(p.kind, m))),
        ...python.rows,
      ];
      seconds += await measure(rows, where);
      blocks.push(pingPongIntro("shared memory", `Ping-pong over ${p.title}`, "a turn, no data,"));
      blocks.push(pingPongTable(rows, where, names.c, { [names.sync]: 1.2, [names.async]: 2 }));
      blocks.push(...python.notes);
      allRows.push(...rows);
    }

    const pyCopyRow = py.row("mmap slices + multiprocessing.Semaphore", pyCopy(), {
      about: "Python: memoryview slice copies into and out of an anonymous shared `mmap`; " +
        "the turn goes by two `multiprocessing.Semaphore` (futex-based `sem_t`), not a futex word.",
    });
    const copyRows = [
      row("in one process: Uint8Array.set twice (memory speed)", inProcess()),
      row("C (fork; memcpy + futex)", cCopy(bin)),
      row("@libc/ipc sync: bytes.set + waitSync/notify", denoCopy("sync")),
      row("@libc/ipc async: bytes.set + await wait/notify", denoCopy("async")),
      ...pyCopyRow.rows,
    ];
    seconds += await measure(copyRows, where);
    blocks.push(
      `**Throughput**: ${COPY_SIZE / 2 ** 20} MiB written into shared memory by one process and ` +
        `copied out by the other per round, the turn handed over by futex; ${COPY_ROUNDS} rounds per run, ` +
        `after ${COPY_WARMUP} unmeasured ones.`,
    );
    blocks.push(
      table(copyRows, where, "MiB/s", 0, ["vs one process", "vs C", "goal"], (r, m, at) => {
        const self = m / at(copyRows[0].name);
        const isLib = r.name.startsWith("@libc/ipc");
        return [
          `${fixed(self, 2)}×`,
          `${fixed(m / at(copyRows[1].name), 2)}×`,
          isLib ? `≥ 0.8× ${mark(self >= 0.8)}` : "",
        ];
      }),
    );
    blocks.push(...pyCopyRow.notes);
    allRows.push(...copyRows);

    return section("Shared memory, futex and semaphores", seconds, blocks, allRows);
  });
}

if (import.meta.main) await standalone(main);
