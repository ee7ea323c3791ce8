/**
 * PosixSharedMemory against the kernel: objects are checked in /dev/shm (and
 * with fstat), mappings in /proc/<pid>/maps, descriptors in /proc/self/fd;
 * the cross-process steps run real Deno children from tests/fixtures/.
 *
 * Every name comes from the test's TestScope (`shmName()`): unlinked at its
 * end even when it fails, then checked gone, with no descriptor or mapping of
 * it left in this process.
 */
import assert from "node:assert/strict";
import { IpcError, notify, PosixSharedMemory, SharedMemory, spawn, wait } from "../mod.ts";
import {
  closeFd,
  cstr,
  devShm,
  dupInheritable,
  EMULATED,
  errno,
  evalInChild,
  fdMode,
  fdTarget,
  type Fixture,
  type FixtureOptions,
  fixtureUrl,
  isCloexec,
  isOpen,
  libc,
  mappingsOf,
  MOD_URL,
  openFds,
  rawPipe,
  readAll,
  refersTo,
  systemError,
  TestScope,
  until,
} from "./_kernel.ts";
import {
  CHILD,
  CHILD_FLAG,
  get,
  PARENT,
  PARENT_FLAG,
  put,
  REPLY,
  TEXTS,
} from "./fixtures/posix_shm_peer.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const MFD_CLOEXEC = 1;
const PAGE = 4096;

const path = (name: string) => `/dev/shm${name}`;
/** The object's size and permission bits, as the file system has them. */
const statOf = (name: string) => {
  const st = Deno.statSync(path(name));
  return { size: st.size, mode: st.mode! & 0o7777 };
};
/** The size of what a descriptor is open on (through /proc, which follows it to the object). */
const fdSize = (fd: number) => Deno.statSync(`/proc/self/fd/${fd}`).size;
/** The descriptors of this process open on `target` (a path, or `/memfd:<name>`). */
const fdsOn = (target: string) =>
  [...openFds()].filter(([, t]) => t === target || t === `${target} (deleted)`).map(([fd]) => fd);
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

/** A new object of `size` bytes, made exclusively, closed at the end of the scope. */
function create(s: TestScope, size = PAGE, options = {}): PosixSharedMemory {
  return s.handle(
    PosixSharedMemory.open(s.shmName(), { create: true, exclusive: true, size, ...options }),
  );
}

/** Fails as soon as `f` has ended (a probe for `until` while a child should still run). */
function alive(f: Fixture): () => void {
  let ended = false;
  f.child.status.finally(() => ended = true);
  return () => {
    if (ended) throw new Error(`${f.label} ended early:\n${f.stderr()}`);
  };
}

/**
 * The exchange with posix_shm_peer.ts over `bytes`: our text, then the child's
 * (its flag), then our reply (our flag, notified); the child checks each.
 */
async function exchange(s: TestScope, bytes: Uint8Array, options: FixtureOptions): Promise<void> {
  const words = new Int32Array(bytes.buffer, 0, 2);
  put(bytes, PARENT, TEXTS.parent);
  const child = s.fixture("posix_shm_peer.ts", options);
  const running = alive(child);
  await s.check(async () => {
    await until(() => (running(), Atomics.load(words, CHILD_FLAG) === 1), "the child's flag");
    assert.equal(get(bytes, CHILD), TEXTS.child);
    put(bytes, REPLY, TEXTS.reply);
    Atomics.store(words, PARENT_FLAG, 1);
    notify(words, PARENT_FLAG);
  });
  await child.exits(0);
}

Deno.test("PosixSharedMemory.open() creates, opens and checks", async (t) => {
  await t.step("create exclusive: owner-only, zero-filled, mapped shared, close-on-exec", () => {
    using s = new TestScope();
    const shm = create(s, 3 * PAGE);
    const name = shm.name!;
    assert.ok(devShm().includes(name.slice(1)));
    assert.deepEqual(statOf(name), { size: 3 * PAGE, mode: 0o600 });
    assert.equal(fdMode(shm.fd) & 0o777, 0o600);
    assert.deepEqual([shm.size, shm.access, shm.closed], [3 * PAGE, "readwrite", false]);
    assert.deepEqual(shm.bytes, new Uint8Array(3 * PAGE));
    assert.deepEqual(mappingsOf(path(name)), [
      { size: 3 * PAGE, perms: "rw-s", path: path(name) },
    ]);
    assert.ok(isCloexec(shm.fd));
    assert.deepEqual(fdsOn(path(name)), [shm.fd]);
    assert.throws(
      () => PosixSharedMemory.open(name, { create: true, exclusive: true, size: PAGE }),
      systemError(Deno.errors.AlreadyExists, "EEXIST", "shm_open", { path: name }),
    );
    assert.deepEqual(fdsOn(path(name)), [shm.fd], "the failed open left nothing open");
  });

  await t.step("mode is applied exactly, whatever the umask", () => {
    using s = new TestScope();
    assert.equal(statOf(create(s, PAGE, { mode: 0o640 }).name!).mode, 0o640);
    // The usual umask (022) would make this 0644.
    assert.equal(statOf(create(s, PAGE, { mode: 0o666 }).name!).mode, 0o666);
    assert.equal(statOf(create(s, PAGE, { mode: 0 }).name!).mode, 0);
  });

  await t.step("open existing: the whole object, or a prefix; create does not recreate", () => {
    using s = new TestScope();
    const shm = create(s, 2 * PAGE);
    const name = shm.name!;
    shm.bytes.set(pattern(2 * PAGE));
    const whole = s.handle(PosixSharedMemory.open(name));
    assert.equal(whole.size, 2 * PAGE);
    assert.deepEqual(whole.bytes, pattern(2 * PAGE));
    const prefix = s.handle(PosixSharedMemory.open(name, { size: 100 }));
    assert.equal(prefix.size, 100);
    assert.deepEqual(prefix.bytes, pattern(100));
    // create without exclusive opens it: mode, size and bytes unchanged.
    const again = s.handle(PosixSharedMemory.open(name, { create: true, size: 10, mode: 0o644 }));
    assert.deepEqual(again.read(0, 10), pattern(10));
    assert.deepEqual(statOf(name), { size: 2 * PAGE, mode: 0o600 });
    // Every handle writes the same memory.
    whole.bytes[5] = 0xaa;
    assert.deepEqual([shm.bytes[5], prefix.bytes[5], again.read(5, 1)[0]], [0xaa, 0xaa, 0xaa]);
  });

  await t.step("a size larger than an existing object: RangeError, or growth with create", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    const name = shm.name!;
    assert.throws(
      () => PosixSharedMemory.open(name, { size: PAGE + 1 }),
      (e) => e instanceof RangeError && e.message.includes(`(${PAGE} bytes)`),
    );
    assert.equal(statOf(name).size, PAGE);
    const grown = s.handle(PosixSharedMemory.open(name, { create: true, size: 2 * PAGE }));
    assert.equal(grown.size, 2 * PAGE);
    assert.equal(statOf(name).size, 2 * PAGE);
  });

  await t.step(
    "create with a size mmap refuses (ENOMEM): the existing object keeps its size",
    () => {
      using s = new TestScope();
      const shm = create(s, PAGE);
      const name = shm.name!;
      shm.bytes[0] = 7;
      assert.throws(
        () => PosixSharedMemory.open(name, { create: true, size: Number.MAX_SAFE_INTEGER }),
        systemError(IpcError, "ENOMEM", "mmap", { path: name }),
      );
      assert.deepEqual([statOf(name), fdSize(shm.fd)], [{ size: PAGE, mode: 0o600 }, PAGE]);
      assert.deepEqual(fdsOn(path(name)), [shm.fd], "the failed open closed its descriptor");
      assert.deepEqual(mappingsOf(path(name)).map((m) => m.size), [PAGE], "and unmapped");
      const again = s.handle(PosixSharedMemory.open(name));
      assert.deepEqual([again.size, again.bytes[0]], [PAGE, 7]);
    },
  );

  await t.step("an empty object: a clear error without size, sized with create", () => {
    using s = new TestScope();
    const name = s.shmName();
    // What a creator that has not sized it yet leaves: an empty file in /dev/shm.
    Deno.writeFileSync(path(name), new Uint8Array(0), { mode: 0o600 });
    assert.throws(
      () => PosixSharedMemory.open(name),
      (e) =>
        e instanceof RangeError && /is empty \(size 0\): there is nothing to map/.test(e.message),
    );
    assert.throws(() => PosixSharedMemory.open(name, { size: 10 }), RangeError);
    assert.deepEqual(fdsOn(path(name)), [], "the failed opens closed their descriptors");
    const shm = s.handle(PosixSharedMemory.open(name, { create: true, size: 10 }));
    assert.equal(shm.size, 10);
    assert.equal(statOf(name).size, 10);
  });

  await t.step("NotFound without create, and nothing is created", () => {
    using s = new TestScope();
    const name = s.shmName();
    assert.throws(
      () => PosixSharedMemory.open(name),
      systemError(Deno.errors.NotFound, "ENOENT", "shm_open", { path: name }),
    );
    assert.throws(
      () => PosixSharedMemory.open(name, { access: "read" }),
      systemError(Deno.errors.NotFound, "ENOENT", "shm_open", { path: name }),
    );
    assert.ok(!devShm().includes(name.slice(1)));
  });

  await t.step("bad names and options: TypeError/RangeError, nothing created", () => {
    using s = new TestScope();
    const name = s.shmName();
    const base = name.slice(1); // unique to this run: no other process makes these
    const names: Array<[unknown, ErrorConstructor, RegExp]> = [
      [base, TypeError, /must start with "\/"/],
      [`/${base}/x`, TypeError, /no "\/" after the first/],
      [`/${base}/`, TypeError, /no "\/" after the first/],
      ["/.", TypeError, /must not be "\/\." or "\/\.\."/],
      ["/..", TypeError, /must not be "\/\." or "\/\.\."/],
      [`/${base}\0x`, TypeError, /NUL/],
      ["/", RangeError, /2\.\.256 bytes/],
      [`${name}${"x".repeat(257 - name.length)}`, RangeError, /got 257/],
      [`${name}${"é".repeat(128)}`, RangeError, /bytes/],
      [42, TypeError, /must be a string/],
    ];
    for (const [bad, Class, message] of names) {
      const is = (e: unknown) => e instanceof Class && message.test((e as Error).message);
      assert.throws(() => PosixSharedMemory.open(bad as string, { create: true, size: 1 }), is);
      assert.throws(() => PosixSharedMemory.unlink(bad as string), is);
    }
    // The longest name is fine.
    const longest = s.shmName(`${name}${"y".repeat(256 - name.length)}`);
    s.handle(PosixSharedMemory.open(longest, { create: true, exclusive: true, size: 1 }));
    const options: Array<[object, ErrorConstructor, RegExp]> = [
      [{ create: true }, TypeError, /create needs size/],
      [{ create: true, size: 0 }, RangeError, /size must be an integer 1\.\./],
      [{ create: true, size: -1 }, RangeError, /size must be an integer/],
      [{ create: true, size: 1.5 }, RangeError, /size must be an integer/],
      [{ create: true, size: NaN }, RangeError, /size must be an integer/],
      [{ create: true, size: 2 ** 53 }, RangeError, /size must be an integer/],
      [{ create: true, size: "10" }, TypeError, /size must be .*, got "10" \(a string\)/],
      [{ size: 0 }, RangeError, /size must be an integer/],
      [{ exclusive: true, size: 1 }, TypeError, /exclusive needs create/],
      [{ create: true, size: 1, access: "read" }, TypeError, /create needs access "readwrite"/],
      [{ access: "write" }, TypeError, /access must be "read" or "readwrite"/],
      [{ create: "yes", size: 1 }, TypeError, /create must be a boolean/],
      [{ create: true, size: 1, mode: 0o1000 }, RangeError, /mode must be an integer/],
      [{ create: true, size: 1, mode: -1 }, RangeError, /mode must be an integer/],
    ];
    for (const [bad, Class, message] of options) {
      assert.throws(
        () => PosixSharedMemory.open(name, bad),
        (e) => e instanceof Class && message.test((e as Error).message),
        JSON.stringify(bad),
      );
    }
    assert.throws(() => PosixSharedMemory.open(name, null as unknown as object), TypeError);
    assert.deepEqual(
      devShm().filter((n) => n.startsWith(base)),
      [longest.slice(1)],
      "only the longest name was made",
    );
  });
});

Deno.test("PosixSharedMemory is shared by name with another process, with no call", async () => {
  await using s = new TestScope();
  const shm = create(s);
  const bytes = shm.bytes;
  await exchange(s, bytes, { args: ["name", shm.name!] });
});

Deno.test("PosixSharedMemory.anonymous() reaches a child as fd 3, adopted with fromFd", async (t) => {
  await t.step(
    "no name anywhere; the child sees the parent's writes and the parent the child's",
    async () => {
      await using s = new TestScope();
      const before = devShm();
      const debug = `libc-ipc-test-${crypto.randomUUID()}`;
      const shm = s.handle(PosixSharedMemory.anonymous(2 * PAGE, { name: debug }));
      assert.deepEqual(devShm(), before, "nothing in /dev/shm");
      assert.deepEqual([shm.name, shm.size, shm.access], [null, 2 * PAGE, "readwrite"]);
      assert.deepEqual(fdsOn(`/memfd:${debug}`), [shm.fd]);
      assert.ok(isCloexec(shm.fd));
      assert.deepEqual(mappingsOf(`/memfd:${debug}`).map((m) => [m.size, m.perms]), [
        [2 * PAGE, "rw-s"],
      ]);
      assert.deepEqual(shm.bytes, new Uint8Array(2 * PAGE));
      await exchange(s, shm.bytes, { args: ["fd", String(2 * PAGE)], fds: { 3: shm } });
      shm.close();
      assert.deepEqual(fdsOn(`/memfd:${debug}`), [], "its descriptor is closed");
      assert.deepEqual(mappingsOf(`/memfd:${debug}`), [], "its memory is unmapped");
    },
  );

  await t.step("bad size and name: TypeError/RangeError before any call", () => {
    for (const size of [0, -1, 1.5, NaN, 2 ** 53, Infinity]) {
      assert.throws(() => PosixSharedMemory.anonymous(size), RangeError, String(size));
    }
    assert.throws(() => PosixSharedMemory.anonymous("1" as unknown as number), TypeError);
    assert.throws(() => PosixSharedMemory.anonymous(1, { name: "a\0b" }), TypeError);
    assert.throws(() => PosixSharedMemory.anonymous(1, { name: null as never }), TypeError);
    assert.throws(
      () => PosixSharedMemory.anonymous(1, { name: "n".repeat(250) }),
      /at most 249 bytes/,
    );
    assert.throws(
      () => PosixSharedMemory.anonymous(1, { name: 7 as unknown as string }),
      TypeError,
    );
    // The longest name is fine (memfd_create's limit).
    PosixSharedMemory.anonymous(1, { name: "n".repeat(249) }).close();
  });
});

Deno.test("PosixSharedMemory.fromFd() adopts a descriptor", async (t) => {
  await t.step("takes ownership: close-on-exec, size from fstat, closed with the handle", () => {
    using s = new TestScope();
    const shm = create(s, 3 * PAGE);
    shm.bytes.set(pattern(3 * PAGE));
    const fd = dupInheritable(shm.fd);
    assert.ok(!isCloexec(fd));
    const target = fdTarget(fd);
    const adopted = PosixSharedMemory.fromFd(fd);
    try {
      assert.ok(isCloexec(fd), "made close-on-exec");
      assert.deepEqual([adopted.name, adopted.size, adopted.fd], [null, 3 * PAGE, fd]);
      assert.deepEqual(adopted.bytes, pattern(3 * PAGE));
      adopted.bytes[0] = 0xff;
      assert.equal(shm.bytes[0], 0xff);
    } finally {
      adopted.close();
    }
    assert.ok(!refersTo(fd, target), "closed with the handle");
    assert.deepEqual(fdsOn(path(shm.name!)), [shm.fd]);
  });

  await t.step('a read-only descriptor: access "read" only', () => {
    using s = new TestScope();
    const shm = create(s);
    const fd = libc.open(cstr(`/proc/self/fd/${shm.fd}`), O_RDONLY | O_CLOEXEC, 0);
    assert.ok(fd >= 0, `open: errno ${errno()}`);
    let adopted: PosixSharedMemory | undefined;
    try {
      assert.throws(
        () => PosixSharedMemory.fromFd(fd),
        (e) => e instanceof TypeError && /read-only.*access "read"/.test(e.message),
      );
      adopted = PosixSharedMemory.fromFd(fd, { access: "read" });
    } finally {
      if (adopted === undefined) closeFd(fd);
    }
    const ro = s.handle(adopted);
    assert.equal(ro.access, "read");
    assert.deepEqual(mappingsOf(path(shm.name!)).map((m) => m.perms).sort(), ["r--s", "rw-s"]);
    shm.bytes[1] = 9;
    assert.equal(ro.read(1, 1)[0], 9);
  });

  await t.step("bad descriptors: clear errors, the descriptor left as it was", () => {
    using s = new TestScope();
    for (const bad of [-1, 1.5, NaN, 2 ** 31, "3"]) {
      const Class = typeof bad === "number" ? RangeError : TypeError;
      assert.throws(() => PosixSharedMemory.fromFd(bad as number), Class, String(bad));
    }
    const shm = create(s);
    const fd = s.fd(dupInheritable(shm.fd));
    assert.throws(() => PosixSharedMemory.fromFd(fd, { access: "write" as "read" }), TypeError);
    const [r, w] = rawPipe();
    s.fd(r);
    s.fd(w);
    assert.throws(
      () => PosixSharedMemory.fromFd(r, { access: "read" }),
      (e) => e instanceof TypeError && /not a shared memory object/.test(e.message),
    );
    assert.throws(
      () => PosixSharedMemory.fromFd(w, { access: "read" }),
      (e) => e instanceof TypeError && /write-only/.test(e.message),
    );
    const empty = s.fd(libc.memfd_create(cstr("libc-ipc-test-empty"), MFD_CLOEXEC));
    assert.throws(
      () => PosixSharedMemory.fromFd(empty),
      (e) => e instanceof RangeError && /empty object \(size 0\)/.test(e.message),
    );
    assert.ok(isOpen(empty) && isOpen(r) && isOpen(fd), "still the caller's");
    assert.ok(!isCloexec(fd), "its flags unchanged");
    // Above any RLIMIT_NOFILE: never open.
    const never = 0x7ffffff0;
    assert.throws(
      () => PosixSharedMemory.fromFd(never),
      systemError(Deno.errors.BadResource, "EBADF", "fcntl", { fd: never }),
    );
  });
});

Deno.test("PosixSharedMemory.resize() remaps; views taken before read as length 0", async (t) => {
  await t.step("grows (new bytes zero, old kept) and shrinks (prefix kept)", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    const name = shm.name!;
    shm.bytes.set(pattern(PAGE));
    shm.resize(3 * PAGE);
    assert.equal(shm.size, 3 * PAGE);
    assert.equal(statOf(name).size, 3 * PAGE);
    assert.deepEqual(shm.bytes.subarray(0, PAGE), pattern(PAGE));
    assert.deepEqual(shm.bytes.subarray(PAGE), new Uint8Array(2 * PAGE));
    assert.deepEqual(mappingsOf(path(name)).map((m) => m.size), [3 * PAGE], "one mapping");
    using other = PosixSharedMemory.open(name);
    assert.equal(other.size, 3 * PAGE, "another opener sees the new size");
    shm.resize(100);
    assert.equal(shm.size, 100);
    assert.equal(statOf(name).size, 100);
    assert.deepEqual(shm.bytes, pattern(100));
    shm.resize(200);
    assert.deepEqual(shm.bytes.subarray(100), new Uint8Array(100), "cut bytes come back as zero");
  });

  await t.step("old views: length 0, new views of them throw TypeError, no crash", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    const old = shm.bytes;
    const sub = old.subarray(8, 16);
    const words = new Int32Array(old.buffer);
    const data = new DataView(old.buffer);
    const buffer = old.buffer;
    old[0] = 7;
    shm.resize(2 * PAGE);
    assert.deepEqual([old.length, sub.length, words.length, buffer.byteLength], [0, 0, 0, 0]);
    assert.ok(buffer.detached);
    assert.equal(old[0], undefined);
    old[1] = 5; // ignored: the view has no bytes
    assert.throws(() => old.subarray(0, 1), TypeError);
    assert.throws(() => new Int32Array(buffer), TypeError);
    assert.throws(() => new DataView(buffer), TypeError);
    assert.throws(() => data.getInt32(0), TypeError);
    assert.throws(() => Atomics.load(words, 0), TypeError);
    assert.deepEqual(shm.bytes.subarray(0, 2), new Uint8Array([7, 0]));
    assert.notEqual(shm.bytes.buffer, buffer);
  });

  await t.step(
    "a wait on a word of the old mapping: BadResource that says why; the handle stays open",
    async () => {
      using shm = PosixSharedMemory.anonymous(PAGE);
      const waiting = wait(new Int32Array(shm.bytes.buffer), 0, 0);
      shm.resize(2 * PAGE);
      await assert.rejects(
        waiting,
        (e: Error & { code?: string }) =>
          e instanceof Deno.errors.BadResource && e.code === "EBADF" &&
          /was resized: the mapping the word was in is gone/.test(e.message),
      );
      assert.equal(shm.closed, false);
    },
  );

  await t.step("anonymous memory resizes too", () => {
    using shm = PosixSharedMemory.anonymous(10);
    shm.bytes.fill(1);
    shm.resize(20);
    assert.equal(fdSize(shm.fd), 20);
    assert.deepEqual([...shm.bytes], [...new Uint8Array(10).fill(1), ...new Uint8Array(10)]);
  });

  await t.step("bad sizes and read-only handles: errors, the handle unchanged", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    const view = shm.bytes;
    for (const bad of [0, -1, 1.5, NaN, 2 ** 53]) {
      assert.throws(() => shm.resize(bad), RangeError, String(bad));
    }
    assert.throws(() => shm.resize("8" as unknown as number), TypeError);
    using ro = PosixSharedMemory.open(shm.name!, { access: "read" });
    assert.throws(() => ro.resize(2 * PAGE), /read-only \(access "read"\): it cannot be resized/);
    assert.deepEqual([view.length, shm.size, ro.size, statOf(shm.name!).size], [
      PAGE,
      PAGE,
      PAGE,
      PAGE,
    ]);
  });
});

Deno.test("PosixSharedMemory: a mapping the kernel refuses (ENOMEM) leaves nothing behind", () => {
  using s = new TestScope();
  // Larger than any process's address space: mmap fails, and the size is left as it was.
  const huge = Number.MAX_SAFE_INTEGER;
  const shm = create(s, PAGE);
  const name = shm.name!;
  const view = shm.bytes;
  view[0] = 3;
  const nomem = (where: object) => systemError(IpcError, "ENOMEM", "mmap", where);
  assert.throws(() => shm.resize(huge), nomem({ path: name, fd: shm.fd }));
  assert.deepEqual([shm.size, view.length, view[0], statOf(name).size], [PAGE, PAGE, 3, PAGE]);
  assert.deepEqual(mappingsOf(path(name)).map((m) => m.size), [PAGE]);

  const fresh = s.shmName();
  assert.throws(
    () => PosixSharedMemory.open(fresh, { create: true, size: huge }),
    nomem({ path: fresh }),
  );
  assert.ok(!devShm().includes(fresh.slice(1)), "the object it created is unlinked again");
  assert.deepEqual(fdsOn(path(fresh)), []);

  const debug = `libc-ipc-test-${crypto.randomUUID()}`;
  assert.throws(() => PosixSharedMemory.anonymous(huge, { name: debug }), nomem({}));
  assert.deepEqual(fdsOn(`/memfd:${debug}`), [], "its memfd is closed");
});

Deno.test('PosixSharedMemory with access "read": no view, copies only, no crash', async (t) => {
  await t.step("bytes throws and says why; read() and readInto() copy", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    shm.bytes.set(pattern(PAGE));
    using ro = PosixSharedMemory.open(shm.name!, { access: "read" });
    assert.throws(
      () => ro.bytes,
      (e) =>
        e instanceof TypeError && /mapped read-only/.test(e.message) &&
        /read\(\) or readInto\(\)/.test(e.message) && /access "readwrite"/.test(e.message),
    );
    assert.deepEqual(
      mappingsOf(path(shm.name!)).map((m) => m.perms).sort(),
      ["r--s", "rw-s"],
      "mapped PROT_READ",
    );
    assert.deepEqual(ro.read(), pattern(PAGE));
    assert.deepEqual(ro.read(PAGE - 2), pattern(PAGE).subarray(PAGE - 2));
    const into = new Uint8Array(10);
    assert.equal(ro.readInto(into, PAGE - 4), 4);
    assert.deepEqual(into.subarray(0, 4), pattern(PAGE).subarray(PAGE - 4));
    shm.bytes[0] = 0xee;
    assert.equal(ro.read(0, 1)[0], 0xee, "a live mapping: it sees writes at once");
    assert.throws(() => ro.read(PAGE + 1), RangeError);
    assert.throws(() => ro.read(0, PAGE + 1), RangeError);
    assert.throws(() => ro.readInto(into, -1), RangeError);
    // The read-write handle reads the same way.
    assert.deepEqual(shm.read(1, 3), pattern(4).subarray(1));
  });

  await t.step("a child tries everything through read-only handles and lives", async () => {
    await using s = new TestScope();
    const shm = create(s, PAGE);
    shm.bytes.set(pattern(PAGE));
    const second = "written while the child maps it";
    const child = s.fixture("posix_shm_readonly.ts", {
      args: [shm.name!, second],
      fds: { 3: shm },
    });
    const running = alive(child);
    await s.check(() =>
      until(
        () => (running(), mappingsOf(path(shm.name!), child.pid).length === 2),
        "the child's two read-only mappings",
      )
    );
    const written = new TextEncoder().encode(second);
    shm.bytes.set(written, 1000); // where the child waits for it (its SECOND)
    await child.exits(0);
    const expected = pattern(PAGE);
    expected.set(written, 1000);
    assert.deepEqual(shm.bytes, expected, "the child changed nothing");
  });
});

Deno.test("PosixSharedMemory.close(), use after close, unlink, using", async (t) => {
  await t.step("close twice is a no-op; every use after it: BadResource (EBADF)", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    const name = shm.name!;
    const fd = shm.fd;
    const target = fdTarget(fd);
    const view = shm.bytes;
    const words = new Int32Array(view.buffer);
    shm.close();
    shm.close();
    assert.equal(shm.closed, true);
    assert.deepEqual([view.length, words.length], [0, 0]);
    assert.ok(!refersTo(fd, target));
    assert.deepEqual(mappingsOf(path(name)), []);
    const closed = (syscall: string) =>
      systemError(Deno.errors.BadResource, "EBADF", syscall, { path: name, fd });
    assert.throws(() => shm.bytes, closed("bytes"));
    // No call fails: the message names the object and the fd it held.
    assert.throws(
      () => shm.fd,
      (e) =>
        e instanceof Deno.errors.BadResource && (e as { fd?: number }).fd === fd &&
        (e as { syscall?: string }).syscall === "fd" &&
        e.message.includes(`shared memory object '${name}' is closed (it held fd ${fd})`),
    );
    assert.throws(() => shm.read(), closed("mmap"));
    assert.throws(() => shm.readInto(new Uint8Array(1)), closed("mmap"));
    assert.throws(() => shm.resize(2 * PAGE), closed("ftruncate"));
    assert.throws(() => shm.bytes, /the shared memory object is closed/);
    assert.deepEqual([shm.size, shm.name, shm.access], [PAGE, name, "readwrite"]);
    assert.ok(devShm().includes(name.slice(1)), "the object stays until unlinked");
  });

  await t.step("unlink removes the name; open handles keep the memory", () => {
    using s = new TestScope();
    const shm = create(s, PAGE);
    const name = shm.name!;
    shm.bytes[0] = 1;
    PosixSharedMemory.unlink(name);
    assert.ok(!devShm().includes(name.slice(1)));
    assert.equal(shm.bytes[0], 1);
    assert.deepEqual(fdsOn(path(name)), [shm.fd]);
    assert.throws(
      () => PosixSharedMemory.open(name),
      systemError(Deno.errors.NotFound, "ENOENT", "shm_open", { path: name }),
    );
    assert.throws(
      () => PosixSharedMemory.unlink(name),
      systemError(Deno.errors.NotFound, "ENOENT", "shm_unlink", { path: name }),
    );
  });

  await t.step("using closes it at the end of the block", () => {
    using s = new TestScope();
    const name = s.shmName();
    let kept: PosixSharedMemory;
    let fd: number;
    {
      using shm = PosixSharedMemory.open(name, { create: true, exclusive: true, size: PAGE });
      kept = shm;
      fd = shm.fd;
      assert.deepEqual(fdsOn(path(name)), [fd]);
    }
    assert.equal(kept.closed, true);
    assert.deepEqual(fdsOn(path(name)), []);
    assert.deepEqual(mappingsOf(path(name)), []);
  });

  await t.step("spawn refuses a closed handle", () => {
    const shm = PosixSharedMemory.anonymous(1);
    shm.close();
    assert.throws(
      () => spawn(fixtureUrl("posix_shm_peer.ts"), { fds: { 3: shm } }),
      systemError(Deno.errors.BadResource, "EBADF", "posix_spawn"),
    );
  });
});

Deno.test("openers that size one new object at once never shrink it under the other", async () => {
  // A creator and an opener that found the object still empty both size it: the later
  // once cut it to its own smaller size, and the other's mapping ended in a SIGBUS.
  await using s = new TestScope();
  const meeting = s.segment(SharedMemory.open("private", { size: 64 }));
  const prefix = s.shmName();
  const rounds = EMULATED ? 10 : 100;
  const out = s.pipe();
  const race = fixtureUrl("shm_race.ts");
  const [a, b] = ["A", "B"].map((role) =>
    s.child(spawn(race, {
      args: [role, String(meeting.id), String(rounds), prefix],
      fds: role === "A" ? { 1: out.writer } : {},
    }))
  );
  out.writer.close();
  const report = await readAll(out.reader);
  for (const child of [a, b]) assert.equal((await child.status).code, 0, report);
  assert.deepEqual(JSON.parse(report), { shrunk: 0 });
  assert.deepEqual(devShm().filter((n) => n.startsWith(prefix.slice(1))), []);
});

Deno.test("readInto() a view of the same object, through this mapping or another, copies as TypedArray.set() does", async () => {
  // The copy through the file (pread) wrote each byte before reading the ones after it.
  await using s = new TestScope();
  const name = s.shmName();
  using shm = PosixSharedMemory.open(name, { create: true, size: 4096 });
  using other = PosixSharedMemory.open(name); // a second mapping of the same pages
  for (const target of [shm.bytes, other.bytes]) {
    shm.bytes.forEach((_, i) => shm.bytes[i] = i & 255);
    const expected = shm.bytes.slice(0, 2000);
    assert.equal(shm.readInto(target.subarray(64, 2064), 0), 2000);
    assert.deepEqual(shm.bytes.slice(64, 2064), expected);
  }
  // A buffer moved away whole is the memory still, known by its address alone (in a child:
  // that memory stays mapped until the process exits).
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { PosixSharedMemory } from "${MOD_URL}";
    using a = PosixSharedMemory.open("${name}");
    using b = PosixSharedMemory.open("${name}");
    b.bytes.forEach((_, i) => b.bytes[i] = i & 255);
    const expected = b.bytes.slice(0, 2000);
    const moved = b.bytes.buffer.transfer();
    assert.equal(a.readInto(new Uint8Array(moved, 64, 2000), 0), 2000);
    assert.deepEqual(new Uint8Array(moved, 64, 2000), expected);
    `,
  );
});

Deno.test("read() and readInto() past an end another handle shrank: a RangeError and fewer bytes, not SIGBUS", async () => {
  // They copied from the mapping, whose pages past the new end are gone: SIGBUS killed the process.
  await using s = new TestScope();
  const name = s.shmName();
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { PosixSharedMemory } from "${MOD_URL}";
    using a = PosixSharedMemory.open("${name}", { create: true, size: 8192 });
    using b = PosixSharedMemory.open("${name}");
    a.bytes.fill(7);
    b.resize(4096);
    assert.equal(a.size, 8192);
    assert.throws(() => a.read(4094, 4), (e) => e instanceof RangeError && /4094..4098 reach past/.test(e.message));
    const buf = new Uint8Array(8);
    assert.equal(a.readInto(buf, 4092), 4);
    assert.deepEqual([...buf], [7, 7, 7, 7, 0, 0, 0, 0]);
    assert.equal(a.readInto(buf, 5000), 0);
    assert.deepEqual(a.read(0, 2), new Uint8Array([7, 7]));
    `,
  );
});

Deno.test("open() that fails growing the object leaves no descriptor marked as the handle's", async () => {
  // Its fd stayed marked owned after the close: the next pipe() given that number threw
  // "fd N belongs to an open shared memory handle".
  await using s = new TestScope();
  const name = s.shmName();
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { pipe, PosixSharedMemory } from "${MOD_URL}";
    const libc = Deno.dlopen("libc.so.6", {
      setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    });
    const RLIMIT_FSIZE = 1;
    libc.symbols.setrlimit(RLIMIT_FSIZE, new Uint8Array(new BigUint64Array([4096n, ~0n]).buffer));
    assert.throws(
      () => PosixSharedMemory.open("${name}", { create: true, size: 1 << 20 }),
      { code: "EFBIG", syscall: "ftruncate" },
    );
    assert.throws(() => PosixSharedMemory.open("${name}"), Deno.errors.NotFound);
    using p = pipe();
    p.writer.writeSync("x");
    assert.equal(p.reader.readSync(new Uint8Array(1)), 1);
    `,
    [],
    ["SIGXFSZ"],
  );
});
