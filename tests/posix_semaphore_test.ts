/**
 * PosixSemaphore: named semaphores (sem_open) and unnamed ones in shared
 * memory (sem_init), against the kernel and against glibc itself: a C program
 * (tests/fixtures/posix_sem_peer.c, compiled here with `cc`) posts to and
 * waits on the same semaphores, and Deno children wait while we post.
 *
 * The semaphore's word is read through views of the tests' own (the shared
 * memory's bytes, or a mapping of /dev/shm/sem.<name> made with the tests'
 * libc): value in the low 32 bits, waiters counted in the high 32 (glibc).
 */
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import {
  type FdSource,
  IpcError,
  PosixSemaphore,
  PosixSharedMemory,
  SharedMemory,
  spawnProgram,
} from "../mod.ts";
import {
  blockedIn,
  CANNOT,
  commandOutput,
  type CommandResult,
  cstr,
  devShm,
  errno,
  libc,
  readProcFile,
  runCollect,
  syscallNumbers,
  systemError,
  TestScope,
  threadsBlockedIn,
  threadStates,
  unless,
  until,
  within,
} from "./_kernel.ts";

const SEM_VALUE_MAX = 2 ** 31 - 1;
const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
const PROT_RW = 0x1 | 0x2;
const MAP_SHARED = 0x01;

/** The semaphore's 64-bit word as this test reads it: value and waiter count. */
interface Word {
  value(): number;
  waiters(): number;
}

function wordOver(words: Uint32Array): Word {
  return { value: () => Atomics.load(words, 0), waiters: () => Atomics.load(words, 1) };
}

/** The word of an unnamed semaphore at `offset` of `shm`. */
function shmWord(shm: { bytes: Uint8Array }, offset = 0): Word {
  return wordOver(new Uint32Array(shm.bytes.buffer, shm.bytes.byteOffset + offset, 2));
}

/** The word of a named semaphore, through a mapping of /dev/shm/sem.<name> of the tests' own. */
class NamedWord implements Word, Disposable {
  readonly #ptr: Deno.PointerObject;
  readonly #words: Uint32Array;

  constructor(name: string) {
    const fd = libc.open(cstr(`/dev/shm/sem.${name.slice(1)}`), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) throw new Error(`open /dev/shm/sem.${name.slice(1)}: errno ${errno()}`);
    const p = libc.mmap(null, 32n, PROT_RW, MAP_SHARED, fd, 0n);
    libc.close(fd);
    if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
      throw new Error(`mmap: errno ${errno()}`);
    }
    this.#ptr = p;
    this.#words = new Uint32Array(Deno.UnsafePointerView.getArrayBuffer(p, 32));
  }

  value(): number {
    return Atomics.load(this.#words, 0);
  }

  waiters(): number {
    return Atomics.load(this.#words, 1);
  }

  [Symbol.dispose](): void {
    (this.#words.buffer as ArrayBuffer).transfer();
    libc.munmap(this.#ptr, 32n);
  }
}

/** The file glibc keeps a named semaphore in. */
const fileOf = (name: string) => `/dev/shm/sem.${name.slice(1)}`;
const modeOf = (name: string) => Deno.statSync(fileOf(name)).mode! & 0o777;
/**
 * How many mappings of a named semaphore's file this process has, found by
 * its inode: glibc maps a semaphore it creates under a temporary name.
 */
function mappingsOf(name: string): number {
  const ino = String(Deno.statSync(fileOf(name)).ino);
  return readProcFile("/proc/self/maps").split("\n")
    .filter((l) => l.split(/\s+/)[4] === ino && l.includes("/dev/shm/sem.")).length;
}

/** Whether a thread of this process is parked in futex_waitv over `words` words (and the engine's cancel word). */
const parkedOver = (words: number) =>
  threadsBlockedIn(Deno.pid, { syscall: "futex_waitv", args: { 1: words + 1 } }).length;

function named(s: TestScope, options: { value?: number; mode?: number } = {}): PosixSemaphore {
  return s.handle(
    PosixSemaphore.open(s.semName(), { create: true, exclusive: true, ...options }),
  );
}

// ------------------------------------------------------------------ C peer

const PEER_SOURCE = new URL("./fixtures/posix_sem_peer.c", import.meta.url);

/** Compiles the C peer into `dir`; undefined when there is no C compiler. */
async function compilePeer(dir: string): Promise<string | undefined> {
  const out = `${dir}/posix_sem_peer`;
  let r: CommandResult;
  try {
    r = await commandOutput("cc", { args: ["-O2", "-Wall", "-o", out, PEER_SOURCE.pathname] });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  assert.ok(r.success, `cc failed: ${r.stderr}`);
  return out;
}

/**
 * Runs the C peer: `post` or `wait` n times on `target`, a semaphore name or
 * shared memory (handed over as fd 3) with one at its start; collects its stdout.
 */
function runPeer(
  s: TestScope,
  peer: string,
  op: "post" | "wait",
  n: number,
  target: string | PosixSharedMemory,
): ReturnType<typeof runCollect> {
  const named = typeof target === "string";
  return runCollect((stdout, stderr) => {
    const fds: Record<number, FdSource> = { 1: stdout, 2: stderr };
    if (!named) fds[3] = target;
    return s.child(spawnProgram(peer, [op, String(n), named ? target : "fd"], { fds }));
  });
}

// ------------------------------------------------------------------ random aborts

const REASON = new Error("random abort");

/** Aborts `ac` at a random moment soon (timer, setImmediate, a few microtasks) or never; returns the undo. */
function abortAtRandom(ac: AbortController): () => void {
  const r = Math.random();
  if (r < 0.25) {
    const t = setTimeout(() => ac.abort(REASON), Math.random() * 2);
    return () => clearTimeout(t);
  }
  if (r < 0.45) {
    const t = setImmediate(() => ac.abort(REASON));
    return () => clearInterval(t as unknown as number);
  }
  if (r < 0.6) {
    let live = true;
    (async () => {
      for (let i = Math.floor(Math.random() * 8); i > 0; i--) await null;
      if (live) ac.abort(REASON);
    })();
    return () => live = false;
  }
  return () => {};
}

/** Async waits with random aborts, on `sem`, until stopped; `onTake` runs for each token taken. */
class Takers {
  taken = 0;
  aborted = 0;
  #stop = false;
  #active = new Set<AbortController>();
  #loops: Promise<void>[];

  constructor(sem: PosixSemaphore, n: number, onTake: () => void = () => {}) {
    this.#loops = Array.from({ length: n }, async () => {
      while (!this.#stop) {
        const ac = new AbortController();
        this.#active.add(ac);
        const undo = abortAtRandom(ac);
        try {
          await sem.wait({ signal: ac.signal });
          this.taken++;
          onTake();
        } catch (e) {
          if (e !== REASON) throw e;
          this.aborted++;
        } finally {
          undo();
          this.#active.delete(ac);
        }
      }
    });
  }

  /** Aborts every wait and waits for the loops to end. */
  async stop(): Promise<void> {
    this.#stop = true;
    for (const ac of this.#active) ac.abort(REASON);
    await within(Promise.all(this.#loops), "the waits to end");
  }
}

/** A random pause: a few microtasks, a setImmediate turn, or a short timer. */
function pause(): Promise<void> {
  const r = Math.random();
  if (r < 0.6) return Promise.resolve();
  if (r < 0.9) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => setTimeout(resolve, Math.random()));
}

// ================================================================== tests

Deno.test("PosixSemaphore named: value, post, tryWait, modes, unlink", async (t) => {
  await using s = new TestScope();

  await t.step("post adds a token, tryWait takes one, WouldBlock at 0", () => {
    const sem = named(s, { value: 2 });
    assert.equal(sem.value, 2);
    using w = new NamedWord(sem.name!);
    sem.tryWait();
    sem.tryWait();
    assert.equal(w.value(), 0);
    assert.throws(
      () => sem.tryWait(),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "sem_trywait", { path: sem.name! }),
    );
    sem.post();
    assert.deepEqual([sem.value, w.value()], [1, 1]);
  });

  await t.step("post at SEM_VALUE_MAX is EOVERFLOW and leaves the value", () => {
    const sem = named(s, { value: SEM_VALUE_MAX });
    assert.throws(() => sem.post(), (e: unknown) => {
      assert.ok(e instanceof IpcError, String(e));
      assert.deepEqual([e.code, e.errno, e.syscall, e.path], [
        "EOVERFLOW",
        75,
        "sem_post",
        sem.name,
      ]);
      return true;
    });
    assert.equal(sem.value, SEM_VALUE_MAX);
  });

  await t.step("mode 0600 by default; a mode asked for is set exactly, whatever the umask", () => {
    assert.equal(modeOf(named(s).name!), 0o600);
    const umask = Deno.umask();
    assert.equal(modeOf(named(s, { mode: 0o666 }).name!), 0o666, `umask ${umask.toString(8)}`);
    assert.equal(modeOf(named(s, { mode: 0o440 }).name!), 0o440);
  });

  await t.step(
    "opening an existing one keeps its mode and value; exclusive is AlreadyExists",
    () => {
      const sem = named(s, { value: 3, mode: 0o640 });
      using again = PosixSemaphore.open(sem.name!, { create: true, value: 9, mode: 0o600 });
      assert.deepEqual([again.value, modeOf(sem.name!)], [3, 0o640]);
      assert.throws(
        () => PosixSemaphore.open(sem.name!, { create: true, exclusive: true }),
        systemError(Deno.errors.AlreadyExists, "EEXIST", "sem_open", { path: sem.name! }),
      );
    },
  );

  await t.step(
    "a missing one is NotFound; unlink removes the name, open handles keep working",
    () => {
      const name = s.semName();
      assert.throws(
        () => PosixSemaphore.open(name),
        systemError(Deno.errors.NotFound, "ENOENT", "sem_open", { path: name }),
      );
      using sem = PosixSemaphore.open(name, { create: true });
      assert.ok(devShm().includes(`sem.${name.slice(1)}`));
      PosixSemaphore.unlink(name);
      assert.ok(!devShm().includes(`sem.${name.slice(1)}`));
      assert.throws(
        () => PosixSemaphore.unlink(name),
        systemError(Deno.errors.NotFound, "ENOENT", "sem_unlink", { path: name }),
      );
      sem.post();
      sem.tryWait();
    },
  );

  await t.step(
    "names of up to 252 bytes (with the '/'): glibc's 'sem.' + name is one file name",
    () => {
      const base = s.semName();
      const longest = s.semName(base + "x".repeat(252 - base.length));
      using sem = PosixSemaphore.open(longest, { create: true, exclusive: true });
      assert.equal(sem.name, longest);
      assert.throws(() => PosixSemaphore.open(longest + "x", { create: true }), RangeError);
    },
  );

  await t.step("two handles of one name share glibc's one mapping until both are closed", () => {
    const sem = named(s);
    const other = PosixSemaphore.open(sem.name!);
    assert.equal(mappingsOf(sem.name!), 1);
    other.post();
    other.close();
    assert.equal(sem.value, 1, "the first handle works on after the second is closed");
    sem.tryWait();
    sem.close();
    assert.equal(mappingsOf(sem.name!), 0, "the last sem_close unmaps it");
  });

  await t.step(
    "use after close is BadResource naming the semaphore; close twice does nothing",
    async () => {
      const sem = named(s);
      sem.close();
      sem.close();
      assert.equal(sem.closed, true);
      const closed = (syscall: string) =>
        systemError(Deno.errors.BadResource, "EBADF", syscall, { path: sem.name! });
      assert.throws(() => sem.post(), closed("sem_post"));
      assert.throws(() => sem.tryWait(), closed("sem_trywait"));
      assert.throws(() => sem.waitSync(), closed("sem_wait"));
      assert.throws(() => sem.value, closed("sem_getvalue"));
      await assert.rejects(sem.wait(), closed("sem_wait"));
      assert.throws(() => sem.destroy(), TypeError, "destroy() is for unnamed semaphores");
    },
  );
});

Deno.test("PosixSemaphore refuses bad arguments before any system call", async (t) => {
  await using s = new TestScope();

  await t.step("names and options", () => {
    const before = devShm();
    for (const bad of ["", "x", "/a/b", "/.", "/..", "/a\0b", 7]) {
      assert.throws(() => PosixSemaphore.open(bad as string, { create: true }), TypeError);
    }
    for (const bad of ["/", "/" + "x".repeat(252)]) {
      assert.throws(() => PosixSemaphore.open(bad, { create: true }), RangeError);
    }
    const name = s.semName();
    const open = (options: unknown) =>
      PosixSemaphore.open(name, options as Record<string, unknown>);
    for (const value of [-1, 1.5, SEM_VALUE_MAX + 1, NaN]) {
      assert.throws(() => open({ create: true, value }), RangeError);
    }
    assert.throws(() => open({ create: true, value: "1" }), TypeError);
    assert.throws(() => open({ create: true, mode: 0o1000 }), RangeError);
    assert.throws(() => open({ create: "yes" }), TypeError);
    assert.throws(() => open({ exclusive: true }), TypeError);
    assert.throws(() => open(null), TypeError);
    assert.throws(() => PosixSemaphore.unlink("nope"), TypeError);
    assert.deepEqual(devShm(), before, "nothing was created");
  });

  await t.step("views: over shared memory, 8-byte aligned, 32 bytes or more", () => {
    using shm = s.handle(PosixSharedMemory.anonymous(4096));
    assert.throws(
      () => PosixSemaphore.init(new Uint8Array(64), 0),
      TypeError,
      "not over shared memory",
    );
    assert.throws(
      () => PosixSemaphore.init(new DataView(shm.bytes.buffer) as unknown as Uint8Array, 0),
      TypeError,
    );
    assert.throws(() => PosixSemaphore.init(shm.bytes.subarray(4), 0), RangeError, "8-byte");
    assert.throws(() => PosixSemaphore.init(shm.bytes.subarray(0, 31), 0), RangeError, "32 bytes");
    for (const value of [-1, 0.5, SEM_VALUE_MAX + 1]) {
      assert.throws(() => PosixSemaphore.init(shm.bytes, value), RangeError);
    }
    // What a view says of itself is not where it is: redefined, it changes nothing.
    const lying = shm.bytes.subarray(64, 96);
    Object.defineProperty(lying, "byteOffset", { value: 2 ** 40 });
    const plain = new Uint8Array(64);
    Object.defineProperty(plain, "buffer", { value: shm.bytes.buffer });
    assert.throws(() => PosixSemaphore.init(plain, 0), TypeError, "not inside the shared memory");
    assert.ok(shm.bytes.every((b) => b === 0), "no sem_init happened");
    assert.throws(() => PosixSemaphore.at(shm.bytes), TypeError, "no process-shared semaphore");
    using placed = PosixSemaphore.init(lying, 3);
    assert.equal(new Uint32Array(shm.bytes.buffer, 64, 1)[0], 3, "the sem_t is where the view is");
    placed.destroy();
  });

  await t.step("wait options", async () => {
    const sem = named(s);
    await assert.rejects(sem.wait({ timeout: -1 }), RangeError);
    await assert.rejects(sem.wait({ signal: 1 as unknown as AbortSignal }), TypeError);
    assert.throws(() => sem.waitSync({ timeout: NaN }), RangeError);
  });
});

Deno.test("PosixSemaphore unnamed: init, at, destroy, and the shared memory's close", async (t) => {
  await using s = new TestScope();

  await t.step("init in PosixSharedMemory, at() from another handle, destroy", () => {
    const shm = s.handle(PosixSharedMemory.anonymous(4096));
    const sem = PosixSemaphore.init(shm.bytes.subarray(64), 2);
    assert.equal(sem.name, null);
    const word = shmWord(shm, 64);
    assert.equal(word.value(), 2);
    using same = PosixSemaphore.at(shm.bytes.subarray(64, 96));
    same.tryWait();
    assert.deepEqual([sem.value, word.value()], [1, 1]);
    same.tryWait();
    // Errors name the shared memory the semaphore lives in.
    assert.throws(
      () => same.tryWait(),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "sem_trywait", { fd: shm.fd }),
    );
    sem.post();
    sem.destroy();
    assert.equal(sem.closed, true);
    assert.throws(() => sem.post(), systemError(Deno.errors.BadResource, "EBADF", "sem_post"));
    assert.throws(
      () => sem.destroy(),
      systemError(Deno.errors.BadResource, "EBADF", "sem_destroy"),
    );
  });

  await t.step("init in System V shared memory", () => {
    const seg = s.segment(SharedMemory.open("private", { size: 4096 }));
    using sem = PosixSemaphore.init(seg.bytes, 0);
    sem.post();
    assert.equal(shmWord(seg).value(), 1);
  });

  await t.step("post at SEM_VALUE_MAX is EOVERFLOW", () => {
    const shm = s.handle(PosixSharedMemory.anonymous(64));
    using sem = PosixSemaphore.init(shm.bytes, SEM_VALUE_MAX);
    assert.throws(() => sem.post(), { name: "IpcError", code: "EOVERFLOW", syscall: "sem_post" });
  });

  await t.step(
    "closing the shared memory closes the semaphore, cancels and counts out its waits",
    async () => {
      // Two attachments of one segment: the second sees the word after the first is gone.
      const seg = s.segment(SharedMemory.open("private", { size: 4096 }));
      const other = s.handle(SharedMemory.fromId(seg.id));
      const sem = PosixSemaphore.init(seg.bytes, 0);
      const word = shmWord(other);
      const pending = [sem.wait(), sem.wait()];
      await until(() => word.waiters() === 2, "two waits counted in");
      seg.close();
      // Both at once: with a FUTEX_WAIT per wait (no futex_waitv) they may settle turns apart.
      await Promise.all(pending.map((p) =>
        assert.rejects(
          p,
          systemError(Deno.errors.BadResource, "EBADF", "sem_wait", "shared memory"),
        )
      ));
      assert.equal(word.waiters(), 0, "counted out before the memory went");
      assert.equal(sem.closed, true);
      assert.throws(() => sem.post(), systemError(Deno.errors.BadResource, "EBADF", "sem_post"));
      assert.throws(() => sem.value, Deno.errors.BadResource);
      using again = PosixSemaphore.at(other.bytes);
      again.post();
      assert.equal(word.value(), 1);
    },
  );
});

Deno.test("PosixSemaphore waits: async, sync, timeouts, aborts, close", async (t) => {
  await using s = new TestScope();

  for (const kind of ["named", "unnamed"] as const) {
    const make = (value = 0): { sem: PosixSemaphore; word: Word } => {
      if (kind === "named") {
        const sem = named(s, { value });
        return { sem, word: s.handle(new NamedWord(sem.name!)) };
      }
      const shm = s.handle(PosixSharedMemory.anonymous(64));
      return { sem: s.handle(PosixSemaphore.init(shm.bytes, value)), word: shmWord(shm) };
    };

    await t.step(
      unless(
        CANNOT.futexWaitv,
        `${kind}: an async wait parks counted in, and takes what a post adds`,
        async () => {
          const { sem, word } = make();
          const pending = sem.wait();
          await until(() => word.waiters() === 1 && parkedOver(1) > 0, "the wait parked");
          sem.post();
          await within(pending, "the wait");
          assert.deepEqual([word.value(), word.waiters()], [0, 0]);
        },
      ),
    );

    await t.step(`${kind}: timeouts are TimedOut naming the semaphore, nothing taken`, async () => {
      const { sem, word } = make();
      const where = kind === "named" ? { path: sem.name! } : undefined;
      await assert.rejects(
        sem.wait({ timeout: 15 }),
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "sem_wait", where),
      );
      assert.throws(
        () => sem.waitSync({ timeout: 15 }),
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "sem_wait", where),
      );
      assert.deepEqual([word.value(), word.waiters()], [0, 0]);
      sem.post();
      sem.waitSync({ timeout: 2 ** 31 + 5 });
      assert.equal(word.value(), 0);
    });

    await t.step(`${kind}: an abort rejects with its reason and counts the wait out`, async () => {
      const { sem, word } = make();
      const ac = new AbortController();
      const pending = sem.wait({ signal: ac.signal });
      await until(() => word.waiters() === 1, "the wait counted in");
      ac.abort("stop");
      await assert.rejects(pending, (e) => e === "stop");
      assert.equal(word.waiters(), 0);
      // An aborted signal takes nothing, even when a token is there.
      sem.post();
      await assert.rejects(sem.wait({ signal: ac.signal }), (e) => e === "stop");
      assert.equal(word.value(), 1);
    });

    await t.step(`${kind}: close() cancels pending waits, each with BadResource`, async () => {
      const { sem, word } = make();
      const pending = [sem.wait(), sem.wait({ timeout: 60_000 })];
      await until(() => word.waiters() === 2, "both waits counted in");
      sem.close();
      const where = kind === "named" ? { path: sem.name! } : undefined;
      // Both observed at once: each wait settles when its own park ends, in either order.
      const errors = await Promise.all(pending.map(async (p) => {
        let error: unknown;
        await assert.rejects(p, (e) => {
          error = e;
          return systemError(Deno.errors.BadResource, "EBADF", "sem_wait", where)(e);
        });
        return error;
      }));
      assert.notEqual(errors[0], errors[1], "an error of its own each");
      if (kind === "named") {
        using again = PosixSemaphore.open(sem.name!);
        assert.equal(again.value, 0);
      }
      assert.equal(word.waiters(), 0);
    });
  }

  await t.step(
    unless(
      CANNOT.futexWaitv,
      "many async waits on many semaphores share one parked futex_waitv",
      async () => {
        const shm = s.handle(PosixSharedMemory.anonymous(4096));
        const unnamed = Array.from(
          { length: 60 },
          (_, i) => s.handle(PosixSemaphore.init(shm.bytes.subarray(64 * i), 0)),
        );
        const sems = [...unnamed, named(s), named(s), named(s)];
        const waits = sems.map((sem) => sem.wait());
        await until(
          () => parkedOver(sems.length) === 1,
          `one futex_waitv over ${sems.length} words`,
        );
        for (const sem of sems) {
          sem.post();
        }
        await within(Promise.all(waits), "every wait");
        await until(() => parkedOver(sems.length) === 0, "nothing parked any more");
        assert.ok(unnamed.every((_, i) => shmWord(shm, 64 * i).value() === 0));
      },
    ),
  );
});

Deno.test("PosixSemaphore: a Deno child waits (async, sync, sync with a timeout) while the parent posts", async (t) => {
  for (const kind of ["named", "unnamed"] as const) {
    for (const form of ["async", "sync", "sync-timeout"] as const) {
      await t.step(
        unless(form === "async" ? CANNOT.futexWaitv : undefined, `${kind}, ${form}`, async () => {
          await using s = new TestScope();
          let sem: PosixSemaphore;
          let word: Word;
          let shm: PosixSharedMemory | undefined;
          if (kind === "named") {
            sem = named(s);
            word = s.handle(new NamedWord(sem.name!));
          } else {
            shm = s.handle(PosixSharedMemory.anonymous(4096));
            sem = s.handle(PosixSemaphore.init(shm.bytes, 0));
            word = shmWord(shm);
          }
          const n = 3;
          const child = s.fixture("posix_sem_child.ts", {
            args: [form, String(n), sem.name ?? "fd"],
            fds: shm === undefined ? {} : { 3: shm },
          });
          await s.check(async () => {
            await until(() => word.waiters() === 1, "the child counted itself in");
            if (form === "async") await blockedIn(child.pid, { syscall: "futex_waitv" });
            else {
              // glibc's futex wait, with a timeout (argument 3) only for sem_clockwait.
              const timed = form === "sync-timeout";
              await until(() => {
                const main = threadStates(child.pid)?.find((t) => t.tid === child.pid);
                return main !== undefined && main.wchan !== "0" &&
                  syscallNumbers("futex").includes(main.syscall!) &&
                  (main.args[3] !== 0n) === timed;
              }, `the child's main thread asleep in futex ${timed ? "with" : "without"} a timeout`);
            }
            for (let i = 0; i < n; i++) {
              if (i > 0) await until(() => word.waiters() === 1, "the child waits again");
              sem.post();
            }
            await child.exits(0);
            assert.deepEqual([word.value(), word.waiters()], [0, 0]);
          });
        }),
      );
    }
  }
});

const CC_MISSING =
  "no C compiler (cc): the interoperation with glibc's own sem_post/sem_wait is not tested";

Deno.test("PosixSemaphore interoperates with a C program's sem_post and sem_wait, token for token", async (t) => {
  await using s = new TestScope();
  const peer = await compilePeer(await s.tempDir());
  if (peer === undefined) {
    console.warn(CC_MISSING);
    return;
  }

  for (const kind of ["named", "unnamed"] as const) {
    const make = (): { sem: PosixSemaphore; word: Word; shm?: PosixSharedMemory } => {
      if (kind === "named") {
        const sem = named(s);
        return { sem, word: s.handle(new NamedWord(sem.name!)) };
      }
      const shm = s.handle(PosixSharedMemory.anonymous(4096));
      return { sem: s.handle(PosixSemaphore.init(shm.bytes, 0)), word: shmWord(shm), shm };
    };

    await t.step(`${kind}: our aborted-at-random waits take what C posts`, async () => {
      const { sem, word, shm } = make();
      const n = 3000;
      const run = runPeer(s, peer, "post", n, sem.name ?? shm!);
      const takers = new Takers(sem, 6);
      const { status, stdout } = await run;
      await takers.stop();
      assert.ok(status.success, JSON.stringify(status));
      assert.equal(stdout, `posted ${n}\n`);
      const left = word.value();
      assert.equal(takers.taken + left, n, `taken ${takers.taken} + left ${left} = posted ${n}`);
      assert.ok(takers.aborted > 0, "some waits were aborted");
      assert.equal(word.waiters(), 0, "every wait counted itself out");
      for (let i = 0; i < left; i++) sem.tryWait();
      assert.throws(() => sem.tryWait(), Deno.errors.WouldBlock);
    });

    await t.step(
      `${kind}: C's sem_wait takes what we post, while our waits compete and abort`,
      async () => {
        const { sem, word, shm } = make();
        const n = 2000;
        const run = runPeer(s, peer, "wait", n, sem.name ?? shm!);
        // Ours give back every token they take: C needs all n.
        const takers = new Takers(sem, 4, () => sem.post());
        for (let i = 0; i < n; i++) {
          sem.post();
          await pause();
        }
        // No more posts of ours: a token stranded while C sleeps would hang C now.
        await takers.stop();
        const { status, stdout } = await run;
        assert.ok(status.success, JSON.stringify(status));
        assert.equal(stdout, `took ${n}\n`);
        assert.equal(
          word.value(),
          0,
          `posted ${n} + ${takers.taken} given back = taken by C and us`,
        );
        assert.equal(word.waiters(), 0);
        assert.ok(takers.aborted > 0, "some waits were aborted");
      },
    );

    await t.step(
      unless(
        CANNOT.futexWaitv,
        `${kind}: a wait cancelled around a post passes the wake on to a C waiter`,
        async () => {
          const { sem, word, shm } = make();
          for (let i = 0; i < 60; i++) {
            // Ours parks first, so the kernel wakes it first (futex queues are FIFO).
            const ac = new AbortController();
            const ours = sem.wait({ signal: ac.signal });
            await until(() => word.waiters() === 1 && parkedOver(1) > 0, "our wait parked");
            const run = runPeer(s, peer, "wait", 1, sem.name ?? shm!);
            await until(() => word.waiters() === 2, "C waits too");
            if (i % 2 === 0) {
              sem.post(); // wakes ours, cancelled before it takes the token
              ac.abort(REASON);
              await assert.rejects(ours, (e) => e === REASON);
            } else {
              // Ours ends and counts itself out; the post comes while the kernel
              // may still hold its futex_waitv entry, which the wake then finds.
              ac.abort(REASON);
              await assert.rejects(ours, (e) => e === REASON);
              sem.post();
            }
            const { status, stdout } = await run;
            assert.ok(
              status.success && stdout === "took 1\n",
              `${JSON.stringify(status)} ${stdout}`,
            );
            assert.deepEqual([word.value(), word.waiters()], [0, 0]);
          }
        },
      ),
    );
  }
});

Deno.test("PosixSemaphore.open of a name whose file is too short for a sem_t: a TypeError, never a SIGBUS", () => {
  // What a shared memory object named /sem.x looks like before its creator sizes it.
  using s = new TestScope();
  const name = s.semName();
  const file = `/dev/shm/sem.${name.slice(1)}`;
  Deno.writeFileSync(file, new Uint8Array(0));
  try {
    assert.throws(() => PosixSemaphore.open(name), (e: Error) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, /is not a semaphore: .* holds 0 bytes/);
      return true;
    });
  } finally {
    Deno.removeSync(file);
  }
});
