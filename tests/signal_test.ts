/**
 * Signals between real processes: `sendSignal` (kill, sigqueue, a child's
 * pidfd) and the signalfd reader of `signals()`, in children started with
 * the signals blocked; `relaunchWithSignalsBlocked`. Every step runs after the
 * previous one: signal tests never run in parallel with each other.
 */
import assert from "node:assert/strict";
import {
  type ChildProcess,
  type FdWriter,
  PosixMessageQueue,
  relaunchWithSignalsBlocked,
  sendSignal,
  type SignalInfo,
  type SignalName,
  signals,
  signalsBlocked,
  spawnProgram,
} from "../mod.ts";
import { C, LAYOUTS } from "../ffi/platform.ts";
import { missingTools, runCProbe } from "../ffi/gen/c_probe.ts";
import {
  blockedIn,
  CANNOT,
  EMULATED,
  type Fixture,
  fixtureUrl,
  HANG_MS,
  libc,
  MOD_URL,
  posixQueueNotifier,
  processExists,
  readAll,
  readProcFile,
  readUntil,
  systemError,
  TestScope,
  tryReadProcFile,
  unless,
  until,
  waitingOn,
} from "./_kernel.ts";
import { Lines } from "./fixtures/signal_common.ts";

const SI_USER = 0;
const SI_QUEUE = -1;
/** A pid above PID_MAX_LIMIT (2^22): no process can have it. */
const NO_SUCH_PID = 2 ** 22 + 1;
const me = () => ({ pid: Deno.pid, uid: Deno.uid() });

/** A `signal_reader.ts` child reading `list`, started with `blockSignals`. */
interface ReaderChild {
  fixture: Fixture;
  child: ChildProcess;
  out: Lines;
  /** Its signalfd, as it reported it (undefined when it could not open one). */
  fd?: number;
  /** The first line it printed. */
  first: Record<string, unknown>;
  command(line: string): void;
  /** Ends its commands (end of file on its fd 3): it closes its reader and exits. */
  done(): void;
}

async function readerChild(
  s: TestScope,
  list: SignalName[],
  blockSignals: Array<SignalName | number> = list,
  extra: string[] = [],
  flags = ["--allow-ffi"],
): Promise<ReaderChild> {
  const commands = s.pipe();
  const output = s.pipe();
  const fixture = s.fixture("signal_reader.ts", {
    args: [list.join(","), ...extra],
    flags,
    blockSignals,
    fds: { 1: output.writer, 3: commands.reader },
  });
  output.writer.close();
  commands.reader.close();
  const out = new Lines(output.reader, fixture.label, HANG_MS);
  const first = await fixture.check(() => out.json());
  const writer: FdWriter = commands.writer;
  return {
    fixture,
    child: fixture.child,
    out,
    fd: first.ready as number | undefined,
    first,
    command: (line) => writer.writeSync(`${line}\n`),
    done: () => writer.close(),
  };
}

/** Reads `n` signals reported by `c` (after asking for them with `op`). */
async function take(c: ReaderChild, n: number, op = "read"): Promise<SignalInfo[]> {
  c.command(`${op} ${n}`);
  const got: SignalInfo[] = [];
  for (let i = 0; i < n; i++) got.push(await c.fixture.check(() => c.out.json<SignalInfo>()));
  return got;
}

/** Every signal pending for `c`, read with tryRead() until it would block. */
async function drain(c: ReaderChild): Promise<SignalInfo[]> {
  c.command("drain");
  const got: SignalInfo[] = [];
  for (;;) {
    const line = await c.fixture.check(() => c.out.json<SignalInfo & { drained?: true }>());
    if (line.drained) return got;
    got.push(line);
  }
}

/** Ends `c` (end of file on its commands) and checks that it exits cleanly. */
async function finish(c: ReaderChild): Promise<void> {
  c.done();
  await c.fixture.exits(0);
}

Deno.test("signals between processes", async (t) => {
  await t.step(unless(
    CANNOT.kernelSignals,
    "a POSIX timer's and mq_notify's signals: their value, no sender for the timer, read and readSync alike",
    async () => {
      await using s = new TestScope();
      const c = await readerChild(s, ["SIGRTMIN+3"]);
      const SI_TIMER = -2;
      const SI_MESGQ = -3;
      const timer = { signal: 37, name: "SIGRTMIN+3", pid: 0, uid: 0, value: 88, code: SI_TIMER };
      // The second fires while readSync waits in sigtimedwait(2), whose siginfo has the
      // timer's id where a sender's pid would be.
      for (const op of ["read", "sync"]) {
        c.command("timer 88 200");
        assert.deepEqual(await take(c, 1, op), [timer], op);
      }
      const name = s.posixName();
      using q = PosixMessageQueue.open(name, { create: true });
      // A signal blocked in every thread goes to signals(): a listener would never hear it.
      // (Asked first: the handle it closes would end a request made before.)
      c.command(`notify-listener ${name}`);
      assert.match(
        JSON.stringify(await c.fixture.check(() => c.out.json())),
        /TypeError.*a listener would never hear it/,
      );
      c.command(`notify ${name} 77`);
      await c.fixture.check(() => c.out.json());
      if (CANNOT.mqueueFs === undefined) {
        assert.deepEqual(await posixQueueNotifier(name), { pid: c.child.pid, signal: 37 });
      }
      // One process at a time: this one is refused while the child's request stands.
      assert.throws(
        () => q.requestNotification("SIGUSR2", { listener: () => {} }),
        systemError(Deno.errors.Busy, "EBUSY", "mq_notify", "asked for notification already"),
      );
      q.trySend("wake");
      assert.deepEqual(await take(c, 1), [
        { signal: 37, name: "SIGRTMIN+3", ...me(), value: 77, code: SI_MESGQ },
      ]);
      await finish(c);
    },
  ));

  await t.step("kill(2): code SI_USER, the sender's pid and uid, no value", async () => {
    await using s = new TestScope();
    const c = await readerChild(s, ["SIGUSR1", "SIGUSR2"]);
    sendSignal(c.child.pid, "SIGUSR2");
    assert.deepEqual(await take(c, 1), [
      { signal: 12, name: "SIGUSR2", ...me(), value: null, code: SI_USER },
    ]);
    await finish(c);
  });

  await t.step(
    unless(
      CANNOT.signalMasks,
      "sigqueue(3): code SI_QUEUE and the value, any 32-bit integer",
      async () => {
        await using s = new TestScope();
        const c = await readerChild(s, ["SIGUSR1", "SIGRTMIN+1"]);
        const values = [0, -1, 2 ** 31 - 1, -(2 ** 31), 42];
        for (const value of values) sendSignal(c.child.pid, "SIGRTMIN+1", { value });
        sendSignal(c.child.pid, 10, { value: 7 });
        // Pending signals are read lowest number first; one signal's in the order sent.
        assert.deepEqual(await take(c, values.length + 1), [
          { signal: 10, name: "SIGUSR1", ...me(), value: 7, code: SI_QUEUE },
          ...values.map((value) => ({
            signal: 35,
            name: "SIGRTMIN+1",
            ...me(),
            value,
            code: SI_QUEUE,
          })),
        ]);
        await finish(c);
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.signalMasks,
      "real-time signals queue: three sent before any read arrive in order",
      async () => {
        await using s = new TestScope();
        const c = await readerChild(s, ["SIGRTMIN+1", "SIGRTMAX-2"]);
        // The child reads nothing until told to: all three are pending at once.
        for (const value of [1, 2, 3]) sendSignal(c.child.pid, "SIGRTMAX-2", { value });
        const got = await drain(c);
        assert.deepEqual(got.map((g) => [g.name, g.value]), [
          ["SIGRTMAX-2", 1],
          ["SIGRTMAX-2", 2],
          ["SIGRTMAX-2", 3],
        ]);
        await finish(c);
      },
    ),
  );

  await t.step("standard signals coalesce: three sent before any read are one", async () => {
    await using s = new TestScope();
    const c = await readerChild(s, ["SIGUSR2"]);
    for (const value of [1, 2, 3]) sendSignal(c.child.pid, "SIGUSR2", { value });
    sendSignal(c.child.pid, "SIGUSR2");
    // The first one sent stays pending; the others are dropped.
    assert.deepEqual(await drain(c), [
      { signal: 12, name: "SIGUSR2", ...me(), value: 1, code: SI_QUEUE },
    ]);
    await finish(c);
  });

  await t.step(
    unless(
      CANNOT.signalMasks,
      "to a ChildProcess: through its pidfd, with and without a value",
      async () => {
        await using s = new TestScope();
        const c = await readerChild(s, ["SIGUSR1", "SIGRTMIN+2"]);
        sendSignal(c.child, "SIGRTMIN+2", { value: 9 });
        sendSignal(c.child, "SIGRTMIN+2", { value: -9 });
        sendSignal(c.child, "SIGUSR1");
        assert.deepEqual(await take(c, 3), [
          { signal: 10, name: "SIGUSR1", ...me(), value: null, code: SI_USER },
          { signal: 36, name: "SIGRTMIN+2", ...me(), value: 9, code: SI_QUEUE },
          { signal: 36, name: "SIGRTMIN+2", ...me(), value: -9, code: SI_QUEUE },
        ]);
        c.child.kill("SIGKILL");
        await c.child.status; // reaped: its pidfd is closed
        for (const options of [{}, { value: 1 }]) {
          assert.throws(
            () => sendSignal(c.child, "SIGUSR1", options),
            systemError(Deno.errors.NotFound, "ESRCH", "pidfd_send_signal", { pid: c.child.pid }),
          );
        }
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.signalMasks,
      "a child's signal to its parent, read by the parent's own reader",
      async () => {
        await using s = new TestScope();
        const out = s.pipe();
        const parent = s.fixture("signal_parent.ts", {
          blockSignals: ["SIGUSR1", "SIGRTMIN+3"],
          fds: { 1: out.writer },
        });
        out.writer.close();
        const report = await parent.check(() =>
          new Lines(out.reader, parent.label, HANG_MS).json<{ sender: number; got: SignalInfo[] }>()
        );
        await parent.exits(0);
        const from = { pid: report.sender, uid: Deno.uid() };
        assert.notEqual(report.sender, parent.pid);
        assert.deepEqual(report.got, [
          { signal: 10, name: "SIGUSR1", ...from, value: null, code: SI_USER },
          { signal: 37, name: "SIGRTMIN+3", ...from, value: 5, code: SI_QUEUE },
          { signal: 37, name: "SIGRTMIN+3", ...from, value: 6, code: SI_QUEUE },
        ]);
      },
    ),
  );

  await t.step("reads: a pending read() and a blocked readSync() are woken", async () => {
    await using s = new TestScope();
    const c = await readerChild(s, ["SIGUSR2"]);
    c.command("read 1");
    await waitingOn(c.child.pid, c.fd!); // in epoll_wait, on the child's signalfd
    sendSignal(c.child, "SIGUSR2", { value: 1 });
    assert.equal((await c.fixture.check(() => c.out.json<SignalInfo>())).value, 1);
    c.command("sync 1");
    await blockedIn(c.child.pid, { syscall: "rt_sigtimedwait" }); // takes the signal itself
    sendSignal(c.child, "SIGUSR2", { value: 2 });
    assert.equal((await c.fixture.check(() => c.out.json<SignalInfo>())).value, 2);
    await finish(c);
  });

  await t.step("reads: timeouts, abort and close through the engine", async () => {
    await using s = new TestScope();
    const out = s.pipe();
    const f = s.fixture("signal_engine.ts", {
      flags: ["--allow-ffi", "--allow-sys=uid"],
      blockSignals: ["SIGUSR2"],
      fds: { 1: out.writer },
    });
    out.writer.close();
    const lines = new Lines(out.reader, f.label, HANG_MS);
    const checks: string[] = [];
    for (let l = await lines.next(); l !== null; l = await lines.next()) checks.push(l);
    await f.exits(0, checks.join("\n"));
    assert.deepEqual(checks, [
      "ok tryRead",
      "ok timeout",
      "ok abort",
      "ok wake",
      "ok close",
      "ok break",
    ]);
  });

  await t.step(
    unless(
      CANNOT.signalMasks,
      "a signal some thread does not block is refused, naming it",
      async () => {
        // This process was started with nothing blocked.
        assert.equal(signalsBlocked(["SIGUSR2"]), false);
        assert.throws(
          () => signals(["SIGUSR2"]),
          (e) =>
            e instanceof Deno.errors.NotSupported && /SIGUSR2 not blocked/.test(e.message) &&
            /blockSignals/.test(e.message) && /relaunchWithSignalsBlocked/.test(e.message),
        );
        // A child with SIGUSR1 blocked, asked for SIGUSR2 too.
        await using s = new TestScope();
        const c = await readerChild(s, ["SIGUSR1", "SIGUSR2"], ["SIGUSR1"]);
        assert.equal(c.first.error, "NotSupported");
        assert.match(c.first.message as string, /SIGUSR2 not blocked in thread \d+/);
        await c.fixture.exits(0);

        // Every thread counts: here only a Worker's thread unblocks it.
        const w = await readerChild(s, ["SIGUSR2"], ["SIGUSR2"], ["unblock-in-worker"], [
          "--allow-ffi",
          "--allow-read",
        ]);
        assert.equal(w.first.error, "NotSupported");
        assert.notEqual(w.first.worker, w.child.pid);
        assert.match(
          w.first.message as string,
          new RegExp(`SIGUSR2 not blocked in thread ${w.first.worker} `),
        );
        await w.fixture.exits(0);
      },
    ),
  );

  await t.step("SIGUSR1 blocked from the start never opens Deno's inspector", async () => {
    await using s = new TestScope();
    // The child waits until Deno has installed its SIGUSR1 handler: were the signal
    // not blocked, that handler would open the inspector instead of the read.
    const c = await readerChild(s, ["SIGUSR1"], ["SIGUSR1"], ["await-handler"]);
    sendSignal(c.child, "SIGUSR1");
    assert.deepEqual(await take(c, 1), [
      { signal: 10, name: "SIGUSR1", ...me(), value: null, code: SI_USER },
    ]);
    await finish(c);
    const stderr = c.fixture.stderr();
    assert.doesNotMatch(stderr, /Debugger listening/, stderr);
  });

  await t.step(
    "the null signal (0) sends nothing: it says whether the process is there",
    async () => {
      await using s = new TestScope();
      const child = s.child(spawnProgram("/bin/sleep", ["1000"]));
      for (const target of [child.pid, child]) sendSignal(target, 0);
      sendSignal(child.pid, 0, { value: 5 });
      assert.equal(processExists(child.pid), true, "nothing was sent: it lives");
      child.kill("SIGKILL");
      await child.status;
      assert.throws(
        () => sendSignal(child.pid, 0),
        systemError(Deno.errors.NotFound, "ESRCH", "kill"),
      );
      assert.throws(() => sendSignal(child, 0), Deno.errors.NotFound);
      assert.throws(() => sendSignal(1, 0, { value: 1.5 }), RangeError);
    },
  );

  await t.step("a pid that does not exist: NotFound (ESRCH) naming it", () => {
    for (const [options, syscall] of [[{}, "kill"], [{ value: 1 }, "sigqueue"]] as const) {
      assert.throws(
        () => sendSignal(NO_SUCH_PID, "SIGUSR2", options),
        systemError(Deno.errors.NotFound, "ESRCH", syscall, { pid: NO_SUCH_PID }),
      );
    }
  });

  await t.step("the library's own signals are refused: to this process, and for reading", () => {
    // kill(2) to a thread id of this process reaches the whole process.
    const thread = [...Deno.readDirSync("/proc/self/task")].map((e) => Number(e.name))
      .find((tid) => tid !== Deno.pid)!;
    for (const signal of ["SIGRTMAX", "SIGRTMAX-1", C.SIGRTMAX, C.SIGRTMAX - 1] as const) {
      assert.throws(() => sendSignal(Deno.pid, signal), RangeError);
      assert.throws(() => sendSignal(thread, signal), /reserved by this library/);
      assert.throws(() => sendSignal(Deno.pid, signal, { value: 1 }), RangeError);
      assert.throws(() => signals([signal]), /reserved by this library/);
      assert.throws(() => signalsBlocked(["SIGUSR1", signal]), RangeError);
    }
    // This process is alive to tell: nothing was sent.
    assert.ok(processExists(Deno.pid));
  });

  await t.step("bad arguments are refused before any call", async () => {
    const bad: Array<[() => unknown, ErrorConstructor]> = [
      [() => sendSignal(Deno.pid, "SIGNOPE" as SignalName), TypeError],
      [() => sendSignal(Deno.pid, "SIGRTMIN+31"), RangeError],
      [() => sendSignal(Deno.pid, -1), RangeError],
      [() => sendSignal(Deno.pid, 65), RangeError],
      [() => sendSignal(0, "SIGUSR2"), RangeError],
      [() => sendSignal(-1, "SIGUSR2"), RangeError],
      [() => sendSignal(1.5, "SIGUSR2"), RangeError],
      [() => sendSignal("1" as unknown as number, "SIGUSR2"), TypeError],
      [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { value: 2 ** 31 }), RangeError],
      [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { value: -(2 ** 31) - 1 }), RangeError],
      [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { value: 0.5 }), RangeError],
      [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { value: "1" as unknown as number }), TypeError],
      [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { valeu: 1 } as never), TypeError],
      [() => signals([]), TypeError],
      // deno-lint-ignore no-sparse-arrays
      [() => signals([, "SIGUSR2"] as never), TypeError],
      [() => signals("SIGUSR1" as unknown as SignalName[]), TypeError],
      [() => signals(["SIGKILL"]), RangeError],
      [() => signals(["SIGSTOP"]), RangeError],
      [() => signals([32]), RangeError],
    ];
    for (const [call, Class] of bad) assert.throws(call, Class, String(call));
    await assert.rejects(relaunchWithSignalsBlocked(["SIGKILL"]), RangeError);
    await assert.rejects(relaunchWithSignalsBlocked([]), TypeError);
  });

  await t.step("process groups: spawn's processGroup and sendSignal's group", async (t) => {
    await using scope = new TestScope();
    await t.step(
      "a child leading a group and one that joined it both take the signal",
      async () => {
        const leader = scope.child(spawnProgram("/bin/sleep", ["60"], { processGroup: 0 }));
        await leading(leader.pid);
        const member = scope.child(
          spawnProgram("/bin/sleep", ["60"], { processGroup: leader.pid }),
        );
        const loner = scope.child(spawnProgram("/bin/sleep", ["60"]));
        await until(() => groupOf(member.pid) === leader.pid, "the member in the leader's group");
        assert.equal(groupOf(loner.pid), groupOf(Deno.pid), "by default the child stays in ours");
        sendSignal(leader, "SIGTERM", { group: true });
        assert.equal((await leader.status).signal, "SIGTERM");
        assert.equal((await member.status).signal, "SIGTERM");
        assert.equal(processExists(loner.pid), true, "a process of another group is left alone");
        // The group had the two alone: it is gone with them.
        assert.throws(
          () => sendSignal(leader, 0, { group: true }),
          systemError(Deno.errors.NotFound, "ESRCH", "kill", { processGroup: leader.pid }),
        );
        const leadsNone = /child process \d+ leads no process group: start it with processGroup/;
        assert.throws(() => sendSignal(loner, "SIGTERM", { group: true }), leadsNone);
        assert.equal(processExists(loner.pid), true, "nothing was sent");
        // Reaped, its pid says nothing of a group: another process may have it now.
        loner.kill("SIGKILL");
        await loner.status;
        assert.throws(() => sendSignal(loner, 0, { group: true }), leadsNone);
      },
    );

    await t.step("a reaped leader's group, while a process is left in it", async () => {
      const leader = scope.child(spawnProgram("/bin/sleep", ["60"], { processGroup: 0 }));
      await leading(leader.pid);
      const member = scope.child(
        spawnProgram("/bin/sleep", ["60"], { processGroup: leader.pid }),
      );
      // In the group before its leader goes.
      await until(() => groupOf(member.pid) === leader.pid, "the member in the leader's group");
      leader.kill("SIGKILL");
      await leader.status;
      sendSignal(leader, "SIGTERM", { group: true });
      assert.equal((await member.status).signal, "SIGTERM");
    });

    await t.step("what a child starts in its group ends with it, by the group's id", async () => {
      const p = scope.pipe();
      const shell = scope.child(
        spawnProgram("/bin/sh", ["-c", "/bin/sleep 60 & echo $!; wait"], {
          processGroup: 0,
          fds: { 1: p.writer },
        }),
      );
      p.writer.close();
      const grandchild = Number(await readUntil(p.reader, "\n"));
      assert.equal(groupOf(grandchild), shell.pid);
      sendSignal(shell.pid, "SIGTERM", { group: true });
      assert.equal((await shell.status).signal, "SIGTERM");
      // Not our child: it is gone, or a zombie until its new parent reaps it.
      await until(() => !processExists(grandchild) || stateOf(grandchild) === "Z", "its end");
    });

    await t.step("refused before any call, or by the kernel naming the group", () => {
      assert.throws(
        () => sendSignal(NO_SUCH_PID, "SIGUSR2", { group: true, value: 1 }),
        /TypeError: a value goes to one process \(sigqueue\(3\)\): it cannot go to a group/,
      );
      const bad: Array<[() => unknown, ErrorConstructor]> = [
        [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { group: "yes" as never, value: 1 }), TypeError],
        [() => sendSignal(NO_SUCH_PID, "SIGUSR2", { group: 1 as never }), TypeError],
        [() => sendSignal(0, "SIGUSR2", { group: true }), RangeError],
        // kill(-1): every process this user may signal.
        [() => sendSignal(1, "SIGUSR2", { group: true }), RangeError],
        [() => sendSignal(-5, "SIGUSR2", { group: true }), RangeError],
        [() => spawnProgram("/bin/true", [], { processGroup: -1 }), RangeError],
        [() => spawnProgram("/bin/true", [], { processGroup: "0" as never }), TypeError],
      ];
      for (const [call, Class] of bad) assert.throws(call, Class, String(call));
      assert.throws(
        () => sendSignal(NO_SUCH_PID, "SIGUSR2", { group: true }),
        systemError(Deno.errors.NotFound, "ESRCH", "kill", { processGroup: NO_SUCH_PID }),
      );
      // qemu-user runs posix_spawn's vfork child as a fork, which cannot report its failure:
      // the child exits 127 instead.
      if (!EMULATED) {
        assert.throws(
          () => spawnProgram("/bin/true", [], { processGroup: NO_SUCH_PID }),
          systemError(Deno.errors.PermissionDenied, "EPERM", "posix_spawn", {
            processGroup: NO_SUCH_PID,
          }),
        );
      }
      for (const signal of ["SIGRTMAX", "SIGRTMAX-1"] as const) {
        assert.throws(
          () => sendSignal(groupOf(Deno.pid), signal, { group: true }),
          /reserved by this library: it cannot be sent to the process group of this process/,
        );
      }
    });
  });

  await t.step(
    "relaunchWithSignalsBlocked() in a Worker is NotSupported, naming the Worker",
    async () => {
      // It would run the whole program again; it failed on Deno.mainModule, undefined there.
      const code = `import { relaunchWithSignalsBlocked } from "${MOD_URL}";
      relaunchWithSignalsBlocked(["SIGUSR2"]).then(
        () => postMessage("resolved"),
        (e) => postMessage(e.name + ": " + e.message),
      );`;
      const w = new Worker(`data:text/javascript,${encodeURIComponent(code)}`, { type: "module" });
      try {
        const said = await new Promise<string>((resolve) => w.onmessage = (e) => resolve(e.data));
        assert.match(said, /^NotSupported: relaunchWithSignalsBlocked\(\): called in a Worker/);
      } finally {
        w.terminate();
      }
    },
  );

  await t.step("siginfo_t: sigqueue's members sit where the library writes them", async (t) => {
    const missing = await missingTools();
    if (missing.length > 0) {
      return void console.warn(`siginfo_t member check skipped, missing: ${missing.join(", ")}`);
    }
    const pad = LAYOUTS.siginfo_t.offsets["_sifields._pad"];
    const out = await runCProbe(
      [
        "#define _GNU_SOURCE",
        "#include <signal.h>",
        "#include <stddef.h>",
        "#include <stdio.h>",
        "int main(void) {",
        '  printf("%zu %zu %zu\\n", offsetof(siginfo_t, si_pid), offsetof(siginfo_t, si_uid),',
        "    offsetof(siginfo_t, si_int));",
        "  return 0;",
        "}",
      ].join("\n") + "\n",
    );
    await t.step("pid, uid and sival_int are _pad[0], [1] and [2]", () => {
      assert.deepEqual(out.trim().split(" ").map(Number), [pad, pad + 4, pad + 8]);
    });
  });
});

/** The process group of `pid` (`getpgid(2)`). */
const groupOf = (pid: number) => libc.getpgid(pid);
/**
 * Until `pid` leads its group: at once, where posix_spawn returns after the child's setup;
 * under qemu-user it may return before (its vfork is a fork there).
 */
const leading = (pid: number) => until(() => groupOf(pid) === pid, `${pid} leading its group`);
/** The state letter of `pid` (`/proc/<pid>/stat`), or undefined once it is gone. */
function stateOf(pid: number): string | undefined {
  const text = tryReadProcFile(`/proc/${pid}/stat`);
  return text?.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
}

Deno.test("relaunchWithSignalsBlocked()", async (t) => {
  await t.step(
    unless(
      CANNOT.signalMasks,
      "the script runs again with the signals blocked, same flags and arguments; the parent forwards SIGTERM and exits with the child's code",
      async () => {
        await using s = new TestScope();
        const out = s.pipe();
        const parent = s.fixture("signal_relaunch.ts", {
          flags: ["--allow-ffi", "--allow-read=/tmp"],
          // Bytes that are not UTF-8 (written as surrogateescape) go through as they are.
          args: ["7", "two words", "\udcff\udcfe"],
          // Names of Object.prototype's members were dropped.
          env: {
            ...Deno.env.toObject(),
            RELAUNCH_BYTES: "a\udce9",
            constructor: "1",
            ["__proto__"]: "2",
          },
          fds: { 1: out.writer },
        });
        out.writer.close();
        const lines = new Lines(out.reader, parent.label, HANG_MS);
        const info = await parent.check(() =>
          lines.json<{ pid: number; ppid: number } & Record<string, unknown>>()
        );
        s.orphan(info.pid);
        assert.notEqual(info.pid, parent.pid);
        const nulSeparated = (file: string) =>
          new TextDecoder("latin1").decode(Deno.readFileSync(`/proc/${info.pid}/${file}`))
            .split("\0");
        assert.equal(nulSeparated("cmdline").at(-2), "\xff\xfe");
        const environ = nulSeparated("environ");
        for (const entry of ["RELAUNCH_BYTES=a\xe9", "constructor=1", "__proto__=2"]) {
          assert.ok(environ.includes(entry), entry);
        }
        assert.deepEqual(info, {
          pid: info.pid,
          ppid: parent.pid,
          args: ["7", "two words", "\ufffd\ufffd"],
          ffi: "granted",
          read: "granted",
          env: "prompt",
          blocked: true,
        });
        // The relaunched process reads what is sent to it...
        sendSignal(info.pid, "SIGRTMIN+1", { value: 3 });
        assert.deepEqual(await parent.check(() => lines.json()), {
          signal: 35,
          name: "SIGRTMIN+1",
          ...me(),
          value: 3,
          code: SI_QUEUE,
        });
        // A listed signal sent to the parent (the pid a shell knows, or with the whole group)
        // no longer ends the parent, and the copy with it: the parent ignores it.
        sendSignal(parent.pid, "SIGRTMIN+1", { value: 4 });
        // ...and what its parent forwards (from the parent's pid).
        parent.child.kill("SIGTERM");
        assert.deepEqual(
          await parent.check(() => lines.json()),
          {
            signal: 15,
            name: "SIGTERM",
            pid: parent.pid,
            uid: Deno.uid(),
            value: null,
            code: SI_USER,
          },
        );
        await parent.exits(7);
        assert.equal(processExists(info.pid), false);
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.signalMasks,
      "a signal that ends the child ends the parent too",
      async () => {
        await using s = new TestScope();
        const out = s.pipe();
        const parent = s.fixture("signal_relaunch_ended.ts", {
          flags: ["--allow-ffi"],
          fds: { 1: out.writer },
        });
        out.writer.close();
        const lines = new Lines(out.reader, parent.label, HANG_MS);
        const { pid } = await parent.check(() => lines.json<{ pid: number }>());
        s.orphan(pid);
        parent.child.kill("SIGTERM");
        assert.deepEqual(
          await parent.status(),
          { success: false, code: 143, signal: "SIGTERM" },
          parent.stderr(),
        );
        await until(() => !processExists(pid), "the relaunched process to end");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.signalMasks,
      "under deno run --watch: a change restarts the program with a new copy, without --watch",
      async () => {
        // The watcher's SIGTERM at a restart came to the listeners as a signal would: the
        // parent ended by it, which ended the watcher. A SIGTERM sent to the watcher, which
        // cannot be told from it, now ends the program alone; the watcher waits for a change.
        await using s = new TestScope();
        const script = `${await s.tempDir()}/watched.ts`;
        Deno.writeTextFileSync(
          script,
          `import { relaunchWithSignalsBlocked } from "${MOD_URL}";\n` +
            `await relaunchWithSignalsBlocked(["SIGUSR1"]);\n` +
            `console.log(JSON.stringify({ pid: Deno.pid }));\n` +
            `setInterval(() => {}, 60_000);\n`,
        );
        const out = s.pipe();
        const err = s.pipe();
        const watcher = s.child(
          spawnProgram(Deno.execPath(), ["run", "--allow-ffi", "--watch", script], {
            fds: { 1: out.writer, 2: err.writer },
          }),
        );
        out.writer.close();
        err.writer.close();
        const copies = new Lines(out.reader, "the copies' pids", HANG_MS);
        const watcherSays = new Lines(err.reader, "the watcher's messages", HANG_MS);
        const first = (await copies.json<{ pid: number }>()).pid;
        s.orphan(first);
        const cmdline = readProcFile(`/proc/${first}/cmdline`).split("\0");
        assert.ok(!cmdline.some((a) => a.startsWith("--watch")), cmdline.join(" "));
        Deno.writeTextFileSync(script, "// changed\n", { append: true });
        const second = (await copies.json<{ pid: number }>()).pid;
        s.orphan(second);
        assert.notEqual(second, first);
        await until(() => !processExists(first), "the first copy to end");
        assert.equal(processExists(watcher.pid), true);
        watcher.kill("SIGTERM");
        await until(() => !processExists(second), "the second copy to end");
        for (;;) {
          const line = await watcherSays.line();
          if (/finished with exit code 143/.test(line)) break;
        }
        watcher.kill("SIGINT");
        assert.equal((await watcher.status).signal, "SIGINT");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.signalMasks,
      "the copy keeps what an exec keeps (descriptors, mask, ignored signals) and ends with its parent",
      async () => {
        // They were lost: a shell's `63<file` (the number in the copy was then Deno's own), a
        // parent's blocked mask, a `trap "" QUIT`. And a parent killed by a signal it does
        // not forward (SIGKILL) left the copy running.
        await using s = new TestScope();
        const script = `${await s.tempDir()}/inherits.ts`;
        Deno.writeTextFileSync(
          script,
          `import { FdWriter, relaunchWithSignalsBlocked } from "${MOD_URL}";\n` +
            `await relaunchWithSignalsBlocked(["SIGUSR1"]);\n` +
            `using w = new FdWriter(63);\n` +
            `w.writeSync(JSON.stringify({ pid: Deno.pid }) + "\\n");\n` +
            `setInterval(() => {}, 60_000);\n`,
        );
        const side = s.pipe();
        const parent = s.child(
          spawnProgram(
            "/bin/bash",
            // At the last number the fd limit allows, where posix_spawn closes nothing.
            [
              "-c",
              'trap "" QUIT; ulimit -n 64; exec "$0" run --allow-ffi "$1" 63>&3 3>&-',
              Deno.execPath(),
              script,
            ],
            { fds: { 3: side.writer }, blockSignals: ["SIGUSR2"] },
          ),
        );
        side.writer.close();
        const lines = new Lines(side.reader, "the copy's line on fd 63", HANG_MS);
        const { pid } = await lines.json<{ pid: number }>();
        s.orphan(pid);
        assert.notEqual(pid, parent.pid);
        const status = readProcFile(`/proc/${pid}/status`);
        const mask = (name: string) =>
          BigInt(`0x${new RegExp(`^${name}:\\s*(\\w+)$`, "m").exec(status)![1]}`);
        const bit = (signal: number) => 1n << BigInt(signal - 1);
        assert.equal(
          mask("SigBlk") & (bit(C.SIGUSR1) | bit(C.SIGUSR2)),
          bit(C.SIGUSR1) | bit(C.SIGUSR2),
          status,
        );
        assert.equal(mask("SigIgn") & bit(C.SIGQUIT), bit(C.SIGQUIT), status);
        parent.kill("SIGKILL");
        assert.equal((await parent.status).signal, "SIGKILL");
        await until(() => !processExists(pid), "the copy to end with its parent");
        // Both ends closed: no other process holds the pipe.
        assert.equal(await side.reader.read(new Uint8Array(1)), null);
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.signalMasks,
      "SIGCHLD listed: the program still exits with the copy's code",
      async () => {
        // The first process ignored SIGCHLD once the copy ran: the kernel then reaped the copy
        // itself, its status was lost (ECHILD), and the program exited 1.
        await using s = new TestScope();
        const script = `${await s.tempDir()}/chld.ts`;
        Deno.writeTextFileSync(
          script,
          `import { relaunchWithSignalsBlocked } from "${MOD_URL}";\n` +
            `await relaunchWithSignalsBlocked(["SIGCHLD", "SIGUSR2"]);\n` +
            `Deno.exit(7);\n`,
        );
        const out = await s.child(
          spawnProgram(Deno.execPath(), ["run", "--allow-ffi", script]),
        ).status;
        assert.equal(out.code, 7);
      },
    ),
  );

  await t.step(
    "a second call naming other signals says the process was relaunched once",
    async () => {
      await using s = new TestScope();
      const script = `${await s.tempDir()}/twice.ts`;
      Deno.writeTextFileSync(
        script,
        `import { relaunchWithSignalsBlocked } from "${MOD_URL}";
      await relaunchWithSignalsBlocked(["SIGUSR2"]);
      await relaunchWithSignalsBlocked(["SIGUSR2"]); // blocked already: nothing to do
      await relaunchWithSignalsBlocked(["SIGRTMIN+3"]);`,
      );
      const err = s.pipe();
      const child = s.child(
        spawnProgram(Deno.execPath(), ["run", "--allow-ffi", script], { fds: { 2: err.writer } }),
      );
      err.writer.close();
      const stderr = await readAll(err.reader);
      assert.equal((await child.status).code, 1, stderr);
      assert.match(stderr, /relaunched already, and the signals SIGRTMIN\+3 are not all blocked/);
    },
  );

  await t.step("a program run with --inspect is refused, not relaunched", async () => {
    // Port 0: a copy that ran would bind a port of its own, and exit 0.
    const refused = /NotSupported: .*--inspect cannot be relaunched/;
    await using s = new TestScope();
    const config = `${await s.tempDir()}/deno.json`;
    Deno.writeTextFileSync(config, "{}");
    // A flag's value given apart (the config file) comes before --inspect, also one that has
    // the main module's file name.
    for (
      const flags of [
        ["--allow-ffi"],
        ["--allow-ffi", "--config", config],
        ["--allow-ffi", "--location", "http://localhost/signal_relaunch.ts"],
      ]
    ) {
      const f = s.fixture("signal_relaunch.ts", {
        flags: [...flags, "--inspect=127.0.0.1:0"],
        args: ["0"],
      });
      await f.exits(1, flags.join(" "));
      assert.match(f.stderr(), refused);
    }
    // `deno --inspect script.ts`, without the subcommand.
    const err = s.pipe();
    const child = s.child(
      spawnProgram(Deno.execPath(), [
        "--inspect=127.0.0.1:0",
        "--allow-ffi",
        fixtureUrl("signal_relaunch.ts").pathname,
        "0",
      ], { fds: { 2: err.writer } }),
    );
    err.writer.close();
    const stderr = await readAll(err.reader);
    assert.equal((await child.status).code, 1, stderr);
    assert.match(stderr, refused);
  });

  await t.step(
    "a relaunched process that still does not block them fails, never relaunches",
    async () => {
      await using s = new TestScope();
      // As if this process had relaunched it, and the mask had not held.
      const f = s.fixture("signal_relaunch.ts", {
        args: ["0"],
        env: { ...Deno.env.toObject(), LIBC_IPC_RELAUNCHED: String(Deno.pid) },
      });
      await f.exits(1);
      assert.match(
        f.stderr(),
        /NotSupported: relaunchWithSignalsBlocked\(\): this process was relaunched/,
      );
    },
  );

  /** Runs `deno ...flags` with `program` on its stdin; its exit code and what it wrote. */
  async function denoWithStdin(s: TestScope, flags: string[], program: string) {
    const stdin = s.pipe();
    const out = s.pipe();
    const err = s.pipe();
    const child = s.child(spawnProgram(Deno.execPath(), flags, {
      fds: { 0: stdin.reader, 1: out.writer, 2: err.writer },
    }));
    for (const end of [stdin.reader, out.writer, err.writer]) end.close();
    stdin.writer.writeSync(program);
    stdin.writer.close();
    const [stdout, stderr] = await Promise.all(
      [out, err].map((p) => new Response(p.reader.readable).text()),
    );
    return { code: (await child.status).code, stdout, stderr };
  }
  const relaunching =
    `import { relaunchWithSignalsBlocked } from "${MOD_URL}";\nawait relaunchWithSignalsBlocked(["SIGUSR2"]);\nconsole.log("relaunched");\n`;

  await t.step("refused for a program read from stdin, which cannot run again", async () => {
    // It ran an empty program and exited 0 with `--ext` (its module is then `$deno$stdin.ts`, ...).
    for (
      const flags of [
        ["run", "--allow-ffi", "-"],
        ["run", "--allow-ffi", "--ext=ts", "-"],
        ["run", "--allow-ffi", "--ext", "js", "-"],
        ["--allow-ffi", "-"],
      ]
    ) {
      await using s = new TestScope();
      const { code, stdout, stderr } = await denoWithStdin(s, flags, relaunching);
      const context = `deno ${flags.join(" ")}\n${stderr}`;
      assert.equal(code, 1, context);
      assert.equal(stdout, "", context);
      assert.match(
        stderr,
        /NotSupported: relaunchWithSignalsBlocked\(\): a program read from stdin .*save the program to a file/,
        context,
      );
    }
  });

  await t.step("a file that is merely named like a stdin program relaunches", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir();
    const file = `${dir}/$deno$stdin.ts`;
    await Deno.writeTextFile(file, relaunching);
    const { code, stdout, stderr } = await denoWithStdin(s, ["run", "--allow-ffi", file], "");
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "relaunched\n", stderr);
  });

  await t.step("refused under `deno test`, whose command line cannot run again", async () => {
    const argv = readProcFile("/proc/self/cmdline").split("\0");
    assert.equal(argv[1], "test");
    await assert.rejects(
      relaunchWithSignalsBlocked(["SIGUSR2"]),
      (e) => e instanceof Deno.errors.NotSupported && /deno test/.test(e.message),
    );
  });

  await t.step(
    unless(
      CANNOT.signalMasks,
      "nothing to do in a process that blocks the signals already",
      async () => {
        // spawnProgram runs the shell-free check: a child started with them blocked returns at once.
        await using s = new TestScope();
        const out = s.pipe();
        const child = s.child(spawnProgram(Deno.execPath(), [
          "run",
          "--allow-ffi",
          new URL("./fixtures/signal_relaunch.ts", import.meta.url).href,
          "3",
        ], { blockSignals: ["SIGUSR1", "SIGTERM", "SIGRTMIN+1"], fds: { 1: out.writer } }));
        out.writer.close();
        const lines = new Lines(out.reader, `child ${child.pid}`, HANG_MS);
        const info = await lines.json<{ pid: number }>();
        assert.equal(info.pid, child.pid); // not relaunched: the same process
        sendSignal(child, "SIGTERM");
        assert.equal((await lines.json()).name, "SIGTERM");
        assert.equal((await child.status).code, 3);
      },
    ),
  );
});
