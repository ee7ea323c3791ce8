// bench/compare/goals.ts: each goal is met only where it holds at every placement.
import assert from "node:assert/strict";
import { goalChecks, goalsTable } from "../bench/compare/goals.ts";
import type { Form, MeasuredTable, Results } from "../bench/compare/report.ts";

const PLACES = ["one CPU", "any CPU"];

function cell(median: number) {
  return { samples: [median], median, min: median, max: median, ratios: {} };
}

function table(
  about: string,
  unit: string,
  rows: Array<[string, Form, number[]]>,
): MeasuredTable {
  return {
    kind: "measured",
    title: about.match(/^\*\*(.+?)\*\*/)![1],
    about,
    notes: [],
    unit,
    better: unit.endsWith("/s") ? "higher" : "lower",
    digits: 1,
    placements: PLACES,
    baselines: [rows[0][0]],
    c: rows.find(([, form]) => form === "c")?.[0] ?? null,
    rows: rows.map(([name, form, medians]) => ({
      name,
      form,
      cells: Object.fromEntries(PLACES.map((p, i) => [p, cell(medians[i])])),
    })),
  };
}

const results = {
  placements: PLACES.map((name) => ({ name, parent: [], child: [] })),
  sections: [{
    title: "Sockets",
    seconds: 1,
    tables: [
      table(
        "**Ping-pong**: 64 B there and back over a Unix stream socket; more",
        "µs / round trip",
        [
          ["C (fork)", "c", [10, 10]],
          ["@libc/ipc sync: readSync", "sync", [11, 13]], // 1.1×, 1.3×: not met
          ["@libc/ipc async: await read", "async", [15, 19]], // 1.5×, 1.9×: met
          ["Deno built-in: Deno.connect", "deno", [20, 20]], // both forms faster at both: met
        ],
      ),
      table("**Ping-pong**: 64 B there and back over TCP on 127.0.0.1", "µs / round trip", [
        ["C (fork)", "c", [10, 10]],
        ["@libc/ipc sync: readSync", "sync", [12.5, 12.9]], // ≤ 1.3× (TCP's own goal): met
        ["@libc/ipc async: await read", "async", [19, 21]], // 2.1× at one: not met
      ]),
      table("**Throughput**: 1 MiB over a Unix stream socket", "MiB/s", [
        ["C (fork)", "c", [100, 100]],
        ["@libc/ipc sync: writeSync", "sync", [90, 80]],
        ["@libc/ipc async: await write", "async", [70, 60]],
        ["Deno built-in: Deno.connect", "deno", [80, 50]], // sync faster at both, async at one
      ]),
    ],
  }, {
    title: "Signals",
    seconds: 1,
    tables: [
      table("**Ping-pong**: a signal there and back", "µs / round trip", [
        ["C (fork)", "c", [10, 10]],
        ["@libc/ipc sync: readSync", "sync", [14, 15]], // ≤ 1.5× (signals' own goal): met
        ["@libc/ipc async: await read", "async", [16, 12]], // 1.6× at one: not met
        ["Deno.addSignalListener", "deno", [40, 40]], // speed-ups 2.9× and 2.7×, 2.5× and 3.3×: met
      ]),
    ],
  }],
} as unknown as Results;

Deno.test("goals.ts: a goal is met only where it holds at every placement", () => {
  const met = Object.fromEntries(
    goalChecks(results).map((c) => [`${c.goal} | ${c.mechanism}`, c.met]),
  );
  assert.deepEqual(met, {
    "round trip, sync ≤ 1.2× C | Unix stream socket": false,
    "round trip, sync ≤ 1.3× C | TCP on 127.0.0.1": true,
    "round trip, sync ≤ 1.5× C | Signals": true,
    "round trip, async ≤ 2× C | Unix stream socket": true,
    "round trip, async ≤ 2× C | TCP on 127.0.0.1": false,
    "round trip, async ≤ 1.5× C | Signals": false,
    "Unix socket round trip, sync faster than Deno's | time ÷ Deno's": true,
    "Unix socket round trip, async faster than Deno's | time ÷ Deno's": true,
    "Unix socket throughput, sync ≥ 0.8× C | ÷ C's": true,
    "Unix socket throughput, sync faster than Deno's | time ÷ Deno's": true,
    "Unix socket throughput, async ≥ 0.8× C | ÷ C's": false,
    "Unix socket throughput, async faster than Deno's | time ÷ Deno's": false,
    "signal round trip, sync ≥ 2× faster than addSignalListener | speed-up": true,
    "signal round trip, async ≥ 2× faster than addSignalListener | speed-up": true,
  });
  const lines = goalsTable(results).split("\n");
  assert.equal(lines[0], "| goal | mechanism | one CPU | any CPU | met |");
  assert.equal(lines[2], "| round trip, sync ≤ 1.2× C | Unix stream socket | 1.10× | 1.30× | ✗ |");
});
