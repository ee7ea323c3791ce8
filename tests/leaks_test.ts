/**
 * Leak soak: every family through hundreds of create → use → end cycles,
 * the error and cancel paths included (waits aborted, timed out, closed or
 * removed under, unref'd and ref'd while pending; opens refused with ENOENT,
 * EEXIST and EACCES; receives into too small a buffer; connects refused;
 * streams cancelled mid-read; children killed), then checks that the process
 * is back where it was before the cycles:
 *
 * - its descriptors, one by one (fd number and what it is open on);
 * - the registrations of every epoll instance (the library's and Deno's);
 * - no System V queue, segment or semaphore set, /dev/shm name or POSIX
 *   queue of its own left, nothing left in its directory (FIFOs, sockets);
 * - no child left, not even a zombie; no shared memory left mapped;
 * - no thread asleep in a call the library parks (msgrcv, semtimedop,
 *   futex_waitv, a FIFO's open, the library's epoll_wait), and the engine's
 *   own bookkeeping idle (`fdEngine.pending`, `threadsHeld()`);
 * - nothing pending on objects that outlive the cycles: a long-lived
 *   AbortSignal given to waits that complete keeps no abort listener, and a
 *   long-lived pipe and shared word keep no wait in their registries;
 * - threads: at most Deno's blocking pool more than at the baseline;
 * - and that the process then exits by itself: a wait left pending would keep
 *   it alive.
 *
 * Each family runs in a child of its own (tests/fixtures/leaks_soak.ts), so
 * that what it counts process-wide is its own alone while other test modules
 * run; the children run a few at a time. RSS growth is printed, not asserted.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SemaphoreSet, type SignalName } from "../mod.ts";
import { CANNOT, EMULATED, HANG_MS, readUntil, TestScope, unless, within } from "./_kernel.ts";
// What the child measures (a type only: importing it runs nothing).
import type { Snapshot } from "./fixtures/leaks_soak.ts";

interface Report {
  family: string;
  cycles: number;
  ms: number;
  start: Snapshot;
  baseline: Snapshot;
  after: Snapshot;
}

/**
 * Deno's blocking pool: up to 32 threads per isolate, started on demand and
 * ended after 10 s idle. The library holds at most 6 of them, but Deno starts
 * a new one whenever a blocking task comes while all are busy (a nudged call
 * still returning), so the count may grow by up to the pool's size and shrink
 * again at any time. So the baseline is taken after a warm-up of the same
 * cycles, not at zero, and only this bound is asserted; what proves that no
 * thread is kept is `blocked` (no thread asleep in a call of the library) and
 * `threadsHeld()` back at 0.
 */
const DENO_BLOCKING_POOL = 32;

/** Children running at once: they mostly wait (timeouts, timers, other processes). */
const CONCURRENCY = 4;
/** A hang guard for a whole child's run, not a timing check. */
const CHILD_MS = EMULATED ? 600_000 : 120_000;
/**
 * Under emulation every cycle runs tens of times slower: a tenth of them still
 * shows any leak, since each check compares exact fds and kernel objects.
 */
const CYCLE_SCALE = EMULATED ? 0.1 : 1;

interface Family {
  cycles: number;
  blockSignals?: SignalName[];
}

const FAMILIES: Record<string, Family> = {
  pipe: { cycles: 300 },
  fifo: { cycles: 250 },
  "sysv-queue": { cycles: 300 },
  "posix-queue": { cycles: 300 },
  "sysv-shm": { cycles: 300 },
  "posix-shm": { cycles: 200 },
  "sysv-sem": { cycles: 300 },
  "posix-sem": { cycles: 300 },
  futex: { cycles: 300 },
  "unix-stream": { cycles: 200 },
  "unix-seqpacket": { cycles: 200 },
  "unix-datagram": { cycles: 250 },
  socketpair: { cycles: 250 },
  tcp: { cycles: 250 },
  signals: { cycles: 300, blockSignals: ["SIGUSR1", "SIGRTMIN+1"] },
  spawn: { cycles: 200 },
  "record-locks": { cycles: 250 },
};

/** Runs `tasks` with at most `n` at once; each result as its own promise, in order. */
function limited<T>(n: number, tasks: Array<() => Promise<T>>): Promise<T>[] {
  let running = 0;
  const waiting: Array<() => void> = [];
  const slot = () =>
    running < n ? (running++, Promise.resolve()) : new Promise<void>((go) => waiting.push(go));
  // A finished task hands its slot to the next one waiting.
  const release = () => waiting.length > 0 ? waiting.shift()!() : running--;
  return tasks.map(async (task) => {
    await slot();
    try {
      return await task();
    } finally {
      release();
    }
  });
}

/**
 * The System V keys of this run: a block of 256 for each child, apart from
 * one another, and almost surely from the random keys of other test modules
 * and of other runs.
 */
const KEYS = 0x1000 + (crypto.getRandomValues(new Uint32Array(1))[0] & 0x7fffe000);

/** Runs one family's soak in a child and returns its report; the child must exit 0 by itself. */
async function soak(name: string, family: Family, keys: number): Promise<Report> {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-leaks-");
  const out = s.pipe();
  const child = s.fixture("leaks_soak.ts", {
    args: [name, dir, String(Math.ceil(family.cycles * CYCLE_SCALE)), String(keys)],
    fds: { 1: out.writer },
    flags: ["--allow-ffi", `--allow-read=${dir}`, `--allow-write=${dir}`],
    // No update check: it would open sockets of Deno's own at any time.
    env: { ...Deno.env.toObject(), DENO_NO_UPDATE_CHECK: "1" },
    blockSignals: family.blockSignals,
  });
  out.writer.close();
  try {
    const line = await s.check(() => readUntil(out.reader, "\n", CHILD_MS));
    // With its report written, it must exit by itself: a wait left pending would keep it alive.
    await child.exits(0, line);
    assert.deepEqual([...Deno.readDirSync(dir)], [], `${name}: files left in ${dir}`);
    return JSON.parse(line);
  } finally {
    // A child that failed mid-cycle leaves its POSIX names: they carry its pid.
    try {
      child.child.kill("SIGKILL");
    } catch {
      // it has ended and been reaped
    }
    await child.child.status;
    removeNamesOf(child.pid);
  }
}

/** Removes the POSIX shared memory, semaphores and queues a soak child of `pid` made. */
function removeNamesOf(pid: number): void {
  const mine = (name: string) => name.includes(`libc-ipc-leaks-${pid}-`);
  for (const dir of ["/dev/shm", "/dev/mqueue"]) {
    try {
      for (const e of Deno.readDirSync(dir)) if (mine(e.name)) Deno.removeSync(`${dir}/${e.name}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** The long-lived signal, pipe and word every cycle waits on: nothing pending left on them. */
const KEPT_IDLE = { signalListeners: 0, readerWaits: 0, writerWaits: 0, memoryWaits: 0 };

/**
 * The fds the warm-up may add: the engine's epoll instance and eventfd, and the
 * descriptor it keeps in reserve for /proc (on /dev/null), made once.
 */
const ENGINE_FDS = new Set(["anon_inode:[eventpoll]", "anon_inode:[eventfd]", "/dev/null"]);

/** Asserts that the child is back at its baseline, and that the baseline itself holds nothing. */
function assertBackToBaseline({ family, start, baseline, after }: Report): void {
  const at = (what: string) => `${family}: ${what}`;
  assert.deepEqual(after.fds, baseline.fds, at("descriptors differ from the baseline"));
  assert.deepEqual(after.epoll, baseline.epoll, at("epoll registrations differ"));
  for (const s of [baseline, after]) {
    assert.deepEqual(s.sysv, [], at("System V objects left"));
    assert.deepEqual(s.names, [], at("POSIX names left (/dev/shm, queues)"));
    assert.deepEqual(s.dir, [], at("files left in its directory"));
    assert.deepEqual(s.children, [], at("children left (zombies?)"));
    assert.deepEqual(s.sharedMappings, [], at("shared memory left mapped"));
    assert.deepEqual(s.blocked, [], at("threads left in the library's calls"));
    assert.deepEqual(s.engine, { fdWaits: 0, threadsHeld: 0 }, at("the engine is not idle"));
    assert.deepEqual(s.kept, KEPT_IDLE, at("waits still accounted for on long-lived objects"));
  }
  assert.ok(
    after.threads.total <= baseline.threads.total + DENO_BLOCKING_POOL,
    at(`threads ${JSON.stringify(baseline.threads)} -> ${JSON.stringify(after.threads)}`),
  );
  // The warm-up adds the engine's own fds, and Deno's helper socketpair (see the fixture).
  const added = Object.entries(baseline.fds).filter(([fd, t]) => start.fds[Number(fd)] !== t)
    .map(([, t]) => t);
  const unexpected = added.filter((t) => !ENGINE_FDS.has(t) && !t.startsWith("socket:"));
  assert.deepEqual(unexpected, [], at("the warm-up left descriptors"));
  assert.ok(added.filter((t) => t.startsWith("socket:")).length <= 2, at(`warm-up: ${added}`));
}

// The cycles check waits seen parked, and whole descriptor tables.
Deno.test(unless(
  CANNOT.parking ?? CANNOT.fdTables,
  "leaks: every family returns to its baseline after its cycles",
  async (t) => {
    const names = Object.keys(FAMILIES);
    const reports = limited(
      CONCURRENCY,
      names.map((name, i) => () => soak(name, FAMILIES[name], KEYS + 256 * i)),
    );
    // Every child is awaited (and its scope disposed) even when a step fails first.
    const settled = Promise.allSettled(reports);
    try {
      for (const [i, name] of names.entries()) {
        await t.step(name, async () => {
          const report = await reports[i];
          assertBackToBaseline(report);
          const grew = report.after.rssKiB - report.baseline.rssKiB;
          console.log(
            `${name}: ${report.cycles} cycles in ${report.ms} ms; RSS ${report.baseline.rssKiB} -> ` +
              `${report.after.rssKiB} KiB (${(grew / report.cycles).toFixed(1)} KiB per cycle); ` +
              `threads ${report.baseline.threads.total} -> ${report.after.threads.total}`,
          );
        });
      }
    } finally {
      await settled;
    }
  },
));

// A wait's `timeout` must not keep the process alive when its handle is
// unref'd: the deadline's timer is unref'd with it (it once was an ordinary
// setTimeout, and the process lived on until the timeout passed).
Deno.test("an unref'd handle's wait with a timeout lets the process exit", async () => {
  await using s = new TestScope();
  const queue = s.messageQueue();
  const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1 }));
  const lockFile = `${await s.tempDir()}/lock`;
  Deno.writeFileSync(lockFile, new Uint8Array());
  const families: Record<string, string[]> = {
    pipe: [],
    futex: [],
    "sysv-queue": [String(queue.id)],
    "sysv-sem": [String(set.id)],
    lock: [lockFile],
  };
  const keptAlive = await Promise.all(
    Object.entries(families).map(async ([family, args]) => {
      const out = s.pipe();
      const f = s.fixture("leaks_unref_timeout.ts", {
        args: [family, ...args],
        fds: { 1: out.writer },
      });
      out.writer.close();
      assert.equal(await f.check(() => readUntil(out.reader, "\n")), "pending\n");
      // A hang guard: it exits at once by itself, or an hour later (the scope kills it).
      const status = await within(f.child.status, `${f.label} to exit`, HANG_MS / 2)
        .catch(() => undefined);
      if (status === undefined) return family;
      assert.equal(status.code, 0, f.stderr());
      return undefined;
    }),
  );
  assert.deepEqual(keptAlive.filter((f) => f !== undefined), [], "kept alive by a timeout");
});
