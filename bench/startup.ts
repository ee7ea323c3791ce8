/**
 * What the library adds to a program's start: fresh Deno processes that
 * import it and make one pipe round trip, beside processes that do the same
 * through a bare `Deno.dlopen` of the four functions it needs and processes
 * that do nothing, interleaved (`bench/startup_child.ts`). Each run starts
 * `--processes` of each (default 10) and takes each figure's median; the
 * table shows the median of `--runs` runs (default 3) and their range. A
 * first process of each kind, not counted, fills Deno's caches.
 *
 * - **load**: the `import` of the library's root module (the `dlopen` for raw);
 * - **first round trip**: then `pipe()`, `writeSync` and `readSync` of 3 bytes
 *   and the close, where the library opens the libc functions it calls;
 * - **process**: the child's whole life as the parent sees it, from spawn to exit.
 *
 * Run: `deno task bench:startup` (Linux).
 *
 * @module
 */
import { countArg, fixed, median } from "./compare/harness.ts";

const RUNS = countArg("runs") ?? 3;
const PROCESSES = countArg("processes") ?? 10;
const CHILD = new URL("startup_child.ts", import.meta.url).pathname;
const KINDS = ["library", "raw", "empty"] as const;
type Kind = typeof KINDS[number];
interface Sample {
  load: number;
  first: number;
  process: number;
}

async function start(kind: Kind): Promise<Sample> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", CHILD, kind],
    stdin: "null",
  }).output();
  const process = performance.now() - t0;
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${kind} child failed:\n${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return { ...JSON.parse(text), process };
}

for (const kind of KINDS) await start(kind);
const runs: Record<Kind, Sample[]> = { library: [], raw: [], empty: [] };
for (let run = 0; run < RUNS; run++) {
  const samples: Record<Kind, Sample[]> = { library: [], raw: [], empty: [] };
  for (let i = 0; i < PROCESSES; i++) {
    for (const kind of KINDS) samples[kind].push(await start(kind));
  }
  for (const kind of KINDS) {
    const of = (key: keyof Sample) => median(samples[kind].map((s) => s[key]));
    runs[kind].push({ load: of("load"), first: of("first"), process: of("process") });
  }
}

const cell = (kind: Kind, key: keyof Sample) => {
  const xs = runs[kind].map((s) => s[key]);
  return `${fixed(median(xs), 1)} (${fixed(Math.min(...xs), 1)}–${fixed(Math.max(...xs), 1)})`;
};
console.log(
  `Start of a program, ms: median of ${RUNS} runs (range), each the median of ${PROCESSES} processes.\n`,
);
console.log("| program | load | first round trip | process |");
console.log("|---|---|---|---|");
const LABELS: Record<Kind, string> = {
  library: "@libc/ipc: import, pipe() + writeSync/readSync",
  raw: "raw: Deno.dlopen of 4 functions, pipe2 + write/read",
  empty: "empty program",
};
for (const kind of KINDS) {
  console.log(
    `| ${LABELS[kind]} | ${cell(kind, "load")} | ${cell(kind, "first")} | ${
      cell(kind, "process")
    } |`,
  );
}
