import assert from "node:assert/strict";
import { endWithParentCode, isEndWithParentPreload } from "../src/process/_end_with_parent.ts";
import {
  type ChildProcess,
  type ChildStatus,
  FdReader,
  FdWriter,
  Fifo,
  PosixMessageQueue,
  type SignalName,
  spawn,
  spawnProgram,
} from "../mod.ts";
import {
  blockedIn,
  CANNOT,
  dupInheritable,
  EMULATED,
  evalInChild,
  fdTarget,
  HANG_MS,
  isCloexec,
  isNonBlocking,
  isOpen,
  MOD_URL,
  openFds,
  pidfdPids,
  processExists,
  processRuns,
  rawPipe,
  readAll,
  readAllBytes,
  readProcFile,
  readUntil,
  runCollect,
  sigBit,
  signalMasks,
  systemError,
  TestScope,
  threadChildren,
  unless,
  until,
  within,
} from "./_kernel.ts";
import type { Fixture } from "./_kernel.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
/** Flags of Deno children that read /proc through FFI and report. */
const REPORT_FLAGS = ["--allow-ffi", "--allow-read"];

const exited = (code: number): ChildStatus => ({ success: code === 0, code, signal: null });
const killedBy = (signal: SignalName, n: number): ChildStatus => ({
  success: false,
  code: 128 + n,
  signal,
});

function statusOf(child: ChildProcess): Promise<ChildStatus> {
  return within(child.status, `child ${child.pid} to end`);
}

interface Report {
  pid: number;
  fds: Record<string, string>;
  status: string;
  threadStatus: string;
  cwd: string | null;
  env: Record<string, string> | null;
}

/** Runs the reporting fixture with its stdout on a pipe of ours and parses its report. */
async function report(options: Parameters<typeof spawn>[1] = {}): Promise<Report> {
  const { status, stdout, stderr } = await runCollect((w, e) =>
    spawn(fixture("spawn_report.ts"), {
      flags: REPORT_FLAGS,
      ...options,
      fds: { ...options.fds, 1: w, 2: e },
    })
  );
  assert.deepEqual(status, exited(0), `${stdout}\n--- stderr ---\n${stderr}`);
  return JSON.parse(stdout);
}

/** Runs a program with its stdout and stderr on pipes of ours; returns its status and output. */
function run(
  program: string,
  args: string[],
  options: Parameters<typeof spawnProgram>[2] = {},
): Promise<{ status: ChildStatus; stdout: string; stderr: string }> {
  return runCollect((w, e) =>
    spawnProgram(program, args, { ...options, fds: { ...options.fds, 1: w, 2: e } })
  );
}

/** Parses `ls -l /proc/<pid>/fd` into fd number → link target. */
function parseLs(text: string): Map<number, string> {
  const fds = new Map<number, string>();
  for (const m of text.matchAll(/ (\d+) -> (.*)$/gm)) fds.set(Number(m[1]), m[2]);
  return fds;
}

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

Deno.test("spawn() and spawnProgram() report how the child exited", async (t) => {
  for (const code of [0, 3, 255]) {
    await t.step(`Deno child exits with ${code}`, async () => {
      await using s = new TestScope();
      const child = s.fixture("spawn_exit.ts", { args: [String(code)] });
      assert.ok(child.pid > 0);
      assert.deepEqual(await child.status(), exited(code), child.stderr());
    });
    await t.step(`program exits with ${code}`, async () => {
      await using s = new TestScope();
      const child = s.child(spawnProgram("/bin/sh", ["-c", `exit ${code}`]));
      assert.deepEqual(await statusOf(child), exited(code));
    });
  }
});

Deno.test("ChildProcess.kill() and death by signal", async (t) => {
  await t.step("SIGKILL ends a program: code 137, signal SIGKILL", async () => {
    await using s = new TestScope();
    const child = s.child(spawnProgram("/bin/sleep", ["120"]));
    child.kill("SIGKILL");
    assert.deepEqual(await statusOf(child), killedBy("SIGKILL", 9));
  });

  await t.step("kill() sends SIGTERM by default; signal numbers work too", async () => {
    await using s = new TestScope();
    const a = s.child(spawnProgram("/bin/sleep", ["120"]));
    const b = s.child(spawnProgram("/bin/sleep", ["120"]));
    a.kill();
    b.kill(10);
    assert.deepEqual(await statusOf(a), killedBy("SIGTERM", 15));
    assert.deepEqual(await statusOf(b), killedBy("SIGUSR1", 10));
  });

  await t.step("SIGTERM and SIGKILL end running Deno children", async () => {
    await using s = new TestScope();
    for (const [signal, n] of [["SIGTERM", 15], ["SIGKILL", 9]] as const) {
      const out = s.pipe();
      const child = s.fixture("spawn_forever.ts", { fds: { 1: out.writer } });
      out.writer.close();
      await child.check(() => readUntil(out.reader, "ready\n"));
      child.child.kill(signal);
      assert.deepEqual(await child.status(), killedBy(signal, n), child.stderr());
    }
  });

  await t.step("a program that kills itself", async () => {
    await using s = new TestScope();
    const child = s.child(spawnProgram("/bin/sh", ["-c", "kill -USR2 $$; exit 0"]));
    assert.deepEqual(await statusOf(child), killedBy("SIGUSR2", 12));
  });

  await t.step("a Deno child that kills itself", async () => {
    await using s = new TestScope();
    const child = s.fixture("spawn_self_kill.ts", { args: ["SIGHUP"], flags: ["--allow-run"] });
    assert.deepEqual(await child.status(), killedBy("SIGHUP", 1), child.stderr());
  });

  await t.step("kill() after the end throws TypeError", async () => {
    await using s = new TestScope();
    const child = s.child(spawnProgram("/bin/true"));
    assert.deepEqual(await statusOf(child), exited(0));
    assert.throws(() => child.kill(), TypeError);
    assert.throws(() => child.kill("SIGKILL"), TypeError);
  });

  await t.step("kill() with a bad signal throws and sends nothing", async () => {
    await using s = new TestScope();
    const child = s.child(spawnProgram("/bin/sleep", ["120"]));
    assert.throws(() => child.kill("SIGNOPE" as SignalName), TypeError);
    assert.throws(() => child.kill(0), RangeError);
    assert.throws(() => child.kill(65), RangeError);
    assert.ok(processExists(child.pid));
    child.kill("SIGKILL");
    assert.deepEqual(await statusOf(child), killedBy("SIGKILL", 9));
  });
});

Deno.test("spawn() hands chosen descriptors to the child", async (t) => {
  /** Sends `data` into `toChild` while reading `fromChild` to its end; kills the child on a hang. */
  async function roundTrip(
    child: Fixture,
    toChild: FdWriter,
    fromChild: Parameters<typeof readAllBytes>[0],
    data: Uint8Array,
  ): Promise<Uint8Array> {
    const send = async () => {
      await toChild.write(data);
      toChild.close();
    };
    const [, received] = await child.check(() =>
      within(
        Promise.all([send(), readAllBytes(fromChild)]),
        "the round trip through the child",
        HANG_MS,
        () => child.child.kill("SIGKILL"),
      )
    );
    return received;
  }

  await t.step("a reader as fd 3 and a writer as fd 4", async () => {
    await using s = new TestScope();
    const input = s.pipe();
    const output = s.pipe();
    const child = s.fixture("spawn_copy.ts", {
      args: ["3", "4"],
      fds: { 3: input.reader, 4: output.writer },
    });
    input.reader.close();
    output.writer.close();
    const data = randomBytes(256 * 1024);
    assert.deepEqual(await roundTrip(child, input.writer, output.reader, data), data);
    await child.exits(0);
  });

  await t.step("swapped numbers: each source fd is the other's target", async () => {
    await using s = new TestScope();
    const input = s.pipe();
    const output = s.pipe();
    const a = input.reader.fd;
    const b = output.writer.fd;
    // The child's fd b is the parent's fd a and vice versa: a naive dup2(a, b)
    // would clobber b before it is copied to a.
    const child = s.fixture("spawn_copy.ts", {
      args: [String(b), String(a)],
      fds: { [b]: input.reader, [a]: output.writer },
    });
    input.reader.close();
    output.writer.close();
    const data = randomBytes(100_000);
    assert.deepEqual(await roundTrip(child, input.writer, output.reader, data), data);
    await child.exits(0);
  });

  await t.step("raw fd numbers as sources", async () => {
    await using s = new TestScope();
    const [r, w] = rawPipe();
    s.fd(r);
    const writer = s.handle(new FdWriter(w));
    const output = s.pipe();
    const child = s.fixture("spawn_copy.ts", {
      args: ["3", "4"],
      fds: { 3: r, 4: output.writer.fd },
    });
    output.writer.close();
    const data = new TextEncoder().encode("through raw descriptors");
    assert.deepEqual(await roundTrip(child, writer, output.reader, data), data);
    await child.exits(0);
  });

  await t.step("a POSIX queue arrives blocking, as a pipe end does", async () => {
    await using s = new TestScope();
    using q = PosixMessageQueue.open(s.posixName(), { create: true });
    assert.equal(q.fd >= 0, true);
    const { status, stdout } = await run("/bin/sh", ["-c", "cat /proc/self/fdinfo/3"], {
      fds: { 3: q },
    });
    assert.deepEqual(status, exited(0));
    const flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(stdout)![1], 8);
    assert.equal(flags & 0o4000, 0, `O_NONBLOCK in the child: flags ${flags.toString(8)}`);
    assert.equal(isNonBlocking(q.fd), true, "the parent's description stays non-blocking");
  });

  await t.step("a signal reader arrives blocking, on a signalfd of its own", async () => {
    // Shared, a child that cleared O_NONBLOCK (as the program expects a blocking fd) made the
    // parent's tryRead() wait forever and read() stop the event loop.
    await using s = new TestScope();
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { pipe, signals, spawnProgram } from "${MOD_URL}";
      using reader = signals(["SIGUSR2", "SIGHUP"]);
      const out = pipe();
      const child = spawnProgram("/bin/cat", ["/proc/self/fdinfo/3"], {
        fds: { 1: out.writer, 3: reader },
      });
      out.writer.close();
      const theirs = await new Response(out.reader.readable).text();
      assert.equal((await child.status).code, 0);
      const mine = Deno.readTextFileSync("/proc/self/fdinfo/" + reader.fd);
      const field = (text, name) =>
        text.split("\\n").find((line) => line.startsWith(name + ":"))?.slice(name.length + 1).trim();
      assert.equal(field(mine, "sigmask"), "0000000000000801");
      assert.equal(field(theirs, "sigmask"), field(mine, "sigmask"), theirs);
      assert.equal(Number.parseInt(field(theirs, "flags"), 8) & 0o4000, 0, theirs);
      assert.notEqual(Number.parseInt(field(mine, "flags"), 8) & 0o4000, 0, mine);
      assert.throws(() => reader.tryRead(), Deno.errors.WouldBlock);
      `,
      [],
      ["SIGUSR2", "SIGHUP"],
    );
  });

  await t.step("stdin and stdout of a program", async () => {
    await using s = new TestScope();
    const input = s.pipe();
    const output = s.pipe();
    // All input is there before the start: see the O_NONBLOCK test at the end.
    input.writer.writeSync("to cat and back\n");
    input.writer.close();
    const child = s.child(spawnProgram("/bin/cat", [], {
      fds: { 0: input.reader, 1: output.writer },
    }));
    input.reader.close();
    output.writer.close();
    assert.equal(await readAll(output.reader), "to cat and back\n");
    assert.deepEqual(await statusOf(child), exited(0));
  });
});

Deno.test("spawn() passes no other descriptor to the child", async (t) => {
  await using s = new TestScope();
  const handedIn = s.pipe();
  const handedOut = s.pipe();
  const inTarget = fdTarget(handedIn.reader.fd);
  const outTarget = fdTarget(handedOut.writer.fd);
  // Not handed over: a pipe from the library (O_CLOEXEC), a plain pipe, and
  // copies of both made without O_CLOEXEC.
  const other = s.pipe();
  const [rawR, rawW] = rawPipe();
  s.fd(rawR);
  s.fd(rawW);
  const inheritable = [
    s.fd(dupInheritable(other.reader.fd)),
    s.fd(dupInheritable(other.writer.fd)),
    s.fd(dupInheritable(rawW)),
  ];
  for (const fd of inheritable) assert.equal(isCloexec(fd), false);
  const notHanded = new Set([fdTarget(other.reader.fd), fdTarget(rawR)]);

  function assertOnly(fds: Map<number, string>, handed: Record<number, string>): void {
    for (const [fd, target] of fds) {
      assert.ok(!notHanded.has(target), `child fd ${fd} -> ${target} was not handed over`);
    }
    for (const [fd, target] of Object.entries(handed)) {
      assert.equal(fds.get(Number(fd)), target, `child fd ${fd}`);
      const at = [...fds].filter(([, t]) => t === target).map(([n]) => n);
      assert.deepEqual(at, [Number(fd)], `${target} only at fd ${fd}`);
    }
  }

  await t.step("a Deno child lists its descriptors", async () => {
    const r = await report({ fds: { 3: handedIn.reader, 4: handedOut.writer } });
    const fds = new Map(Object.entries(r.fds).map(([fd, t]) => [Number(fd), t]));
    assertOnly(fds, { 3: inTarget, 4: outTarget });
  });

  await t.step("a program has exactly fds 0, 1, 2 and the handed ones", async () => {
    const { status, stdout } = await run("/bin/sh", ["-c", "ls -l /proc/$$/fd"], {
      fds: { 3: handedIn.reader, 4: handedOut.writer },
    });
    assert.deepEqual(status, exited(0));
    const fds = parseLs(stdout);
    assert.deepEqual([...fds.keys()].sort((x, y) => x - y), [0, 1, 2, 3, 4], stdout);
    assertOnly(fds, { 3: inTarget, 4: outTarget });
  });

  await t.step("un-handed fds below the highest target are closed too", async () => {
    const high = 300;
    for (const fd of inheritable) assert.ok(fd < high);
    const { status, stdout } = await run("/bin/sh", ["-c", "ls -l /proc/$$/fd"], {
      fds: { 4: handedOut.writer, [high]: handedIn.reader },
    });
    assert.deepEqual(status, exited(0));
    const fds = parseLs(stdout);
    assert.deepEqual([...fds.keys()].sort((x, y) => x - y), [0, 1, 2, 4, high], stdout);
    assertOnly(fds, { 4: outTarget, [high]: inTarget });
  });
});

Deno.test("spawn() blockSignals: the child starts with those signals blocked", async (t) => {
  const want = sigBit(12) | sigBit(15);
  const blockSignals: SignalName[] = ["SIGUSR2", "SIGTERM"];

  await t.step("a program (grep reads its own /proc status)", async () => {
    const { stdout } = await run("/bin/grep", ["SigBlk", "/proc/self/status"], { blockSignals });
    assert.equal(signalMasks(stdout).SigBlk, want, stdout);
  });

  await t.step("through /bin/sh", async () => {
    // exec: dash clears the mask of the commands it forks.
    const { stdout } = await run("/bin/sh", ["-c", "exec grep SigBlk /proc/self/status"], {
      blockSignals,
    });
    assert.equal(signalMasks(stdout).SigBlk, want, stdout);
  });

  await t.step(unless(CANNOT.signalMasks, "real-time signals by number", async () => {
    const { stdout } = await run("/bin/grep", ["SigBlk", "/proc/self/status"], {
      blockSignals: [40, "SIGHUP"],
    });
    assert.equal(signalMasks(stdout).SigBlk, sigBit(40) | sigBit(1), stdout);
  }));

  await t.step("without blockSignals nothing is blocked", async () => {
    const { stdout } = await run("/bin/grep", ["SigBlk", "/proc/self/status"]);
    assert.equal(signalMasks(stdout).SigBlk, 0n, stdout);
  });

  await t.step("a Deno child: its main thread and the thread running JS", async () => {
    const r = await report({ blockSignals });
    assert.equal(signalMasks(r.status).SigBlk & want, want, r.status);
    assert.equal(signalMasks(r.threadStatus).SigBlk & want, want, r.threadStatus);
  });
});

Deno.test("spawned children start with SIGPIPE at its default action", async (t) => {
  await t.step("this Deno process ignores SIGPIPE", () => {
    const masks = signalMasks(readProcFile("/proc/self/status"));
    assert.equal(masks.SigIgn & sigBit(13), sigBit(13));
  });

  await t.step("a program does not ignore it", async () => {
    const { stdout } = await run("/bin/grep", ["SigIgn", "/proc/self/status"]);
    assert.equal(signalMasks(stdout).SigIgn & sigBit(13), 0n, stdout);
  });

  await t.step("so SIGPIPE kills it", async () => {
    const { status, stdout } = await run("/bin/sh", ["-c", "kill -PIPE $$; echo survived"]);
    assert.deepEqual(status, killedBy("SIGPIPE", 13));
    assert.equal(stdout, "");
  });
});

Deno.test("spawn() env and cwd options", async (t) => {
  await t.step("env is the whole environment of a program", async () => {
    const env = { FOO: "bar", EMPTY: "", EQUALS: "a=b", TEXT: "héllo wörld" };
    const { status, stdout } = await run("/usr/bin/env", [], { env });
    assert.deepEqual(status, exited(0));
    assert.deepEqual(
      stdout.split("\n").filter((l) => l !== "").sort(),
      Object.entries(env).map(([k, v]) => `${k}=${v}`).sort(),
    );
  });

  await t.step("env: {} leaves the environment empty", async () => {
    const { stdout } = await run("/usr/bin/env", [], { env: {} });
    assert.equal(stdout, "");
  });

  await t.step("without env a program inherits this process's environment", async () => {
    const mine = { ...Deno.env.toObject() };
    const { stdout } = await run("/usr/bin/env", ["-0"]);
    const theirs = Object.fromEntries(
      stdout.split("\0").filter((e) => e !== "").map((e) => {
        const at = e.indexOf("=");
        return [e.slice(0, at), e.slice(at + 1)];
      }),
    );
    assert.deepEqual(theirs, mine);
  });

  await t.step("a program inherits the environment while a Worker changes it", async () => {
    await using s = new TestScope();
    // In a child: the environment belongs to the whole process, other tests included.
    // The Worker stops by a flag: terminate() did not end one busy in Deno.env.set.
    const worker = `self.onmessage = ({ data: stop }) => {
      postMessage("changing");
      for (let i = 0; Atomics.load(stop, 0) === 0; i++) {
        Deno.env.set("SPAWN_RACE_" + (i % 2000), "x".repeat(50));
        if (i % 2000 === 1999) for (let j = 0; j < 2000; j++) Deno.env.delete("SPAWN_RACE_" + j);
      }
      postMessage("stopped");
    };`;
    await evalInChild(
      s,
      `import { spawnProgram } from "${MOD_URL}";
      const w = new Worker("data:text/javascript," + encodeURIComponent(${JSON.stringify(worker)}),
        { type: "module" });
      const stop = new Int32Array(new SharedArrayBuffer(4));
      const heard = () => new Promise((resolve) => w.onmessage = resolve);
      w.postMessage(stop);
      await heard();
      try {
        for (let i = 0; i < 200; i++) {
          const status = await spawnProgram("/bin/true").status;
          if (status.code !== 0) throw new Error("exit " + status.code);
        }
      } finally {
        Atomics.store(stop, 0, 1);
        await heard();
        w.terminate();
      }`,
    );
  });

  await t.step("a Deno child gets env", async () => {
    const r = await report({ flags: [...REPORT_FLAGS, "--allow-env"], env: { FOO: "bar" } });
    assert.equal(r.env?.FOO, "bar");
    if (Deno.env.get("HOME") !== undefined) assert.equal(r.env?.HOME, undefined);
  });

  await t.step("a module whose relative path begins with '-' is not taken for a flag", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir("spawn_dash_");
    Deno.writeTextFileSync(`${dir}/-child.ts`, 'console.log("ran");');
    const { status, stdout, stderr } = await runCollect((w, e) =>
      spawn("-child.ts", { cwd: dir, fds: { 1: w, 2: e } })
    );
    assert.deepEqual(status, exited(0), stderr);
    assert.equal(stdout, "ran\n");
  });

  await t.step(unless(
    CANNOT.spawnFailure,
    "a cwd this process cannot enter: PermissionDenied names it",
    async () => {
      await using s = new TestScope();
      const dir = await s.tempDir("spawn_cwd_");
      const closed = `${dir}/closed`;
      Deno.mkdirSync(closed, { mode: 0o600 });
      // In a child: root meets the directory's mode only without CAP_DAC_*, which are per thread.
      const kernel = new URL("./_kernel.ts", import.meta.url).href;
      await evalInChild(
        s,
        `import { spawnProgram } from "${MOD_URL}";
      import { dropCapability } from "${kernel}";
      dropCapability(1); // CAP_DAC_OVERRIDE
      dropCapability(2); // CAP_DAC_READ_SEARCH
      try {
        spawnProgram("/bin/true", [], { cwd: "${closed}" });
        throw new Error("spawned");
      } catch (e) {
        if (!(e instanceof Deno.errors.PermissionDenied) || e.path !== "${closed}") throw e;
        if (!/working directory/.test(e.message)) throw e;
      }`,
      );
    },
  ));

  await t.step("cwd of a program and of a Deno child", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir("spawn_cwd_");
    const real = await Deno.realPath(dir);
    const { stdout } = await run("/bin/sh", ["-c", "pwd -P"], { cwd: dir });
    assert.equal(stdout, `${real}\n`);
    const r = await report({ cwd: dir });
    assert.equal(r.cwd, real);
    // A file: URL, as Deno.Command takes (the check took it, then the spawn refused it).
    const url = await run("/bin/sh", ["-c", "pwd -P"], { cwd: new URL(`file://${dir}`) });
    assert.equal(url.stdout, `${real}\n`);
  });
});

Deno.test("spawn() endWithParent: the child ends when its parent does, SIGKILL included", async (t) => {
  /** A parent (a fixture) whose grandchild has started, once that has printed its pid. */
  async function family(s: TestScope, endWithParent: boolean) {
    const out = s.pipe();
    const parent = s.fixture("spawn_parent.ts", {
      args: [endWithParent ? "yes" : "no"],
      fds: { 1: out.writer },
    });
    out.writer.close();
    const line = await parent.check(() => readUntil(out.reader, "}\n"));
    const grandchild = s.orphan(JSON.parse(line).grandchild as number);
    return { parent, grandchild };
  }

  await t.step("with it, the grandchild ends as its parent is killed", async () => {
    await using s = new TestScope();
    const { parent, grandchild } = await family(s, true);
    parent.child.kill("SIGKILL");
    await parent.status();
    await until(() => !processRuns(grandchild), `grandchild ${grandchild} to end`);
  });

  await t.step("a Worker's child ends with the Worker", async () => {
    await using s = new TestScope();
    const out = s.pipe();
    const code = `import { spawn } from ${JSON.stringify(MOD_URL)};
      onmessage = (e) => {
        const child = spawn("data:text/javascript,console.log(Deno.pid);setInterval(()=>{},60000)", {
          endWithParent: true,
          fds: { 1: e.data },
        });
        child.unref();
        postMessage(child.pid);
      };`;
    const worker = new Worker(`data:text/javascript,${encodeURIComponent(code)}`, {
      type: "module",
    });
    try {
      const pid = await within(
        new Promise<number>((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.postMessage(out.writer.fd);
        }),
        "the Worker's child",
      );
      s.orphan(pid);
      out.writer.close();
      // Its own module runs: what it inherited from the Worker's thread is set.
      assert.equal(Number(await readUntil(out.reader, "\n")), pid);
      worker.terminate();
      await until(() => !processRuns(pid), `the Worker's child ${pid} to end`);
    } finally {
      worker.terminate();
    }
  });

  await t.step("without it, the grandchild outlives its parent (an orphan)", async () => {
    await using s = new TestScope();
    const { parent, grandchild } = await family(s, false);
    parent.child.kill("SIGKILL");
    await parent.status();
    // Reparented (to init or a subreaper), and running.
    const ppid = Number(/^PPid:\s*(\d+)$/m.exec(readProcFile(`/proc/${grandchild}/status`))![1]);
    assert.notEqual(ppid, parent.child.pid);
    assert.ok(processExists(grandchild));
  });

  await t.step("a parent gone before the child runs leaves no child either", async () => {
    await using s = new TestScope();
    const code = `import { spawn } from ${JSON.stringify(MOD_URL)};
      const child = spawn("data:text/javascript,setInterval(()=>{},60000)", { endWithParent: true });
      console.log(child.pid);
      Deno.exit(0);`;
    const { status, stdout, stderr } = await runCollect((out, err) =>
      s.child(
        spawn(`data:text/javascript,${encodeURIComponent(code)}`, { fds: { 1: out, 2: err } }),
      )
    );
    assert.equal(status.code, 0, stderr);
    const pid = s.orphan(Number(stdout));
    await until(() => !processRuns(pid), `child ${pid} of a parent gone to end`);
  });

  await t.step(
    "a child that relaunches itself with signals blocked runs, its copy too",
    async () => {
      // The copy's command line is the child's: the child's preload, run in the copy, took
      // the child for a parent gone and ended the copy, and the child with it.
      await using s = new TestScope();
      const out = s.pipe();
      const child = s.child(
        spawn(fixture("signal_relaunch_ended.ts"), {
          endWithParent: true,
          flags: ["--allow-ffi", "--allow-read"],
          fds: { 1: out.writer },
        }),
      );
      out.writer.close();
      const { pid } = JSON.parse(await readUntil(out.reader, "\n"));
      assert.notEqual(pid, child.pid);
      assert.equal(
        Number(/^PPid:\s*(\d+)$/m.exec(readProcFile(`/proc/${pid}/status`))![1]),
        child.pid,
      );
      child.kill("SIGTERM"); // forwarded to the copy, which ends by it; so does the child
      assert.equal((await child.status).signal, "SIGTERM");
    },
  );

  await t.step("a relaunch knows the preload whichever copy of the library wrote it", () => {
    const preload = (code: string) => `--preload=data:text/javascript,${encodeURIComponent(code)}`;
    const other = "https://jsr.io/@libc/ipc/0.4.0/src/process/_end_with_parent.ts";
    assert.equal(
      isEndWithParentPreload(
        preload(`import { endWithParent } from "${other}";\nendWithParent(12, 34);`),
      ),
      true,
    );
    assert.equal(isEndWithParentPreload(preload(endWithParentCode(Deno.pid, 1))), true);
    assert.equal(isEndWithParentPreload(preload("console.log(1)")), false);
    assert.equal(isEndWithParentPreload("--preload=data:text/javascript,%E0%A4%A"), false);
    assert.equal(isEndWithParentPreload("--allow-ffi"), false);
  });

  await t.step("it needs --allow-ffi in the child's flags; a boolean", () => {
    const child = fixture("spawn_exit.ts");
    assert.throws(
      () => spawn(child, { endWithParent: true, flags: ["--allow-read"] }),
      /endWithParent: the child needs --allow-ffi/,
    );
    for (const deny of ["--deny-ffi", "--deny-ffi=/opt/x.so"]) {
      assert.throws(
        () => spawn(child, { endWithParent: true, flags: ["--allow-ffi", deny] }),
        /endWithParent: the child needs --allow-ffi \(whole, no --deny-ffi\)/,
      );
    }
    assert.throws(() => spawn(child, { endWithParent: "yes" as never }), TypeError);
    assert.throws(
      () => spawnProgram("/bin/true", [], { endWithParent: true } as never),
      /unknown option 'endWithParent'/,
    );
  });
});

Deno.test("spawn() rejects bad input before anything starts", async (t) => {
  await using s = new TestScope();
  const p = s.pipe();
  const closed = s.pipe();
  const closedFd = closed.reader.fd;
  closed.reader.close();
  const target = fdTarget(p.reader.fd);
  const notOpen = 19_999;
  assert.equal(isOpen(notOpen), false);
  const children = threadChildren();

  function assertRefused(start: () => unknown, error: new (...args: never[]) => Error): void {
    assert.throws(start, error);
    assert.deepEqual(threadChildren(), children, "no child started");
    const copies = [...openFds()].filter(([, t]) => t === target).map(([fd]) => fd);
    assert.deepEqual(
      copies.sort(),
      [p.reader.fd, p.writer.fd].sort(),
      "no copy of a handed fd left",
    );
  }
  const sh = (options: object) => () => spawnProgram("/bin/true", [], options);

  await t.step("bad child fd numbers: RangeError", () => {
    for (const key of ["-1", "abc", "1024", "3.5"]) {
      assertRefused(sh({ fds: { [key]: p.reader } }), RangeError);
    }
  });

  await t.step(
    "bad fd sources: TypeError, RangeError for a number; a closed handle: BadResource",
    () => {
      for (const source of ["3", 3n, {}, { fd: "3" }, null, undefined]) {
        assertRefused(sh({ fds: { 3: source } }), TypeError);
      }
      // A string that reads as an fd is still the wrong type, and the message shows it.
      assert.throws(sh({ fds: { 3: "4" } }), /^TypeError: fds\[3\] .*, got "4" \(a string\)$/);
      // Numbers that are no fd: 2^31 passed FFI's i32 check as a TypeError of its own.
      for (const source of [-1, 1.5, NaN, Infinity, 2 ** 31]) {
        assertRefused(sh({ fds: { 3: source } }), RangeError);
      }
      assert.throws(sh({ fds: { 3: -1 } }), /^RangeError: fds\[3\] must be an integer .*, got -1$/);
      assertRefused(sh({ fds: { 3: closed.reader } }), Deno.errors.BadResource);
      // The error names the spawn and the entry, not the handle's fd getter.
      assert.throws(
        sh({ fds: { 3: closed.reader } }),
        systemError(Deno.errors.BadResource, "EBADF", "posix_spawn", { fd: closedFd }),
      );
      assert.throws(sh({ fds: { 3: closed.reader } }), (e) => {
        assert.equal(
          (e as Error).message,
          `Bad file descriptor (os error 9): posix_spawn fd ${closedFd} (fds[3] is a closed handle)`,
        );
        assert.match(String((e as Error).cause), /the reader is closed \(it held fd \d+\)$/);
        return true;
      });
    },
  );

  await t.step("an fd that is not open: BadResource, and no copy of the others left", () => {
    assertRefused(sh({ fds: { 3: p.reader, 4: notOpen } }), Deno.errors.BadResource);
    assert.throws(sh({ fds: { 4: notOpen } }), /fds\[4\] is not an open descriptor/);
  });

  await t.step("an option spawn does not know: TypeError, not ignored", () => {
    for (const options of [{ stdout: "piped" }, { stdin: "null" }, { args: [] }]) {
      assertRefused(sh(options), TypeError);
    }
    assert.throws(sh({ stdout: "piped" }), /unknown option 'stdout'.*fds: \{ 1: p\.writer \}/);
    assertRefused(() => spawn(fixture("spawn_exit.ts"), { stderr: "null" } as never), TypeError);
  });

  await t.step("bad signals: TypeError or RangeError", () => {
    assertRefused(sh({ blockSignals: ["SIGNOPE"] }), TypeError);
    assertRefused(sh({ blockSignals: ["sigterm"] }), TypeError);
    assertRefused(sh({ blockSignals: "SIGTERM" }), TypeError);
    for (const n of [0, 65, 1.5, -1]) assertRefused(sh({ blockSignals: [n] }), RangeError);
    // No mask holds them: refused, not silently left out.
    for (const n of ["SIGKILL", "SIGSTOP", 9]) {
      assertRefused(sh({ blockSignals: [n] }), RangeError);
    }
  });

  await t.step("bad program, args, env or cwd: TypeError", () => {
    const call = (...a: unknown[]) => () =>
      (spawnProgram as (...args: unknown[]) => ChildProcess)(...a);
    assertRefused(call(""), TypeError);
    assertRefused(call(42), TypeError);
    assertRefused(call("/bin/true", "x"), TypeError);
    assertRefused(call("/bin/true", [1]), TypeError);
    assertRefused(call("/bin/true", ["a\0b"]), TypeError);
    assertRefused(call("/bin/true\0x"), TypeError);
    assertRefused(sh({ env: { A: "x\0y" } }), TypeError);
    // A Map's or an array's entries are not its own keys: never an empty or odd environment.
    for (const shape of [new Map([["A", "1"]]), ["A=1"]]) {
      assertRefused(sh({ env: shape as never }), TypeError);
      assertRefused(sh({ fds: shape as never }), TypeError);
    }
    assertRefused(sh({ cwd: "/\0tmp" }), TypeError);
  });

  await t.step(
    "spawn(): bad module, flags, args or fds: TypeError (RangeError for a number)",
    () => {
      const url = fixture("spawn_exit.ts");
      const call = (...a: unknown[]) => () => (spawn as (...args: unknown[]) => ChildProcess)(...a);
      assertRefused(call(""), TypeError);
      assertRefused(call(42), TypeError);
      assertRefused(call(url, { flags: [1] }), TypeError);
      assertRefused(call(url, { args: [1] }), TypeError);
      assertRefused(call(url, { args: 42 }), TypeError);
      assertRefused(call(url, { fds: { 3: "4" } }), TypeError);
      assertRefused(call(url, { fds: { 3: -1 } }), RangeError);
    },
  );
});

Deno.test("spawnProgram() reports a program it cannot start", async (t) => {
  const children = threadChildren();

  await t.step(
    unless(
      CANNOT.spawnFailure,
      "missing program: NotFound with ENOENT, posix_spawn and the path",
      () => {
        const path = "/nonexistent/program";
        assert.throws(() => spawnProgram(path, ["x"]), (e: unknown) => {
          assert.ok(e instanceof Deno.errors.NotFound, String(e));
          const { code, errno, syscall, path: where } = e as unknown as Record<string, unknown>;
          assert.deepEqual({ code, errno, syscall, path: where }, {
            code: "ENOENT",
            errno: 2,
            syscall: "posix_spawn",
            path,
          });
          return true;
        });
        assert.deepEqual(threadChildren(), children, "no child left");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.spawnFailure,
      "a file that is not executable: PermissionDenied with EACCES",
      async () => {
        await using s = new TestScope();
        const path = s.path(await Deno.makeTempFile({ prefix: "spawn_noexec_" }));
        assert.throws(() => spawnProgram(path), (e: unknown) => {
          assert.ok(e instanceof Deno.errors.PermissionDenied, String(e));
          assert.equal((e as unknown as Record<string, unknown>).code, "EACCES");
          assert.equal((e as unknown as Record<string, unknown>).path, path);
          return true;
        });
        assert.deepEqual(threadChildren(), children, "no child left");
      },
    ),
  );

  await t.step("spawn() of a missing module: the Deno child starts and fails", async () => {
    await using s = new TestScope();
    const err = s.pipe();
    const child = s.child(spawn(fixture("spawn_missing_module.ts"), { fds: { 2: err.writer } }));
    err.writer.close();
    const stderr = await readAll(err.reader);
    assert.deepEqual(await statusOf(child), exited(1));
    assert.match(stderr, /spawn_missing_module\.ts/);
  });
});

Deno.test("await using kills a running child and reaps it", async (t) => {
  await t.step("a program", async () => {
    await using s = new TestScope();
    let child: ChildProcess;
    {
      await using c = s.child(spawnProgram("/bin/sleep", ["120"]));
      child = c;
      assert.ok(processExists(c.pid));
    }
    // Disposal waited for the end: status is settled and the pid is gone, no zombie.
    assert.deepEqual(await statusOf(child), killedBy("SIGTERM", 15));
    assert.equal(processExists(child.pid), false);
    assert.ok(!threadChildren().includes(child.pid));
  });

  await t.step("a Deno child", async () => {
    await using s = new TestScope();
    const out = s.pipe();
    let child: ChildProcess;
    {
      const f = s.fixture("spawn_forever.ts", { fds: { 1: out.writer } });
      await using c = f.child;
      child = c;
      out.writer.close();
      await f.check(() => readUntil(out.reader, "ready\n"));
    }
    assert.deepEqual(await statusOf(child), killedBy("SIGTERM", 15));
    assert.equal(processExists(child.pid), false);
    // Its stdout was closed by its end.
    assert.equal(await readAll(out.reader), "");
  });

  await t.step(
    "a stopped child ends by the SIGTERM, not by the SIGKILL after the grace",
    async () => {
      await using s = new TestScope();
      let child: ChildProcess;
      {
        await using c = s.child(spawnProgram("/bin/sleep", ["120"]));
        child = c;
        c.kill("SIGSTOP");
        await until(() => readProcFile(`/proc/${c.pid}/stat`).split(" ")[2] === "T", "the stop");
      }
      assert.deepEqual(await statusOf(child), killedBy("SIGTERM", 15));
    },
  );

  await t.step("a child that has already ended is left as it was", async () => {
    await using s = new TestScope();
    let child: ChildProcess;
    {
      await using c = s.child(spawnProgram("/bin/sh", ["-c", "exit 7"]));
      child = c;
      await statusOf(c);
    }
    assert.deepEqual(await statusOf(child), exited(7));
    assert.equal(processExists(child.pid), false);
  });

  await t.step("status resolves only once the child is reaped", async () => {
    await using s = new TestScope();
    const child = s.child(spawnProgram("/bin/true"));
    await statusOf(child);
    assert.equal(processExists(child.pid), false);
    assert.ok(!pidfdPids().has(child.pid), "its pidfd is closed");
  });
});

// A pipe end made by pipe() is O_NONBLOCK; the child must get a blocking
// description of its own, or ordinary programs get EAGAIN on an empty stdin.
Deno.test({
  name: "spawnProgram() hands a program blocking descriptors, the parent's stay non-blocking",
  fn: async () => {
    await using s = new TestScope();
    const input = s.pipe();
    const { stdout } = await run("/bin/sh", [
      "-c",
      "grep flags /proc/$$/fdinfo/0 /proc/$$/fdinfo/1",
    ], {
      fds: { 0: input.reader },
    });
    const O_NONBLOCK = 0o4000;
    const flags = [...stdout.matchAll(/flags:\s*([0-7]+)/g)];
    assert.equal(flags.length, 2, stdout);
    for (const m of flags) assert.equal(parseInt(m[1], 8) & O_NONBLOCK, 0, stdout);
    // The parent's own end is still non-blocking: tryRead does not wait.
    assert.throws(() => input.reader.tryRead(new Uint8Array(1)), Deno.errors.WouldBlock);
  },
});

Deno.test("a program reads a pipe the parent writes late, and writes more than a pipe holds", async () => {
  await using s = new TestScope();
  const input = s.pipe();
  const output = s.pipe();
  const child = s.child(
    spawnProgram("/bin/cat", [], { fds: { 0: input.reader, 1: output.writer } }),
  );
  input.reader.close();
  output.writer.close();
  const data = "x".repeat(1 << 20);
  // cat finds its stdin empty first: it sleeps in read(0, ...) before anything comes.
  await blockedIn(child.pid, { syscall: "read", arg0: 0 });
  const writing = (async () => {
    await input.writer.write(data);
    input.writer.close();
  })();
  const text = await readAll(output.reader);
  await writing;
  assert.equal(text.length, data.length);
  assert.equal((await child.status).code, 0);
});

Deno.test("ChildProcess.unref() lets the parent exit while the child runs", async () => {
  await using s = new TestScope();
  const out = s.pipe();
  const parent = s.fixture("spawn_unref.ts", { fds: { 1: out.writer } });
  out.writer.close();
  // Not to end of file: the orphan holds the pipe as its stdout too.
  const text = await parent.check(() => readUntil(out.reader, "\n"));
  const orphan = s.orphan(Number(text.trim())); // killed at the end, whatever happens
  await parent.exits(0);
  assert.ok(orphan > 0 && processExists(orphan), "the unref'd child still runs");
  Deno.kill(orphan, "SIGKILL");
});

Deno.test({
  name: "started with SIGCHLD ignored: a child left to run does not end the program",
  // perl passes an ignored SIGCHLD on across exec (dash's trap does not); qemu-user
  // handles the host's signals itself.
  ignore: EMULATED || (() => {
    try {
      return !Deno.statSync("/usr/bin/perl").isFile;
    } catch {
      return true;
    }
  })(),
  fn: async () => {
    // The kernel then reaps children itself, and waitpid says ECHILD: a status that
    // nobody awaits rejects unobserved, which must not be an uncaught error.
    const code = `
      import { spawnProgram } from "${MOD_URL}";
      import assert from "node:assert/strict";
      const child = spawnProgram("/bin/true");
      const watched = spawnProgram("/bin/true");
      await assert.rejects(watched.status, { code: "ECHILD" });
      void child;
      console.log("survived");
    `;
    const { status, stdout, stderr } = await run("/usr/bin/perl", [
      "-e",
      '$SIG{CHLD} = "IGNORE"; exec @ARGV or die',
      Deno.execPath(),
      "eval",
      "--ext=ts",
      code,
    ]);
    assert.deepEqual([status, stdout], [exited(0), "survived\n"], stderr);
  },
});

Deno.test("strings that carry stray bytes as U+DC80..U+DCFF reach C as those bytes", async (t) => {
  await t.step("a spawned program's argument", async () => {
    const { status, stdout } = await run("/bin/sh", [
      "-c",
      'printf %s "$1" | od -An -tx1',
      "sh",
      "a\uDCFFb\uDC80",
    ]);
    assert.deepEqual([status, stdout.trim().split(/\s+/)], [exited(0), ["61", "ff", "62", "80"]]);
  });
  await t.step("FIFO paths: two such strings are two files, named with those bytes", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir("libc-ipc-names-");
    Fifo.create(`${dir}/f\uDC80`, { exclusive: true });
    Fifo.create(`${dir}/f\uDCFF`, { exclusive: true });
    const { stdout } = await run("/bin/sh", ["-c", 'ls "$1" | od -An -tx1', "sh", dir]);
    assert.deepEqual(stdout.trim().split(/\s+/), ["66", "80", "0a", "66", "ff", "0a"]);
    using reader = Fifo.tryOpen(`${dir}/f\uDCFF`, "read");
    assert.ok(reader instanceof FdReader);
    Fifo.unlink(`${dir}/f\uDC80`);
    Fifo.unlink(`${dir}/f\uDCFF`);
  });
});
