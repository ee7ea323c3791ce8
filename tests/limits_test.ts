/**
 * Limits, sizes and exhaustion, as real kernel objects meet them: messages at
 * and past msgmax, msgmax changed by the administrator, pipe writes around
 * PIPE_BUF and the pipe's capacity, empty reads, datagrams past the socket's
 * limit, descriptor passing at SCM_MAX_FD, shared memory and semaphore
 * bounds, POSIX names at NAME_MAX, Unix socket paths at sun_path, and a
 * process out of descriptors (RLIMIT_NOFILE lowered in a child).
 */
import assert from "node:assert/strict";
import {
  datagram,
  IpcError,
  listen,
  PosixMessageQueue,
  PosixSharedMemory,
  SemaphoreSet,
  socketpair,
} from "../mod.ts";
import {
  devShm,
  EMULATED,
  evalInChild,
  existsSync,
  fdTarget,
  libc,
  MOD_URL,
  openFds,
  procSysInt,
  readProcFile,
  systemError,
  TestScope,
} from "./_kernel.ts";

const F_GETPIPE_SZ = 1032;
const PIPE_BUF = 4096;
const KERNEL = new URL("./_kernel.ts", import.meta.url).href;

function pattern(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 9)) & 0xff;
  return b;
}

Deno.test("MessageQueue at msgmax: refused past it, E2BIG keeps the message, noError cuts", async () => {
  await using s = new TestScope();
  const q = s.messageQueue();
  const msgmax = procSysInt("kernel/msgmax");
  const big = pattern(msgmax);
  q.sendSync(big);
  for (
    const send of [
      () => q.sendSync(new Uint8Array(msgmax + 1)),
      () => q.trySend(new Uint8Array(msgmax + 1)),
    ]
  ) {
    assert.throws(send, RangeError);
  }
  await assert.rejects(q.send(new Uint8Array(msgmax + 1)), RangeError);
  const e2big = systemError(IpcError, "E2BIG", "msgrcv", { id: q.id });
  assert.throws(() => q.receiveSync({ maxSize: msgmax - 1 }), e2big);
  assert.throws(() => q.tryReceive({ maxSize: 1 }), e2big);
  await assert.rejects(q.receive({ maxSize: 0 }), e2big);
  assert.throws(() => q.receiveIntoSync(new Uint8Array(msgmax - 1)), e2big);
  assert.deepEqual([q.stat().messages, q.stat().bytes], [1, msgmax], "still queued");
  const cut = q.receiveSync({ maxSize: 100, noError: true });
  assert.deepEqual(cut.data, big.subarray(0, 100));
  assert.equal(q.stat().messages, 0);
});

Deno.test("MessageQueue follows msgmax raised or lowered after it was read", async () => {
  await using s = new TestScope();
  // A new IPC namespace of its own (for the main thread, where every call here
  // runs): its msgmax may be changed, and its queues die with it.
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { MessageQueue } from "${MOD_URL}";
    const own = Deno.dlopen("libc.so.6", {
      unshare: { parameters: ["i32"], result: "i32" },
      msgsnd: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
    }).symbols;
    assert.equal(own.unshare(0x08000000), 0, "unshare(CLONE_NEWIPC)");
    const msgmax = (n) => Deno.writeTextFileSync("/proc/sys/kernel/msgmax", String(n));
    const rawSend = (q, size) => {
      const buf = new Uint8Array(8 + size);
      buf[0] = 1;
      assert.equal(own.msgsnd(q.id, buf, BigInt(size), 0), 0, "msgsnd");
    };
    msgmax(8192);
    const q = MessageQueue.open("private");
    q.sendSync("a");
    q.receiveSync(); // msgmax read: 8192
    const receives = [
      () => q.receiveSync(),
      () => q.tryReceive(),
      () => q.receive(),
    ];
    for (const receive of receives) {
      // This process reads 8192 again: a message larger than that is refused.
      msgmax(8192);
      assert.throws(() => q.sendSync(new Uint8Array(16385)), RangeError);
      msgmax(16384);
      rawSend(q, 10000); // another process's message, under the raised msgmax
      assert.equal((await receive()).data.length, 10000);
    }
    // Sent before msgmax was lowered: larger than msgmax, yet taken by a receive with room for it.
    // (One at a time: two would pass the queue's 16384 bytes, msgmnb.)
    for (const receive of [
      () => q.receiveSync({ maxSize: 16384 }).data.length,
      () => q.receiveIntoSync(new Uint8Array(16384)).size,
    ]) {
      msgmax(16384);
      rawSend(q, 12000);
      msgmax(8192);
      assert.throws(() => q.sendSync(new Uint8Array(16385)), RangeError); // 8192 read again
      assert.throws(() => q.tryReceive(), (e) => e.code === "E2BIG"); // maxSize: msgmax
      assert.equal(receive(), 12000);
    }
    // A receive waiting since msgmax was 8192, when this process has read the raised one since
    // (its own send of the larger message): tried again, not E2BIG.
    msgmax(8192);
    assert.throws(() => q.sendSync(new Uint8Array(16385)), RangeError); // 8192 read again
    const pending = q.receive();
    msgmax(16384);
    q.sendSync(new Uint8Array(10000)); // 16384 read
    assert.equal((await pending).data.length, 10000);
    msgmax(4096);
    assert.throws(() => q.sendSync(new Uint8Array(5000)), (e) => {
      assert.ok(e instanceof RangeError, String(e));
      assert.equal(e.name, "RangeError");
      assert.match(e.message, /msgmax \\(4096 bytes/);
      assert.equal(e.code, "EINVAL");
      return true;
    });
    assert.equal(q.stat().messages, 0);
    q.remove();
    `,
  );
});

Deno.test("a send to a queue this user may write but not read, past a lowered msgmax, names msgmax", async () => {
  // Its EINVAL was taken for a removed queue (EIDRM): the look at the queue (IPC_STAT) that
  // tells the two apart failed with EACCES, which is no removal.
  await using s = new TestScope();
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { MessageQueue } from "${MOD_URL}";
    const own = Deno.dlopen("libc.so.6", { unshare: { parameters: ["i32"], result: "i32" } }).symbols;
    assert.equal(own.unshare(0x08000000), 0, "unshare(CLONE_NEWIPC)");
    const msgmax = (n) => Deno.writeTextFileSync("/proc/sys/kernel/msgmax", String(n));
    msgmax(8192);
    const q = MessageQueue.open("private", { mode: 0o200 }); // its owner may write, not read
    q.sendSync(new Uint8Array(100)); // msgmax read: 8192
    assert.throws(() => q.stat(), Deno.errors.PermissionDenied);
    msgmax(50);
    assert.throws(() => q.sendSync(new Uint8Array(100)), (e) => {
      assert.equal(e.name, "RangeError", String(e));
      assert.match(e.message, /msgmax \\(50 bytes/);
      return true;
    });
    q.remove();
    `,
    // Root passes every IPC permission check through CAP_IPC_OWNER: dropped.
    ["/usr/bin/setpriv", "--inh-caps=-ipc_owner", "--bounding-set=-ipc_owner", "--"],
  );
});

Deno.test("System V objects past the system's count: ENOSPC names the limit reached", async () => {
  await using s = new TestScope();
  // In an IPC namespace of its own, whose limits may be lowered and whose objects die with it.
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { MessageQueue, SemaphoreSet, SharedMemory } from "${MOD_URL}";
    const own = Deno.dlopen("libc.so.6", {
      unshare: { parameters: ["i32"], result: "i32" },
    }).symbols;
    assert.equal(own.unshare(0x08000000), 0, "unshare(CLONE_NEWIPC)");
    Deno.writeTextFileSync("/proc/sys/kernel/msgmni", "1");
    Deno.writeTextFileSync("/proc/sys/kernel/shmmni", "1");
    Deno.writeTextFileSync("/proc/sys/kernel/sem", "250 32000 32 1");
    MessageQueue.open("private");
    SharedMemory.open("private", { size: 4096 });
    SemaphoreSet.open("private", { count: 1 });
    const full = (re) => (e) => e.code === "ENOSPC" && re.test(e.message);
    assert.throws(() => MessageQueue.open("private"), full(/kernel\\.msgmni \\(1\\) queues/));
    // shmall's default, 2^64 - 2^24 - 1, is past 2^53: it was printed rounded.
    const shmall = Deno.readTextFileSync("/proc/sys/kernel/shmall").trim();
    assert.throws(
      () => SharedMemory.open("private", { size: 4096 }),
      (e) => full(/kernel\\.shmmni \\(1\\) segments/)(e) && e.message.includes(\`(\${shmall}) pages\`),
    );
    assert.throws(
      () => SemaphoreSet.open("private", { count: 1 }),
      full(/SEMMNI \\(1\\) sets or SEMMNS \\(32000\\) semaphores/),
    );
    `,
  );
});

Deno.test("pipe writes around PIPE_BUF and the pipe's capacity", async (t) => {
  await t.step("a write of PIPE_BUF is all or nothing; one byte more goes in part", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const capacity = libc.fcntl(p.writer.fd, F_GETPIPE_SZ, 0);
    // Every page but the last full, which has 100 bytes free.
    p.writer.writeSync(new Uint8Array(capacity - 100));
    assert.throws(() => p.writer.tryWrite(new Uint8Array(PIPE_BUF)), Deno.errors.WouldBlock);
    // Past PIPE_BUF a write may be split: what the kernel took is reported.
    const part = p.writer.tryWrite(pattern(PIPE_BUF + 1));
    assert.ok(part > 0 && part <= 100, `${part}`);
    const all = new Uint8Array(capacity);
    let got = 0;
    while (got < capacity - 100 + part) got += p.reader.readSync(all.subarray(got))!;
    assert.deepEqual(all.subarray(capacity - 100, got), pattern(part));
    p.writer.writeSync(new Uint8Array(capacity)); // full again
    assert.throws(
      () => p.writer.writeSync(new Uint8Array(PIPE_BUF), { timeout: 0 }),
      (e) =>
        e instanceof Deno.errors.TimedOut && (e as { bytesWritten?: number }).bytesWritten === 0,
    );
  });

  await t.step(
    "16 MiB: tryWrite and a timed-out write report what went, async writes it all",
    async () => {
      await using s = new TestScope();
      const p = s.pipe();
      const capacity = libc.fcntl(p.writer.fd, F_GETPIPE_SZ, 0);
      const data = pattern(16 << 20);
      assert.equal(p.writer.tryWrite(data), capacity);
      const drain = new Uint8Array(capacity);
      let got = 0;
      while (got < capacity) got += p.reader.readSync(drain.subarray(got))!;
      assert.deepEqual(drain, data.subarray(0, capacity));
      for (const write of [() => p.writer.writeSync(data, { timeout: 0 })]) {
        assert.throws(write, (e) => (e as { bytesWritten?: number }).bytesWritten === capacity);
      }
      while (got > 0) got -= p.reader.readSync(drain.subarray(0, got))!;
      for (const size of [PIPE_BUF, PIPE_BUF + 1, 64 << 10, 1 << 20, 16 << 20]) {
        const reading = (async () => {
          const out = new Uint8Array(size);
          let n = 0;
          while (n < size) n += (await p.reader.read(out.subarray(n)))!;
          return out;
        })();
        assert.equal(await p.writer.write(data.subarray(0, size)), size);
        assert.deepEqual(await reading, data.subarray(0, size), `${size} bytes`);
      }
    },
  );

  await t.step("reads into an empty buffer return 0 and take nothing", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const [a, b] = s.handle(socketpair("stream"));
    for (const r of [p.reader, b]) {
      assert.equal(r.tryRead(new Uint8Array(0)), 0);
    }
    p.writer.writeSync("x");
    a.writeSync("y");
    for (const r of [p.reader, b]) {
      assert.equal(r.readSync(new Uint8Array(0)), 0);
      assert.equal(await r.read(new Uint8Array(0)), 0);
      assert.equal(r.tryRead(new Uint8Array(0)), 0);
      assert.equal(r.readSync(new Uint8Array(4)), 1, "the byte is still there");
    }
  });
});

Deno.test("datagrams past the socket's limit: EMSGSIZE says how large", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir();
  const tooLarge = 1 << 20;
  for (const kind of ["datagram", "seqpacket"] as const) {
    const [a, b] = s.handle(socketpair(kind));
    const e = systemError(IpcError, "EMSGSIZE", "send", `a message of ${tooLarge} bytes`);
    assert.throws(() => a.sendSync(new Uint8Array(tooLarge)), e);
    assert.throws(() => a.trySend(new Uint8Array(tooLarge)), e);
    await assert.rejects(a.send(new Uint8Array(tooLarge)), e);
    a.sendSync(pattern(64 << 10));
    assert.deepEqual(b.receiveSync(), pattern(64 << 10));
  }
  const d = s.handle(datagram({ path: `${dir}/d.sock` }));
  assert.throws(
    () => d.sendToSync(new Uint8Array(tooLarge), { path: `${dir}/d.sock` }),
    systemError(IpcError, "EMSGSIZE", "sendto", `a message of ${tooLarge} bytes`),
  );
});

Deno.test({
  name: "descriptor passing at SCM_MAX_FD, and into room for fewer",
  // qemu-user receives into a control buffer larger than the caller's and leaks the fds it
  // cannot hand on (2 of 3 received leaves one open): the kernel's closing is seen natively only.
  ignore: EMULATED,
}, async () => {
  await using s = new TestScope();
  const p = s.pipe();
  // Descriptors of this pipe only: other test modules open and close theirs meanwhile.
  const target = fdTarget(p.reader.fd);
  const onPipe = () => [...openFds().values()].filter((t) => t === target).length;
  for (const kind of ["stream", "seqpacket", "datagram"] as const) {
    const [a, b] = s.handle(socketpair(kind));
    assert.throws(() => a.sendFdsSync([]), RangeError);
    assert.throws(() => a.sendFdsSync(Array(254).fill(p.reader)), RangeError);
    a.sendFdsSync(Array(253).fill(p.reader), "all");
    {
      using all = b.receiveFdsSync()!;
      assert.deepEqual([all.fds.length, all.truncated], [253, false]);
    }
    a.sendFdsSync(Array(253).fill(p.writer), "few");
    {
      using few = b.receiveFdsSync({ max: 2 })!;
      assert.deepEqual([few.fds.length, few.truncated], [2, true]);
      assert.equal(new TextDecoder().decode(few.data), "few");
    }
    a.close();
    b.close();
  }
  assert.equal(onPipe(), 2, "no received descriptor left behind");
});

Deno.test("shared memory and semaphore bounds", async () => {
  await using s = new TestScope();
  const page = 4096;
  for (const size of [1, page, page + 1]) {
    const name = s.shmName();
    const shm = s.handle(PosixSharedMemory.open(name, { create: true, size }));
    assert.equal(shm.bytes.length, size);
    shm.bytes[size - 1] = 7;
    assert.throws(() => shm.resize(0), RangeError);
    assert.equal(shm.bytes[size - 1], 7);
  }
  assert.throws(() => PosixSharedMemory.open(s.shmName(), { create: true, size: 0 }), RangeError);
  // A mapping no address space holds: refused, and the new name is gone again.
  const huge = s.shmName();
  assert.throws(
    () => PosixSharedMemory.open(huge, { create: true, size: 2 ** 53 - 1 }),
    systemError(IpcError, "ENOMEM", "mmap"),
  );
  assert.ok(!devShm().includes(huge.slice(1)));

  const limits = SemaphoreSet.limits();
  assert.throws(() => SemaphoreSet.open("private", { count: limits.maxMembers + 1 }), RangeError);
  const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1 }));
  assert.throws(() => set.setValue(0, limits.maxValue + 1), RangeError);
  set.setValue(0, limits.maxValue);
  assert.throws(
    () => set.tryOp([{ index: 0, delta: 1 }]),
    systemError(IpcError, "ERANGE", "semop", "SEMVMX"),
  );
  assert.deepEqual(set.values(), [limits.maxValue]);
});

Deno.test("names at NAME_MAX and Unix socket paths at sun_path", async () => {
  await using s = new TestScope();
  const at = s.posixName(`/${"q".repeat(255)}`);
  s.handle(PosixMessageQueue.open(at, { create: true, maxMessages: 1, messageSize: 8 }));
  assert.throws(() => PosixMessageQueue.open(`/${"q".repeat(256)}`, { create: true }), RangeError);
  const shm = s.shmName(`/${"m".repeat(255)}`);
  s.handle(PosixSharedMemory.open(shm, { create: true, size: 1 }));
  assert.throws(
    () => PosixSharedMemory.open(`/${"m".repeat(256)}`, { create: true, size: 1 }),
    RangeError,
  );
  const dir = await s.tempDir();
  const path = (bytes: number) => `${dir}/${"s".repeat(bytes - dir.length - 1)}`;
  s.handle(listen({ path: path(107) }));
  assert.throws(() => listen({ path: path(108) }), RangeError);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name.length), [107 - dir.length - 1]);
});

Deno.test({
  name: "out of descriptors (RLIMIT_NOFILE): typed errors, nothing half-made",
  ignore: !existsSync("/usr/bin/prlimit"),
  fn: async () => {
    await using s = new TestScope();
    const dir = await s.tempDir();
    const names = [s.posixName(), s.shmName(), s.semName()];
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { listen, pipe, PosixMessageQueue, PosixSemaphore, PosixSharedMemory, RecordLocks } from "${MOD_URL}";
      import { libc, openFds } from "${KERNEL}";
      const [mq, shm, sem] = ${JSON.stringify(names)};
      const calls = {
        pipe2: () => pipe(),
        socket: () => listen({ path: "${dir}/l.sock" }),
        mq_open: () => PosixMessageQueue.open(mq, { create: true }),
        shm_open: () => PosixSharedMemory.open(shm, { create: true, size: 1 }),
        sem_open: () => PosixSemaphore.open(sem, { create: true }),
        open: () => RecordLocks.open("${dir}/file.lock", { create: true }),
      };
      const count = openFds().size;
      // Only the calls run while no descriptor is free (Deno itself may need one).
      const held = [];
      for (let fd = libc.fcntl(0, 0, 0); fd >= 0; fd = libc.fcntl(0, 0, 0)) held.push(fd);
      const got = {};
      for (const [syscall, call] of Object.entries(calls)) {
        try {
          got[syscall] = call();
        } catch (e) {
          got[syscall] = e;
        }
      }
      libc.close(held.pop()); // one free: a listener needs no second one
      let one;
      try {
        one = listen({ path: "${dir}/one.sock" });
      } catch (e) {
        one = e;
      }
      for (const fd of held) libc.close(fd);
      for (const [syscall, e] of Object.entries(got)) {
        assert.ok(e instanceof Error, syscall + " succeeded with no descriptor free");
        assert.deepEqual([e.code, e.syscall], ["EMFILE", syscall], String(e));
      }
      assert.ok(!(one instanceof Error), String(one));
      one.close();
      assert.equal(openFds().size, count, "no descriptor left behind");
      `,
      ["/usr/bin/prlimit", "--nofile=256:256"],
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no socket file nor lock file left");
  },
});

Deno.test({
  name: "out of descriptors (RLIMIT_NOFILE): a parked wait still ends at its timeout or abort",
  ignore: !existsSync("/usr/bin/prlimit"),
  fn: async () => {
    await using s = new TestScope();
    const lockFile = `${await s.tempDir()}/lock`;
    // Ending a parked call means finding its pool thread in /proc, which takes a
    // descriptor: the engine keeps one in reserve from its first parked call on.
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { MessageQueue, RecordLocks, SemaphoreSet } from "${MOD_URL}";
      import { libc } from "${KERNEL}";
      Deno.addSignalListener("SIGUSR2", () => {}); // what Deno opens for signals, opened now
      const q = MessageQueue.open("private");
      const set = SemaphoreSet.open("private", { count: 1 });
      // A lock wait: another open of the file holds it.
      using holder = RecordLocks.open("${lockFile}", { create: true });
      using locks = RecordLocks.open("${lockFile}");
      holder.tryLock();
      try {
        await assert.rejects(q.receive({ type: 3, timeout: 30 }), Deno.errors.TimedOut);
        const held = [];
        for (let fd = libc.fcntl(0, 0, 0); fd >= 0; fd = libc.fcntl(0, 0, 0)) held.push(fd);
        const got = await Promise.allSettled([
          q.receive({ type: 1, timeout: 100 }),
          set.op([{ index: 0, delta: -1 }], { timeout: 100 }),
          q.receive({ type: 2, signal: AbortSignal.timeout(100) }),
          locks.lock({ start: 0, length: 1, timeout: 100 }),
          locks.lock({ start: 1, length: 1, signal: AbortSignal.timeout(100) }),
        ]);
        for (const fd of held) libc.close(fd);
        assert.deepEqual(
          got.map((r) => r.status !== "rejected" ? "done" : r.reason instanceof DOMException ? r.reason.name : r.reason.code),
          ["ETIMEDOUT", "ETIMEDOUT", "TimeoutError", "ETIMEDOUT", "TimeoutError"],
        );
        assert.equal(locks.held.length, 0);
      } finally {
        q.remove();
        set.remove();
      }
      `,
      ["/usr/bin/prlimit", "--nofile=256:256"],
    );
  },
});

Deno.test({
  name:
    "out of descriptors (RLIMIT_NOFILE): a first fd wait that cannot start names its call and fd",
  ignore: !existsSync("/usr/bin/prlimit"),
  fn: async () => {
    await using s = new TestScope();
    // The engine's epoll could not be made: the error named epoll_create1, not the read.
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { pipe } from "${MOD_URL}";
      import { libc } from "${KERNEL}";
      using p = pipe();
      const held = [];
      for (let fd = libc.fcntl(0, 0, 0); fd >= 0; fd = libc.fcntl(0, 0, 0)) held.push(fd);
      try {
        await assert.rejects(p.reader.read(new Uint8Array(8)), (e) =>
          e.code === "EMFILE" && e.syscall === "read" && e.fd === p.reader.fd &&
          e.message.includes("read fd " + p.reader.fd + " (the wait needs an epoll"));
      } finally {
        for (const fd of held) libc.close(fd);
      }
      const reading = p.reader.read(new Uint8Array(8));
      p.writer.writeSync("after");
      assert.equal(await reading, 5);
      `,
      ["/usr/bin/prlimit", "--nofile=256:256"],
    );
  },
});

Deno.test({
  name: "out of descriptors (RLIMIT_NOFILE): a child spawned with the last one is still reaped",
  ignore: !existsSync("/usr/bin/prlimit"),
  fn: async () => {
    await using s = new TestScope();
    // Its pidfd takes the last descriptor, so the engine's epoll cannot start: the
    // wait for it polls, and its status settles once it ends (it rejected with EMFILE,
    // and the child stayed a zombie for good).
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { spawnProgram } from "${MOD_URL}";
      import { libc } from "${KERNEL}";
      const held = [];
      for (let fd = libc.fcntl(0, 0, 0); fd >= 0; fd = libc.fcntl(0, 0, 0)) held.push(fd);
      libc.close(held.pop());
      try {
        const child = spawnProgram("/bin/true");
        assert.equal(libc.fcntl(0, 0, 0), -1, "the pidfd took the last descriptor");
        assert.deepEqual(await child.status, { success: true, code: 0, signal: null });
      } finally {
        for (const fd of held) libc.close(fd);
      }
      const children = "/proc/self/task/" + Deno.pid + "/children";
      assert.equal(Deno.readTextFileSync(children).trim(), "", "no zombie left");
      `,
      ["/usr/bin/prlimit", "--nofile=256:256"],
    );
  },
});

Deno.test({
  name: "spawn: a target fd at the descriptor limit is a RangeError that says so",
  ignore: !existsSync("/usr/bin/prlimit"),
  fn: async () => {
    await using s = new TestScope();
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { pipe, spawnProgram } from "${MOD_URL}";
      using p = pipe();
      assert.throws(
        () => spawnProgram("/bin/true", [], { fds: { 99: p.writer } }),
        (e) => e instanceof RangeError && /target 99 .*RLIMIT_NOFILE/.test(e.message),
      );
      const child = spawnProgram("/bin/true", [], { fds: { 98: p.writer } });
      assert.equal((await child.status).code, 0);
      `,
      ["/usr/bin/prlimit", "--nofile=100:100"],
    );
  },
});

Deno.test("SemaphoreSet made where one semop takes a single operation (SEMOPM 1)", async () => {
  // Its initialisation marked the set with two operations, refused: "ops must hold 1..1".
  await using s = new TestScope();
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { SemaphoreSet } from "${MOD_URL}";
    const own = Deno.dlopen("libc.so.6", { unshare: { parameters: ["i32"], result: "i32" } });
    assert.equal(own.symbols.unshare(0x08000000), 0, "unshare(CLONE_NEWIPC)");
    const [semmsl, semmns, , semmni] = Deno.readTextFileSync("/proc/sys/kernel/sem").trim().split(/\\s+/);
    Deno.writeTextFileSync("/proc/sys/kernel/sem", [semmsl, semmns, 1, semmni].join(" "));
    assert.equal(SemaphoreSet.limits().maxOpsPerCall, 1);
    for (const values of [[1, 1], [2, 3, 4], [0, 5, 0], [7, 0]]) {
      using set = SemaphoreSet.open("private", { count: values.length, values });
      assert.deepEqual(set.values(), values);
      assert.notEqual(set.stat().lastOp, null, "marked initialised");
      set.remove();
    }
    `,
  );
});

Deno.test({
  name: "signals with a value past RLIMIT_SIGPENDING: WouldBlock names the limit, none is lost",
  ignore: !existsSync("/usr/bin/prlimit"),
  fn: async () => {
    await using s = new TestScope();
    // The limit counts what every process of this user has queued: 16 more than now.
    const queued = Number(/^SigQ:\s*(\d+)\//m.exec(readProcFile("/proc/self/status"))![1]);
    const limit = queued + 16;
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { sendSignal, signals } from "${MOD_URL}";
      using reader = signals(["SIGRTMIN+1"]);
      let sent = 0;
      const refused = (() => {
        try {
          for (;; sent++) sendSignal(Deno.pid, "SIGRTMIN+1", { value: sent });
        } catch (e) {
          return e;
        }
      })();
      assert.ok(refused instanceof Deno.errors.WouldBlock, String(refused));
      assert.equal(refused.code, "EAGAIN");
      assert.match(refused.message, /sigqueue pid \\d+ .*RLIMIT_SIGPENDING/);
      assert.ok(sent > 0 && sent <= ${limit}, String(sent));
      for (let i = 0; i < sent; i++) assert.equal(reader.tryRead().value, i);
      `,
      ["/usr/bin/prlimit", `--sigpending=${limit}`],
      ["SIGRTMIN+1"],
    );
  },
});
