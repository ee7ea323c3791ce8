/**
 * Timers beside async reads on a busy machine: how late 300 `setTimeout(2)`
 * come in a process whose async loop drains a pipe fed 64 bytes every 100 µs
 * by a C program, while three C programs keep the CPUs busy (busy.c). This
 * library's `await read()` against Deno's own `FsFile.read` of a piped
 * `Deno.Command` (busy_child.ts), alternating, RUNS times; each cell the
 * median of the runs and their range, in ms.
 *
 * A wait's yields (src/_wait/spinner.ts) are the event loop's: on a CPU other
 * programs keep busy, each gives the CPU away for a whole slice, which the
 * timers then wait out. This measures that they stop.
 *
 * Run: `deno task bench:compare:busy` (Linux; needs `cc`; about 15 s).
 *
 * @module
 */
import { median, standalone, withC } from "./harness.ts";

const RUNS = 3;
const HOGS = 3;
const CHILD = new URL("busy_child.ts", import.meta.url).pathname;

interface Late {
  median: number;
  p90: number;
  max: number;
}

async function lateness(mode: "lib" | "deno", busy: string): Promise<Late> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-run", CHILD, mode, busy],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`busy_child.ts ${mode} failed: ${out.code}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const cell = (xs: number[]) =>
  `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

async function main(): Promise<string> {
  return await withC(["busy.c"], async ([busy]) => {
    const runs: Record<"lib" | "deno", Late[]> = { lib: [], deno: [] };
    const hogs = Array.from(
      { length: HOGS },
      () => new Deno.Command(busy, { args: ["hog"] }).spawn(),
    );
    try {
      for (let i = 0; i < RUNS; i++) {
        for (const mode of ["lib", "deno"] as const) runs[mode].push(await lateness(mode, busy));
      }
    } finally {
      for (const hog of hogs) hog.kill("SIGKILL");
      await Promise.all(hogs.map((hog) => hog.status));
    }
    const rows = ([["@libc/ipc `await read()`", "lib"], ["Deno `FsFile.read`", "deno"]] as const)
      .map(([name, mode]) => {
        const r = runs[mode];
        return `| ${name} | ${cell(r.map((x) => x.median))} | ${cell(r.map((x) => x.p90))} | ${
          cell(r.map((x) => x.max))
        } |`;
      });
    return [
      `### Timers beside async reads, ${HOGS} busy processes on the CPUs`,
      "",
      `300 \`setTimeout(2)\` per run, ${RUNS} runs; ms late: median of the runs (range).`,
      "",
      "| the pipe's reader | median | p90 | max |",
      "|---|---|---|---|",
      ...rows,
      "",
      "Reproduce: `deno task bench:compare:busy`.",
    ].join("\n");
  });
}

if (import.meta.main) await standalone(main);
