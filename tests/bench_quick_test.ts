// `deno task bench:compare --quick`: every driver runs, every row of every
// table gets a number, and the run leaves no kernel object or file behind
// (System V objects checked in an IPC namespace of the run's own, where root
// may make one: other test files make objects of their own meanwhile).
// Not under a user-mode emulator (qemu-user): there the run takes minutes and
// its figures measure the emulator; the native run checks the drivers.
import assert from "node:assert/strict";
import { commandOutput, EMULATED } from "./_kernel.ts";

const RUN = new URL("../bench/compare/run.ts", import.meta.url).pathname;

async function hasCompiler(): Promise<boolean> {
  try {
    return (await commandOutput("cc", { args: ["--version"] })).success;
  } catch {
    return false;
  }
}

async function canUnshareIpc(): Promise<boolean> {
  try {
    return (await commandOutput("unshare", { args: ["--ipc", "--", "true"] })).success;
  } catch {
    return false;
  }
}

/**
 * What a run could leave in the file system: the bench's temporary
 * directories and /dev/shm names (the test suite's and its examples' own, made
 * by tests running meanwhile, are left out).
 */
function fileLeftovers(): string[] {
  const tmp = [...Deno.readDirSync("/tmp")].map((e) => `/tmp/${e.name}`)
    .filter((n) => n.startsWith("/tmp/ipc-bench-"));
  const shm = [...Deno.readDirSync("/dev/shm")].map((e) => `/dev/shm/${e.name}`)
    .filter((n) => !/libc-ipc-(test|example)-/.test(n));
  return [...tmp, ...shm].sort();
}

/** Marks where the run's output ends and the namespace's `ipcs` begins. */
const IPCS = "--- ipcs in the IPC namespace of the run ---";

/**
 * The cells of every table row that hold its figures: its median (in the wait
 * table, its figure; in the goals table, its first placement's ratio) and, in
 * a ping-pong table, its p99; in the lag table, every median column (a sync
 * form has no figure of many waits there: "—").
 */
function medians(report: string): Array<{ line: string; cell: string }> {
  const out: Array<{ line: string; cell: string }> = [];
  let columns: number[] = [];
  for (const line of report.split("\n")) {
    if (!line.startsWith("|")) {
      columns = [];
      continue;
    }
    const cells = line.slice(1, -1).split("|").map((c) => c.trim());
    if (columns.length === 0) {
      const range = cells.indexOf("min – max");
      const goal = cells.indexOf("mechanism");
      const figure = range > 0 ? range - 1 : goal > 0 ? goal + 1 : cells.indexOf("@libc/ipc");
      const p99 = cells.indexOf("p99 µs");
      columns = figure >= 0
        ? [figure, ...(p99 >= 0 ? [p99] : [])]
        : cells.flatMap((c, i) => /median/.test(c) ? [i] : []);
      assert.ok(columns.length > 0, `unknown table header: ${line}`);
      continue;
    }
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue; // the separator
    for (const column of columns) {
      // The receivers that wait in one call (blocking, or raw `nonblocking`) have no 100-waits figure.
      const none = cells[column] === "—" &&
        /^(@libc\/ipc `\S*Sync`|raw libc via Deno\.dlopen `[^`]+`)$/.test(cells[0]);
      if (!none) out.push({ line, cell: cells[column] });
    }
  }
  return out;
}

if (EMULATED) {
  console.log(
    "bench_quick_test: ignored under emulation (qemu-user): its figures would measure the emulator",
  );
}

Deno.test({
  name: "bench:compare --quick measures every row and leaves nothing",
  ignore: EMULATED,
}, async (t) => {
  if (!(await hasCompiler())) {
    console.log("skipped: no C compiler (cc) for the benchmarks' C baselines");
    return;
  }
  const before = fileLeftovers();
  // Other test files run meanwhile and make System V objects of their own: the
  // run gets an IPC namespace of its own (where root may make one), and what is
  // left in it is listed as the run ends, before the namespace goes.
  const isolated = await canUnshareIpc();
  const bench = [Deno.execPath(), "run", "--allow-ffi", "--allow-read", "--allow-write"]
    .concat(["--allow-run", "--allow-net", RUN, "--quick"]);
  const out = await commandOutput(isolated ? "unshare" : bench[0], {
    args: isolated
      ? ["--ipc", "--", "sh", "-c", `"$@"; s=$?; echo '${IPCS}'; ipcs -m -s -q; exit $s`, "sh"]
        .concat(bench)
      : bench.slice(1),
  }, 600_000);
  const { stdout, stderr } = out;
  const context = `\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`;

  await t.step("it ends with success", () => {
    assert.equal(out.code, 0, `run.ts --quick exited with ${out.code}${context}`);
  });
  await t.step("every row has a number", () => {
    const rows = medians(stdout);
    // Ten sections, each with at least one table of several rows.
    assert.ok(rows.length >= 40, `only ${rows.length} rows${context}`);
    for (const { line, cell } of rows) {
      assert.match(cell, /^-?\d+(\.\d+)?\b/, `no number in: ${line}${context}`);
      assert.doesNotMatch(cell, /NaN|undefined|Infinity/, `bad number in: ${line}${context}`);
    }
  });
  await t.step("every round-trip table has a p99 of every row", () => {
    // Pipes, FIFOs, both queues, futex and both semaphores, Unix stream, TCP, datagram, signals.
    const tables = stdout.split("\n").filter((l) => l.startsWith("| placement |"))
      .filter((l) => l.includes("µs / round trip"));
    assert.ok(tables.length >= 11, `only ${tables.length} round-trip tables${context}`);
    for (const header of tables) assert.match(header, /\| p99 µs \|/, header);
  });
  await t.step("it writes no results", () => {
    assert.doesNotMatch(stdout, /^Results: /m);
  });
  await t.step("it leaves nothing behind", () => {
    // Only what was not there before: another run's may have gone meanwhile.
    assert.deepEqual(fileLeftovers().filter((name) => !before.includes(name)), []);
    if (!isolated) {
      console.log("System V objects not checked: no IPC namespace of its own (needs root)");
      return;
    }
    const ipcs = stdout.slice(stdout.indexOf(IPCS) + IPCS.length);
    const objects = ipcs.split("\n").filter((l) => /^0x[0-9a-f]+\s/.test(l));
    assert.deepEqual(objects, [], `System V objects left by the run:${context}`);
  });
});
