/**
 * `setOwnership()` of System V queues, segments and semaphore sets
 * (`IPC_SET`): what it changes, as `stat()` and /proc/sysvipc show it; what
 * it refuses before any call; its errors on closed handles and removed
 * objects; and, as root, what it lets another user do, and refuses that user.
 */
import assert from "node:assert/strict";
import {
  IpcError,
  MessageQueue,
  Semaphore,
  SemaphoreSet,
  SharedMemory,
  type SysvOwnership,
  type SysvOwnershipChange,
} from "../mod.ts";
import {
  evalInChild,
  existsSync,
  hasCapability,
  MOD_URL,
  readProcFile,
  systemError,
  sysvQueues,
  sysvSegments,
  sysvSemaphoreSets,
  TestScope,
} from "./_kernel.ts";
import { Lines } from "./fixtures/socket_common.ts";
import { procPerm } from "../src/_sysv.ts";

/** This process's user and group (Linux: never null). */
const UID = Deno.uid()!;
const GID = Deno.gid()!;
/** Another user and group: nobody. */
const NOBODY = 65534;

/** A handle of any of the families. */
interface Owned {
  readonly id: number;
  stat(): SysvOwnership;
  setOwnership(change: SysvOwnershipChange): void;
  remove(): void;
  close(): void;
}

/** What the kernel lists of an object in /proc/sysvipc (what `ipcs` shows). */
interface Row {
  uid: number;
  gid: number;
  mode: number;
}

interface Family {
  name: string;
  syscall: string;
  /** A new private object, 0600, that the scope removes. */
  make(s: TestScope): Owned;
  /** Another handle on object `id`, that the scope closes. */
  again(s: TestScope, id: number): Owned;
  /** Its row in /proc/sysvipc, or undefined when the kernel does not list it. */
  row(id: number): Row | undefined;
}

const setRow = (id: number): Row | undefined => {
  const r = sysvSemaphoreSets().get(id);
  return r && { uid: r.uid, gid: r.gid, mode: r.mode };
};

const FAMILIES: Family[] = [
  {
    name: "MessageQueue",
    syscall: "msgctl",
    make: (s) => s.messageQueue("private"),
    again: (s, id) => s.handle(MessageQueue.fromId(id)),
    row: (id) => {
      const r = sysvQueues().get(id);
      return r && { uid: r.uid, gid: r.gid, mode: r.mode };
    },
  },
  {
    name: "SharedMemory",
    syscall: "shmctl",
    make: (s) => s.segment(SharedMemory.open("private", { size: 64 })),
    again: (s, id) => s.handle(SharedMemory.fromId(id)),
    row: (id) => {
      const r = sysvSegments().get(id);
      return r && { uid: r.uid, gid: r.gid, mode: r.perms & 0o777 };
    },
  },
  {
    name: "SemaphoreSet",
    syscall: "semctl",
    make: (s) => s.semaphoreSet(SemaphoreSet.open("private", { count: 2 })),
    again: (s, id) => s.handle(SemaphoreSet.fromId(id)),
    row: setRow,
  },
  {
    name: "Semaphore",
    syscall: "semctl",
    make: (s) => s.semaphoreSet(Semaphore.open("private")),
    again: (s, id) => s.handle(Semaphore.fromId(id)),
    row: setRow,
  },
];

/** The owner fields of a `stat()`. */
function owner(st: SysvOwnership): Omit<SysvOwnership, "key"> {
  const { uid, gid, creatorUid, creatorGid, mode } = st;
  return { uid, gid, creatorUid, creatorGid, mode };
}

/** Asserts what `stat()` and /proc/sysvipc say of `h`'s owner and mode (the creator is this process). */
function assertOwner(f: Family, h: Owned, uid: number, gid: number, mode: number): void {
  assert.deepEqual(owner(h.stat()), { uid, gid, creatorUid: UID, creatorGid: GID, mode });
  assert.deepEqual(f.row(h.id), { uid, gid, mode }, `/proc/sysvipc row of ${f.name} ${h.id}`);
}

Deno.test("setOwnership() changes the mode, owner and group as stat() and /proc/sysvipc show them; the creator stays", async (t) => {
  for (const f of FAMILIES) {
    await t.step(f.name, () => {
      using s = new TestScope();
      const h = f.make(s);
      assertOwner(f, h, UID, GID, 0o600);
      h.setOwnership({ mode: 0o640 });
      assertOwner(f, h, UID, GID, 0o640);
      // Given away: any user and group will do (no membership asked, unlike chown), and the
      // creator fields stay, with the creator's right to change and remove it.
      h.setOwnership({ uid: NOBODY, gid: NOBODY });
      assertOwner(f, h, NOBODY, NOBODY, 0o640);
      // A partial change keeps the fields it does not name.
      h.setOwnership({ gid: GID });
      assertOwner(f, h, NOBODY, GID, 0o640);
      h.setOwnership({ mode: 0o604 });
      assertOwner(f, h, NOBODY, GID, 0o604);
      h.setOwnership({});
      assertOwner(f, h, NOBODY, GID, 0o604);
      // The creator changes it back, no longer its owner.
      h.setOwnership({ uid: UID, mode: 0o600 });
      assertOwner(f, h, UID, GID, 0o600);
    });
  }

  await t.step("MessageQueue: the capacity, which IPC_SET writes too, stays", () => {
    using s = new TestScope();
    const q = s.messageQueue("private");
    q.setMaxBytes(4096);
    q.setOwnership({ mode: 0o660 });
    assert.deepEqual([q.stat().maxBytes, q.stat().mode], [4096, 0o660]);
  });

  await t.step("SharedMemory: by id, after detach() and once marked removed", () => {
    using s = new TestScope();
    const f = FAMILIES[1];
    const shm = f.make(s) as SharedMemory;
    const other = f.again(s, shm.id);
    shm.detach();
    shm.setOwnership({ mode: 0o640 });
    assertOwner(f, other, UID, GID, 0o640);
    other.remove();
    // Marked removed, still attached by `other`: the kernel still takes IPC_SET.
    shm.setOwnership({ mode: 0o604 });
    assert.deepEqual([other.stat().mode, (other as SharedMemory).stat().removed], [0o604, true]);
  });
});

Deno.test("setOwnership(): a bad change is a TypeError or RangeError naming the field, before any call, and changes nothing", async (t) => {
  const any = (x: unknown) => x as never;
  const bad: [unknown, new (...args: never[]) => Error, RegExp][] = [
    [undefined, TypeError, /change must be an object/],
    [null, TypeError, /change must be an object/],
    [0o644, TypeError, /change must be an object/],
    ["0o644", TypeError, /change must be an object/],
    [{ owner: 0 }, TypeError, /unknown option 'owner'/],
    [{ perms: 0o644 }, TypeError, /unknown option 'perms'/],
    [{ mode: 0o644, owner: 0 }, TypeError, /unknown option 'owner'/],
    [{ mode: "0o644" }, TypeError, /mode must be .*"0o644"/],
    [{ mode: 0o1000 }, RangeError, /mode must be an integer 0\.\.0o777/],
    [{ mode: -1 }, RangeError, /mode/],
    [{ mode: 1.5 }, RangeError, /mode/],
    [{ uid: -1 }, RangeError, /uid must be an integer 0\.\.2\^32-2, got -1/],
    [{ uid: 2 ** 32 - 1 }, RangeError, /uid .* got 4294967295/],
    [{ uid: 2 ** 32 }, RangeError, /uid/],
    [{ uid: "0" }, TypeError, /uid .* got "0"/],
    [{ uid: 0n }, TypeError, /uid .* got 0n/],
    [{ gid: -1 }, RangeError, /gid .* got -1/],
    [{ gid: NaN }, RangeError, /gid/],
    // Nothing of a change is applied when one field is wrong.
    [{ mode: 0o644, uid: -1 }, RangeError, /uid/],
    [{ uid: NOBODY, gid: 2 ** 32 - 1 }, RangeError, /gid/],
  ];
  for (const f of FAMILIES) {
    await t.step(f.name, () => {
      using s = new TestScope();
      const h = f.make(s);
      for (const [change, Class, message] of bad) {
        assert.throws(
          () => h.setOwnership(any(change)),
          (e) => e instanceof Class && message.test((e as Error).message),
          `${f.name}.setOwnership(${Deno.inspect(change)})`,
        );
      }
      assertOwner(f, h, UID, GID, 0o600);
      // Refused before any call: on an object removed meanwhile too, where a call would fail.
      const other = f.again(s, h.id);
      other.remove();
      assert.throws(() => h.setOwnership({ uid: -1 }), RangeError);
      assert.throws(() => h.setOwnership(any({ owner: 0 })), TypeError);
    });
  }
});

Deno.test("setOwnership() on a closed handle is BadResource; on a removed object, EIDRM (EINVAL for a segment gone)", async (t) => {
  for (const f of FAMILIES) {
    await t.step(f.name, () => {
      using s = new TestScope();
      const h = f.make(s);
      const other = f.again(s, h.id);
      const closed = f.again(s, h.id);
      closed.close();
      if (f.name === "SharedMemory") {
        // A segment is named by id, as C's shmctl names it: detached is not closed to it.
        closed.setOwnership({ mode: 0o640 });
        assert.equal(h.stat().mode, 0o640);
      } else {
        assert.throws(
          () => closed.setOwnership({ mode: 0o640 }),
          systemError(Deno.errors.BadResource, "EBADF", f.syscall, { id: h.id }),
        );
        assert.equal(h.stat().mode, 0o600);
      }
      other.remove();
      if (f.name === "SharedMemory") {
        // Destroyed at its last detach: then no id names it.
        h.close();
        (other as SharedMemory).close();
        assert.equal(f.row(h.id), undefined);
        assert.throws(
          () => h.setOwnership({ mode: 0o600 }),
          systemError(IpcError, "EINVAL", f.syscall, { id: h.id }),
        );
      } else {
        assert.throws(
          () => h.setOwnership({ mode: 0o640 }),
          systemError(IpcError, "EIDRM", f.syscall, { id: h.id }),
        );
      }
    });
  }
});

const CAP_SETGID = 6;
const CAP_SETUID = 7;
const CAP_SYS_ADMIN = 21;
const canSwitchUser = UID === 0 && hasCapability(CAP_SETUID) && hasCapability(CAP_SETGID);
if (!canSwitchUser) {
  console.log("setOwnership across users: skipped, it needs root (CAP_SETUID, CAP_SETGID)");
}

/** A new private queue, segment and semaphore set of root's, 0600, that the scope removes. */
function oneOfEach(s: TestScope) {
  return {
    q: s.messageQueue("private"),
    shm: s.segment(SharedMemory.open("private", { size: 64 })),
    set: s.semaphoreSet(SemaphoreSet.open("private", { count: 1 })),
  };
}

/** The name, code and syscall of an error a child reported. */
function kind(reported: unknown): unknown {
  const { name, code, syscall } = reported as Record<string, unknown>;
  return { name, code, syscall };
}

Deno.test({
  name:
    "setOwnership(): another user is refused a 0600 object until given it, its group or its mode, and may not change root's",
  ignore: !canSwitchUser,
  fn: async () => {
    await using s = new TestScope();
    const { q, shm, set } = oneOfEach(s);
    q.sendSync("from root", { type: 1 });
    const out = s.pipe();
    const go = s.pipe();
    const child = s.fixture("sysv_ownership_child.ts", {
      args: [NOBODY, q.id, shm.id, set.id].map(String),
      fds: { 1: out.writer, 3: go.reader },
    });
    out.writer.close();
    go.reader.close();
    const lines = new Lines(out.reader, child);

    const first = await lines.next("what the child was refused") as Record<string, unknown>;
    await child.check(() =>
      assert.deepEqual(
        { queue: kind(first.queue), segment: kind(first.segment), set: kind(first.set) },
        {
          queue: { name: "PermissionDenied", code: "EACCES", syscall: "msgctl" },
          segment: { name: "PermissionDenied", code: "EACCES", syscall: "shmctl" },
          set: { name: "PermissionDenied", code: "EACCES", syscall: "semctl" },
        },
      )
    );
    q.setOwnership({ uid: NOBODY }); // the queue is the child's user's now
    shm.setOwnership({ mode: 0o666 }); // the segment, every user's
    set.setOwnership({ gid: NOBODY, mode: 0o660 }); // the set, its group's
    go.writer.writeSync("go\n");
    const second = await lines.next("what the child did") as Record<string, unknown>;
    await child.exits(0);

    await child.check(() => {
      assert.equal(second.received, "from root");
      // The owner changes it, may give it to any user (root here), and is then refused.
      assert.deepEqual([second.queueMode, second.queueGiven], ["ok", "ok"]);
      const refused = { name: "PermissionDenied", code: "EPERM" };
      assert.deepEqual(kind(second.queueAgain), { ...refused, syscall: "msgctl" });
      assert.deepEqual(kind(second.segment), { ...refused, syscall: "shmctl" });
      assert.deepEqual(kind(second.set), { ...refused, syscall: "semctl" });
      for (const [what, id] of [["queueAgain", q.id], ["segment", shm.id], ["set", set.id]]) {
        const { message } = second[what] as { message: string };
        assert.ok(message.includes(` id ${id} `), message);
        assert.ok(
          message.includes(
            "only its owner (uid 0), its creator (uid 0) or a process with CAP_SYS_ADMIN may " +
              `change it, and this process runs as uid ${NOBODY}`,
          ),
          message,
        );
      }
    });
    // What the child did, seen from here; its refused changes changed nothing.
    assert.equal(new TextDecoder().decode(q.tryReceive({ type: 2 }).data), "from the new owner");
    assert.deepEqual(owner(q.stat()), {
      uid: 0,
      gid: 0,
      creatorUid: 0,
      creatorGid: 0,
      mode: 0o644,
    });
    assert.deepEqual(FAMILIES[0].row(q.id), { uid: 0, gid: 0, mode: 0o644 });
    const text = "written by another user";
    assert.equal(new TextDecoder().decode(shm.bytes.subarray(0, text.length)), text);
    assert.deepEqual(FAMILIES[1].row(shm.id), { uid: 0, gid: 0, mode: 0o666 });
    assert.equal(set.value(0), 1);
    assert.deepEqual(FAMILIES[2].row(set.id), { uid: 0, gid: NOBODY, mode: 0o660 });
  },
});

const canUnshare = UID === 0 && hasCapability(CAP_SYS_ADMIN) && existsSync("/usr/bin/unshare") &&
  Number(readProcFile("/proc/sys/user/max_user_namespaces")) > 0;
if (!canUnshare) {
  console.log(
    "setOwnership in a user namespace: skipped, it needs root (CAP_SYS_ADMIN), unshare(1) and user namespaces",
  );
}

Deno.test({
  name:
    "setOwnership() in namespaces of its own: EINVAL for an id with no mapping; EPERM for a queue above msgmnb without CAP_SYS_RESOURCE",
  ignore: !canUnshare,
  fn: async () => {
    await using s = new TestScope();
    // A user namespace where only 0 is mapped, and an IPC namespace of its own, whose objects
    // and limits (msgmnb, lowered here) go with it.
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { MessageQueue, SemaphoreSet, SharedMemory } from "${MOD_URL}";
      const q = MessageQueue.open("private");
      const shm = SharedMemory.open("private", { size: 64 });
      const set = SemaphoreSet.open("private", { count: 1 });
      for (const [h, syscall] of [[q, "msgctl"], [shm, "shmctl"], [set, "semctl"]] as const) {
        assert.throws(() => h.setOwnership({ uid: 1000 }), {
          name: "IpcError",
          code: "EINVAL",
          syscall,
          message: /id 0 \\(uid 1000 has no mapping in this user namespace\\)$/,
        });
        assert.throws(() => h.setOwnership({ gid: 1000, mode: 0o640 }), {
          code: "EINVAL",
          message: /gid 1000 has no mapping/,
        });
        const st = h.stat();
        assert.deepEqual([st.uid, st.gid, st.mode], [0, 0, 0o600]);
      }
      // A queue above msgmnb: the kernel refuses every IPC_SET to a process without
      // CAP_SYS_RESOURCE (in the first user namespace), whatever it changes.
      const capacity = q.stat().maxBytes;
      const msgmnb = capacity / 2;
      Deno.writeTextFileSync("/proc/sys/kernel/msgmnb", String(msgmnb));
      assert.throws(() => q.setOwnership({ mode: 0o640 }), (e: Error & { code?: string }) => {
        assert.equal(e.name, "PermissionDenied");
        assert.equal(e.code, "EPERM");
        assert.ok(
          e.message.includes(
            \`its capacity, \${capacity} bytes, is above the kernel's msgmnb (\${msgmnb} bytes\`,
          ) && e.message.includes("CAP_SYS_RESOURCE") && !e.message.includes("only its owner"),
          e.message,
        );
        return true;
      });
      assert.equal(q.stat().mode, 0o600);
      q.setMaxBytes(msgmnb);
      q.setOwnership({ mode: 0o640 });
      assert.deepEqual([q.stat().mode, q.stat().maxBytes], [0o640, msgmnb]);
      q.remove();
      shm.remove();
      shm.close();
      set.remove();
      `,
      ["/usr/bin/unshare", "--user", "--map-root-user", "--ipc"],
    );
  },
});

Deno.test({
  name:
    "setOwnership(): an owner that took its own read permission away gives it back (segments, sets)",
  ignore: !canSwitchUser,
  fn: async () => {
    await using s = new TestScope();
    // Root's objects, given to another user: the child, as that user, is their owner alone.
    const { q, shm, set } = oneOfEach(s);
    for (const h of [q, shm, set]) h.setOwnership({ uid: NOBODY });
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { MessageQueue, SemaphoreSet, SharedMemory } from "${MOD_URL}";
      import { dropTo } from "${new URL("./_kernel.ts", import.meta.url).href}";
      const q = MessageQueue.fromId(${q.id});
      const shm = SharedMemory.fromId(${shm.id});
      const set = SemaphoreSet.fromId(${set.id});
      dropTo(${NOBODY});
      // IPC_STAT needs read permission; IPC_SET, only to be the owner: taken from /proc/sysvipc.
      for (const h of [shm, set]) {
        h.setOwnership({ mode: 0o200 });
        assert.throws(() => h.stat(), Deno.errors.PermissionDenied);
        h.setOwnership({ mode: 0o600 });
        assert.equal(h.stat().mode, 0o600);
        assert.equal(h.stat().uid, ${NOBODY});
      }
      // A queue's IPC_SET also writes its capacity, which only IPC_STAT tells.
      q.setOwnership({ mode: 0o200 });
      assert.throws(() => q.setOwnership({ mode: 0o600 }), (e) => {
        assert.ok(e instanceof Deno.errors.PermissionDenied, String(e));
        assert.match(e.message, /a queue's owner without it cannot change the queue/);
        return true;
      });
      shm.close();
      `,
    );
    assert.deepEqual([shm.stat().mode, set.stat().mode, q.stat().mode], [0o600, 0o600, 0o200]);
  },
});

Deno.test("procPerm() finds an object past the first 8 KiB of /proc/sysvipc", async () => {
  // Each row of /proc/sysvipc/sem takes about 80 bytes: the last of 150 sets is far past it.
  await using s = new TestScope();
  const sets = Array.from(
    { length: 150 },
    () => s.semaphoreSet(SemaphoreSet.open("private", { count: 1, mode: 0o640 })),
  );
  const last = sets.at(-1)!;
  const at = readProcFile("/proc/sysvipc/sem").indexOf(` ${last.id} `);
  assert.ok(at > 8192, `its row at byte ${at}`);
  const { uid, gid, creatorUid, creatorGid, mode } = last.stat();
  assert.deepEqual(procPerm("sem", last.id), {
    uid,
    gid,
    cuid: creatorUid,
    cgid: creatorGid,
    mode,
  });
});
