/**
 * SharedMemory (System V shared memory) against the kernel: segments are
 * checked in /proc/sysvipc/shm, other processes are real Deno children that
 * attach the segment by id, and every exchange is synchronised on the shared
 * memory itself or on kernel state, never on sleeps.
 */
import assert from "node:assert/strict";
import { IpcError, SharedMemory } from "../mod.ts";
import {
  assertAround,
  EMULATED,
  evalInChild,
  type Fixture,
  hasCapability,
  MOD_URL,
  procSysInt,
  readAll,
  readProcFile,
  systemError,
  type SysvSegment,
  sysvSegments,
  TestScope,
  until,
} from "./_kernel.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `CAP_SYS_ADMIN`: needed to make a new IPC namespace. */
const CAP_SYS_ADMIN = 21;

const keyText = (key: number) => `key 0x${(key >>> 0).toString(16).padStart(8, "0")}`;

/** The row of segment `id` in /proc/sysvipc/shm; fails if the kernel does not list it. */
function segment(id: number): SysvSegment {
  const row = sysvSegments().get(id);
  assert.ok(row !== undefined, `segment ${id} is not in /proc/sysvipc/shm`);
  return row;
}

/** The permissions (`rw-s`, `r--s`) of process `pid`'s mappings of segment `id`, from its maps. */
function mappingsOf(pid: number, id: number): string[] {
  // A System V segment is mapped from the file /SYSV<key> whose inode is the segment id.
  return readProcFile(`/proc/${pid}/maps`).split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[4] === String(id) && f[5]?.startsWith("/SYSV"))
    .map((f) => f[1]);
}

/** A key from `ftok` on a new file in a temporary directory of the scope. */
async function freshKey(s: TestScope, projId = 1): Promise<number> {
  const path = `${await s.tempDir("libc-ipc-shm-")}/key`;
  await Deno.writeTextFile(path, "");
  return SharedMemory.ftok(path, projId);
}

/** Starts a fixture with its stdout on a pipe of the scope; returns it and its output reader. */
function withOutput(s: TestScope, name: string, args: string[]) {
  const p = s.pipe();
  const fixture = s.fixture(name, { args, fds: { 1: p.writer } });
  p.writer.close();
  return { fixture, output: () => fixture.check(() => readAll(p.reader)) };
}

/** The one JSON line a fixture printed, once it has exited 0 (not killed by a signal). */
async function report(
  f: { fixture: Fixture; output: () => Promise<string> },
): Promise<Record<string, unknown>> {
  const out = await f.output();
  await f.fixture.exits(0, out);
  return JSON.parse(out);
}

// -------------------------------------------------------------------- tests

Deno.test("SharedMemory.open() makes private and keyed segments, owner-only by default", async (t) => {
  await t.step('"private": a new zeroed segment each time, key 0, mode 0600', () => {
    using s = new TestScope();
    const a = s.segment(SharedMemory.open("private", { size: 100 }));
    const b = s.segment(SharedMemory.open("private", { size: 5000 }));
    assert.notEqual(a.id, b.id);
    assert.deepEqual([a.key, a.size, a.access, a.closed], [0, 100, "readwrite", false]);
    assert.equal(b.size, 5000);
    assert.equal(a.bytes.length, 100);
    assert.ok(b.bytes.every((x) => x === 0));
    const row = segment(a.id);
    assert.deepEqual([row.key, row.perms, row.size, row.attached], [0, 0o600, 100, 1]);
    assert.equal(a.stat().mode, 0o600);
  });

  await t.step("an explicit mode is applied exactly", () => {
    using s = new TestScope();
    for (const mode of [0o640, 0o604, 0o400, 0o666]) {
      const shm = s.segment(SharedMemory.open("private", { size: 8, mode }));
      assert.equal(shm.stat().mode, mode);
      assert.equal(segment(shm.id).perms, mode);
    }
  });

  await t.step(
    "by key (ftok): create, open again, exclusive refused with AlreadyExists",
    async () => {
      await using s = new TestScope();
      const key = await freshKey(s);
      const shm = s.segment(SharedMemory.open(key, { create: true, exclusive: true, size: 3000 }));
      assert.deepEqual([shm.key, shm.stat().key, segment(shm.id).key], [key, key, key]);
      using same = SharedMemory.open(key);
      assert.deepEqual([same.id, same.key, same.size], [shm.id, key, 3000]);
      using created = SharedMemory.open(key, { create: true, size: 10 });
      assert.deepEqual([created.id, created.size], [shm.id, 3000], "the segment's real size");
      using byId = SharedMemory.fromId(shm.id);
      assert.equal(byId.key, key);
      assert.equal(segment(shm.id).attached, 4);
      assert.throws(
        () => s.segment(SharedMemory.open(key, { create: true, exclusive: true, size: 8 })),
        systemError(Deno.errors.AlreadyExists, "EEXIST", "shmget", { key }),
      );
    },
  );

  await t.step(
    "a size above an existing segment's is refused by shmget, naming the key",
    async () => {
      await using s = new TestScope();
      const key = await freshKey(s);
      s.segment(SharedMemory.open(key, { create: true, size: 100 }));
      using fits = SharedMemory.open(key, { size: 100 });
      assert.equal(fits.size, 100);
      assert.throws(
        () => SharedMemory.open(key, { size: 101 }),
        (e) =>
          systemError(IpcError, "EINVAL", "shmget", { key })(e) &&
          (e as Error).message.includes("smaller than 101 bytes"),
      );
    },
  );

  await t.step(
    "create: a keyed segment the call made is removed when shmat fails; an existing one stays",
    async () => {
      await using s = new TestScope();
      const [denied, noMemory, existing] = [
        await freshKey(s, 3),
        await freshKey(s, 4),
        await freshKey(s, 5),
      ];
      // More than the child leaves itself of address space (64 MiB): its shmat is ENOMEM.
      const size = 256 * 2 ** 20;
      const theirs = s.segment(
        SharedMemory.open(existing, { create: true, exclusive: true, size }),
      );
      theirs.close();
      const result = await report(
        withOutput(s, "shm_attach_fails.ts", [denied, noMemory, existing, size].map(String)),
      );
      const byKey = (key: number) => [...sysvSegments().values()].filter((r) => r.key === key);
      // Whatever the child made and left is removed with the scope.
      for (const row of [...byKey(denied), ...byKey(noMemory)]) s.segment(row.id);
      const failed = (name: string, code: string) => ({ name, code, syscall: "shmat" });
      assert.deepEqual(result.denied, failed("PermissionDenied", "EACCES"));
      assert.deepEqual(byKey(denied), [], "the 0400 segment it made is removed");
      // qemu-user reserves the guest's address space up front: RLIMIT_AS does not bind shmat.
      if (!EMULATED) {
        assert.deepEqual([result.noMemory, result.existing], [
          failed("IpcError", "ENOMEM"),
          failed("IpcError", "ENOMEM"),
        ]);
        assert.deepEqual(byKey(noMemory), [], "the segment it made is removed");
      }
      assert.deepEqual(byKey(existing).map((r) => [r.id, r.size]), [[theirs.id, size]]);
    },
  );

  await t.step("no segment of that key and no create: NotFound naming the key", async () => {
    await using s = new TestScope();
    const key = await freshKey(s, 2);
    assert.throws(
      () => SharedMemory.open(key, { size: 8 }),
      systemError(Deno.errors.NotFound, "ENOENT", "shmget", keyText(key)),
    );
  });

  await t.step("ftok: the same key from a path and its file: URL; a missing file", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir("libc-ipc-shm-");
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "");
    assert.equal(SharedMemory.ftok(path, 9), SharedMemory.ftok(new URL(`file://${path}`), 9));
    assert.notEqual(SharedMemory.ftok(path, 9), SharedMemory.ftok(path, 10));
    assert.throws(
      () => SharedMemory.ftok(`${dir}/missing`, 1),
      systemError(Deno.errors.NotFound, "ENOENT", "ftok", { path: `${dir}/missing` }),
    );
  });
});

Deno.test("SharedMemory: bad input is a TypeError or RangeError before any system call", () => {
  const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
    [() => SharedMemory.open("private"), TypeError, /size is required/],
    [() => SharedMemory.open("private", {}), TypeError, /size is required/],
    [() => SharedMemory.open(0x1234, { create: true }), TypeError, /size is required/],
    [() => SharedMemory.open("private", { size: 0 }), RangeError, /size must be an integer 1/],
    [() => SharedMemory.open("private", { size: -1 }), RangeError, /size must be/],
    [() => SharedMemory.open("private", { size: 1.5 }), RangeError, /size must be/],
    [() => SharedMemory.open("private", { size: NaN }), RangeError, /size must be/],
    [() => SharedMemory.open("private", { size: 2 ** 53 }), RangeError, /size must be/],
    [() => SharedMemory.open("private", { size: Infinity }), RangeError, /size must be/],
    [
      () => SharedMemory.open("private", { size: "8" as unknown as number }),
      TypeError,
      /size must be .*, got "8" \(a string\)/,
    ],
    [() => SharedMemory.open(0, { size: 8 }), RangeError, /key 0 is IPC_PRIVATE/],
    [() => SharedMemory.open(1.5, { size: 8 }), RangeError, /key must be/],
    [() => SharedMemory.open(2 ** 32, { size: 8 }), RangeError, /key must be/],
    [() => SharedMemory.open("x" as "private", { size: 8 }), TypeError, /key must be/],
    [() => SharedMemory.open("private", { size: 8, mode: 0o1000 }), RangeError, /mode must be/],
    [() => SharedMemory.open("private", { size: 8, mode: -1 }), RangeError, /mode must be/],
    [
      () => SharedMemory.open("private", { size: 8, access: "rw" as "read" }),
      TypeError,
      /access must be "read" or "readwrite", got "rw"/,
    ],
    [
      () => SharedMemory.open("private", null as unknown as { size: number }),
      TypeError,
      /options must be an object/,
    ],
    [() => SharedMemory.fromId(-1), RangeError, /id must be/],
    [() => SharedMemory.fromId(1.5), RangeError, /id must be/],
    [() => SharedMemory.fromId(2 ** 31), RangeError, /id must be/],
    [() => SharedMemory.fromId("3" as unknown as number), TypeError, /id must be/],
    [
      () => SharedMemory.fromId(0, { access: true as unknown as "read" }),
      TypeError,
      /access must be/,
    ],
    // The option's name before `access`: ignored, it attached read-write.
    [
      () => SharedMemory.fromId(0, { readOnly: true } as never),
      TypeError,
      /unknown option 'readOnly': read-only is access: "read"/,
    ],
    [
      () => SharedMemory.open("private", { size: 8, readOnly: true } as never),
      TypeError,
      /unknown option 'readOnly'/,
    ],
    [() => SharedMemory.ftok("/", 0), RangeError, /projId/],
    [() => SharedMemory.ftok("/", 256), RangeError, /projId/],
    [() => SharedMemory.ftok("", 1), TypeError, /path/],
    [() => SharedMemory.ftok(new URL("http://x/"), 1), TypeError, /file: URL/],
  ];
  for (const [call, Class, message] of cases) {
    assert.throws(call, (e) => {
      // Exactly the class: a kernel refusal would be an IpcError or a Deno error.
      assert.equal((e as Error).constructor, Class, `${call}: ${e}`);
      assert.match((e as Error).message, message, `${call}`);
      return true;
    });
  }
});

Deno.test("SharedMemory.limits() reads the kernel's; a size above shmmax is a RangeError", async (t) => {
  await t.step("the limits are those in /proc/sys/kernel", () => {
    const limits = SharedMemory.limits();
    const proc = (name: string) => Math.min(procSysInt(`kernel/${name}`), Number.MAX_SAFE_INTEGER);
    assert.deepEqual(limits, {
      maxSize: proc("shmmax"),
      minSize: 1,
      maxSegments: proc("shmmni"),
      maxTotalPages: proc("shmall"),
    });
  });

  await t.step({
    name: "in an IPC namespace of its own with shmmax 65536, a child is refused 65537 bytes",
    ignore: !hasCapability(CAP_SYS_ADMIN, "self"),
    fn: async () => {
      await using s = new TestScope();
      const result = await report(withOutput(s, "shm_limits.ts", ["65536"]));
      assert.equal((result.limits as Record<string, number>).maxSize, 65536);
      assert.equal(result.size, 65536);
      assert.equal(
        result.message,
        "RangeError: size 65537 exceeds the kernel's shmmax (65536 bytes, /proc/sys/kernel/shmmax)",
      );
    },
  });
});

Deno.test("SharedMemory is zero-copy across processes both ways, with stat() as the kernel has it", async () => {
  await using s = new TestScope();
  const before = Date.now();
  const shm = s.segment(SharedMemory.open("private", { size: 4096 }));
  const created = Date.now();
  const words = new Int32Array(shm.bytes.buffer, 0, 4);

  let st = shm.stat();
  assert.deepEqual(
    [st.key, st.size, st.attached, st.creatorPid, st.lastPid, st.mode, st.removed, st.locked],
    [0, 4096, 1, Deno.pid, Deno.pid, 0o600, false, false],
  );
  assertAround(st.lastAttach, before, created);
  assertAround(st.lastChange, before, created);
  assert.equal(st.lastDetach, null);
  const row = segment(shm.id);
  assert.deepEqual(
    [st.uid, st.gid, st.creatorUid, st.creatorGid],
    [row.uid, row.gid, Deno.uid(), Deno.gid()],
  );

  const peer = s.fixture("shm_peer.ts", { args: [String(shm.id)] });
  await s.check(async () => {
    await until(() => Atomics.load(words, 0) === 1, "the child to attach");
    // Written after the child attached: it can only see it through the memory itself.
    const message = encoder.encode("hello from the parent");
    shm.bytes.set(message, 64);
    Atomics.store(words, 2, message.length);
    Atomics.store(words, 1, 1);
    await until(() => Atomics.load(words, 0) === 2, "the child's reply");
    const reply = decoder.decode(shm.bytes.subarray(1024, 1024 + Atomics.load(words, 3)));
    assert.equal(reply, `child ${peer.pid} read: hello from the parent`);

    st = shm.stat();
    assert.deepEqual([st.attached, st.lastPid], [2, peer.pid]);
    assert.equal(segment(shm.id).attached, 2);

    Atomics.store(words, 1, 2);
    await peer.exits(0);
    st = shm.stat();
    assert.deepEqual([st.attached, st.lastPid], [1, peer.pid]);
    assertAround(st.lastDetach, created, Date.now());
  });
});

Deno.test("SharedMemory.remove() marks the segment; it lives while attached, then is gone", async (t) => {
  await t.step(
    "attached: removed flag, SHM_DEST in /proc, key freed, memory still works",
    async () => {
      await using s = new TestScope();
      const key = await freshKey(s);
      const shm = s.segment(SharedMemory.open(key, { create: true, size: 64 }));
      shm.bytes[0] = 1;
      shm.remove();
      assert.equal(shm.closed, false);
      const st = shm.stat();
      assert.deepEqual([st.removed, st.key, st.attached], [true, 0, 1]);
      const row = segment(shm.id);
      assert.equal(row.perms & 0o1000, 0o1000, "SHM_DEST");
      assert.equal(row.key, 0);
      shm.bytes[1] = 2;
      assert.deepEqual([...shm.read(0, 2)], [1, 2]);
      // Linux attaches a removed segment by id while it lives.
      using again = SharedMemory.fromId(shm.id);
      assert.equal(again.bytes[1], 2);
      assert.equal(shm.stat().attached, 2);
      shm.remove(); // again: still a marked, living segment
      assert.throws(
        () => SharedMemory.open(key),
        systemError(Deno.errors.NotFound, "ENOENT", "shmget", { key }),
      );
      shm.close();
      assert.ok(sysvSegments().has(shm.id), "one attachment left");
      again.close();
      assert.equal(sysvSegments().has(shm.id), false, "destroyed at the last detach");
      assert.throws(
        () => SharedMemory.fromId(shm.id),
        systemError(IpcError, "EINVAL", "shmctl", { id: shm.id }),
      );
    },
  );
});

Deno.test("SharedMemory.close() detaches every view first: no access can crash", async (t) => {
  await t.step("views taken before close read as length 0 or throw TypeError", () => {
    using s = new TestScope();
    const shm = s.segment(SharedMemory.open("private", { size: 4096 }));
    const buffer = shm.bytes.buffer;
    const sub = shm.bytes.subarray(8, 16);
    const i32 = new Int32Array(buffer);
    const dv = new DataView(buffer);
    Atomics.store(i32, 0, 7);
    assert.equal(dv.getInt32(0, true), 7);
    assert.equal(segment(shm.id).attached, 1);

    shm.close();
    assert.equal(shm.closed, true);
    assert.equal(segment(shm.id).attached, 0, "detached in the kernel");
    assert.equal(buffer.detached, true);
    assert.deepEqual([sub.length, i32.length, buffer.byteLength], [0, 0, 0]);
    assert.throws(() => shm.bytes, Deno.errors.BadResource);
    assert.equal(sub[0], undefined);
    assert.equal(i32[0], undefined);
    assert.throws(() => Atomics.load(i32, 0), TypeError);
    assert.throws(() => dv.getInt32(0), TypeError);
    assert.throws(() => dv.setInt32(0, 1), TypeError);
    assert.throws(() => new Int32Array(buffer), TypeError);
    sub[0] = 1; // a write to a detached view goes nowhere
    assert.equal(sub[0], undefined);
  });

  await t.step("close twice is a no-op; after close: BadResource (EBADF) naming the id", () => {
    using s = new TestScope();
    const shm = s.segment(SharedMemory.open("private", { size: 16 }));
    shm.close();
    shm.close();
    shm.detach();
    shm[Symbol.dispose]();
    const closed = (syscall: string) =>
      systemError(Deno.errors.BadResource, "EBADF", syscall, {
        id: shm.id,
      });
    assert.throws(() => shm.stat(), closed("shmctl"));
    assert.throws(() => shm.read(), closed("shmat"));
    assert.throws(() => shm.readInto(new Uint8Array(4)), closed("shmat"));
    assert.throws(() => shm.bytes, closed("bytes"));
    assert.ok(sysvSegments().has(shm.id), "the segment outlives the handle");
  });

  await t.step("detach(), then remove(): C's order (shmdt, then IPC_RMID) removes it", () => {
    // remove() after detach() threw BadResource, and the segment stayed.
    using s = new TestScope();
    const shm = s.segment(SharedMemory.open("private", { size: 16 }));
    shm.detach();
    shm.remove();
    assert.equal(sysvSegments().has(shm.id), false, "gone: no process has it attached");
    assert.throws(() => shm.remove(), { name: "IpcError", code: "EINVAL", syscall: "shmctl" });
  });

  await t.step(
    "a buffer transferred away keeps the memory mapped: close() cannot crash it",
    async () => {
      await using s = new TestScope();
      // In a child: the segment stays attached until the process exits.
      await evalInChild(
        s,
        `import { SharedMemory } from "${MOD_URL}";
      import assert from "node:assert/strict";
      const shm = SharedMemory.open("private", { size: 4096 });
      shm.remove(); // gone once no process has it attached
      shm.bytes[0] = 9;
      const moved = new Uint8Array(shm.bytes.buffer.transfer());
      // Not a view of length 0 whose writes go nowhere.
      assert.throws(() => shm.bytes, /transferred away/);
      shm.close(); // it threw, and left the handle half closed
      assert.equal(shm.closed, true);
      assert.equal(moved[0], 9, "the moved buffer still reads the segment");`,
      );
    },
  );

  await t.step("detach() is close()", () => {
    using s = new TestScope();
    const shm = s.segment(SharedMemory.open("private", { size: 16 }));
    const view = shm.bytes;
    shm.detach();
    assert.deepEqual([shm.closed, view.length, segment(shm.id).attached], [true, 0, 0]);
  });

  await t.step("`using` detaches at the end of the block", () => {
    using s = new TestScope();
    const shm = s.segment(SharedMemory.open("private", { size: 16 }));
    let view: Uint8Array;
    {
      using other = SharedMemory.fromId(shm.id);
      view = other.bytes;
      view[0] = 5;
      assert.equal(segment(shm.id).attached, 2);
    }
    assert.deepEqual([view.length, segment(shm.id).attached, shm.bytes[0]], [0, 1, 5]);
  });
});

Deno.test("SharedMemory.read() and readInto() copy, with range checks, on any handle", () => {
  using s = new TestScope();
  const shm = s.segment(SharedMemory.open("private", { size: 10 }));
  shm.bytes.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...shm.read()], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...shm.read(7)], [7, 8, 9]);
  assert.deepEqual([...shm.read(2, 3)], [2, 3, 4]);
  assert.equal(shm.read(10).length, 0);
  const copy = shm.read(0, 1);
  copy[0] = 99;
  assert.equal(shm.bytes[0], 0, "a copy, not a view");
  const target = new Uint8Array(4);
  assert.equal(shm.readInto(target, 8), 2);
  assert.deepEqual([...target], [8, 9, 0, 0]);
  assert.equal(shm.readInto(target), 4);
  assert.deepEqual([...target], [0, 1, 2, 3]);
  assert.equal(shm.readInto(target, 10), 0);
  assert.throws(() => shm.read(11), RangeError);
  assert.throws(() => shm.read(-1), RangeError);
  assert.throws(() => shm.read(0, 11), RangeError);
  assert.throws(() => shm.read(5, 6), RangeError);
  assert.throws(() => shm.read(0, -1), RangeError);
  assert.throws(() => shm.readInto(target, 11), RangeError);
  assert.throws(() => shm.readInto(new Int8Array(2) as unknown as Uint8Array), TypeError);
});

Deno.test("readInto() a view of the same memory, through this mapping or another, copies as TypedArray.set() does", () => {
  using s = new TestScope();
  const shm = s.segment(SharedMemory.open("private", { size: 4096 }));
  using other = SharedMemory.fromId(shm.id); // a second attachment: the same bytes at another address
  for (const target of [shm.bytes, other.bytes]) {
    shm.bytes.forEach((_, i) => shm.bytes[i] = i & 255);
    const expected = shm.bytes.slice(0, 2000);
    assert.equal(shm.readInto(target.subarray(64, 2064), 0), 2000);
    assert.deepEqual(shm.bytes.slice(64, 2064), expected);
  }
});

Deno.test("a read-only SharedMemory handle has no writable view; nothing through it crashes", async () => {
  await using s = new TestScope();
  const shm = s.segment(SharedMemory.open("private", { size: 256 }));
  shm.bytes.set(encoder.encode("first"));
  const child = withOutput(s, "shm_readonly.ts", [String(shm.id), "first"]);
  // Its mapping in /proc/<pid>/maps: the attachment is complete (the count rises earlier).
  const perms = await s.check(() => {
    const pid = child.fixture.pid;
    // One read of /proc per look (two reads disagreed once under qemu-user), taken once the kernel
    // counts the attachment too.
    return until(() => {
      const perms = mappingsOf(pid, shm.id);
      return perms.length > 0 && segment(shm.id).attached === 2 && perms;
    }, "the attach");
  });
  assert.deepEqual(perms, ["r--s"], "attached read-only");
  assert.equal(segment(shm.id).attached, 2);
  assert.deepEqual(mappingsOf(Deno.pid, shm.id), ["rw-s"]);
  shm.bytes.set(encoder.encode("second"), 100);
  const result = await report(child);
  assert.match(result.bytesMessage as string, /read-only.*read\(\).*readInto\(\)/s);
  delete result.bytesMessage;
  assert.deepEqual(result, {
    access: "read",
    bytes: "TypeError",
    read: "first",
    readAll: true,
    copyIsOwn: true,
    readInto: [5, "first"],
    readIntoTail: 3,
    readIntoEnd: 0,
    readPastEnd: "RangeError",
    readNegative: "RangeError",
    readFraction: "RangeError",
    readTooLong: "RangeError",
    readIntoPastEnd: "RangeError",
    readIntoNotBytes: "TypeError",
    attached: 2,
    closeTwice: "ok",
    readAfterClose: "BadResource",
    readIntoAfterClose: "BadResource",
    bytesAfterClose: "BadResource",
  });
  assert.equal(shm.bytes[0], "f".charCodeAt(0), "the segment is unchanged");
  assert.equal(shm.stat().attached, 1);
});

Deno.test("SharedMemory.open(key) without create asks for no permission bits", async () => {
  await using s = new TestScope();
  const key = await freshKey(s);
  // Owner may read, not write: shmget(key, 0, 0) opens it; asking for 0600 would be EACCES.
  const shm = s.segment(
    SharedMemory.open(key, { create: true, exclusive: true, size: 64, mode: 0o400 }),
  );
  shm.bytes.set(encoder.encode("ok"));
  const result = await report(withOutput(s, "shm_nocap.ts", [String(key), String(shm.id)]));
  // Whatever the child made and could not remove is removed with the scope.
  for (const id of (result.left as number[] | undefined) ?? []) s.segment(id);
  const denied = (syscall: string) => ({ name: "PermissionDenied", code: "EACCES", syscall });
  assert.deepEqual(result, {
    openReadOnly: "ok",
    fromIdReadOnly: "ok",
    openReadWrite: denied("shmat"),
    fromIdReadWrite: denied("shmat"),
    openCreate: denied("shmget"),
    createUnreadable: denied("shmctl"),
    left: [],
  });
});
