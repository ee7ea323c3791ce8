/**
 * The project's performance goals, each checked against one run's results:
 * met (✓) only where it holds at every placement measured.
 *
 * - every round trip (64 B where data moves): the sync form ≤ 1.2× C, the async form ≤ 2× C;
 *   where an issue set its own: TCP's sync form ≤ 1.3× C, a signal round
 *   trip ≤ 1.5× C in both forms;
 * - shared memory: ≥ 0.8× the same copies made in one process (memory speed);
 * - a Unix stream socket faster than Deno's built-in (`Deno.connect`), round
 *   trip and throughput, and its throughput ≥ 0.8× C's;
 * - a signal round trip at least 2× faster than `Deno.addSignalListener`.
 *
 * run.ts prints the table after a run; the table of a results file, without
 * measuring: `deno run --allow-read bench/compare/goals.ts [results.json]`
 * (the default is this platform's file).
 *
 * @module
 */
import type { Form, MeasuredTable, Results } from "./report.ts";

/** One goal at one mechanism: the figure per placement and whether every one meets it. */
export interface GoalCheck {
  goal: string;
  mechanism: string;
  /** The figure compared with the goal, by placement name. */
  figures: Record<string, number>;
  met: boolean;
}

interface Table {
  section: string;
  table: MeasuredTable;
}

function tablesOf(results: Results): Table[] {
  return results.sections.flatMap((s) =>
    s.tables.flatMap((t) => t.kind === "measured" ? [{ section: s.title, table: t }] : [])
  );
}

/** What a table's messages go over: "pipes", "System V semaphores", "TCP on 127.0.0.1", ... */
export function mechanismOf({ section, table }: Table): string {
  const over = table.title.match(/ over (.+)$/)?.[1] ??
    table.about?.match(/ over (.+?)(?: \(| in |,|;|$)/)?.[1] ?? section;
  return over.replace(/`/g, "").replace(/^(a|an|one|two) /, "");
}

const isRoundTrip = (t: MeasuredTable) => t.unit === "µs / round trip" && t.c !== null;

/** `row / of` for every placement both have (throughput: `of / row`, so < 1 is always faster). */
function timeRatios(t: MeasuredTable, form: Form, of: string): Record<string, number> {
  const row = t.rows.find((r) => r.form === form);
  const base = t.rows.find((r) => r.name === of);
  const ratios: Record<string, number> = {};
  if (row === undefined || base === undefined) return ratios;
  for (const p of t.placements) {
    const [m, b] = [row.cells[p]?.median, base.cells[p]?.median];
    const ratio = t.better === "higher" ? b / m : m / b;
    if (Number.isFinite(ratio) && ratio > 0) ratios[p] = ratio;
  }
  return ratios;
}

function check(
  goal: string,
  mechanism: string,
  figures: Record<string, number>,
  holds: (x: number) => boolean,
): GoalCheck[] {
  const values = Object.values(figures);
  return values.length === 0 ? [] : [{ goal, mechanism, figures, met: values.every(holds) }];
}

/** The most a round trip of `form` over `mechanism` may take, as a multiple of C's. */
function roundTripLimit(form: "sync" | "async", mechanism: string): number {
  if (/^signals?$/i.test(mechanism)) return 1.5;
  if (form === "sync" && /^TCP/.test(mechanism)) return 1.3;
  return form === "sync" ? 1.2 : 2;
}

/** Every goal the results can tell, in the order of the tables. */
export function goalChecks(results: Results): GoalCheck[] {
  const tables = tablesOf(results);
  const checks: GoalCheck[] = [];
  for (const form of ["sync", "async"] as const) {
    for (const t of tables.filter((t) => isRoundTrip(t.table))) {
      const ratios = timeRatios(t.table, form, t.table.c!);
      const mechanism = mechanismOf(t);
      const limit = roundTripLimit(form, mechanism);
      checks.push(
        ...check(`round trip, ${form} ≤ ${limit}× C`, mechanism, ratios, (x) => x <= limit),
      );
    }
  }
  for (const t of tables) {
    const memory = t.table.rows.find((r) => r.form === "other" && /one process/.test(r.name));
    if (memory === undefined || t.table.better !== "higher") continue;
    for (const form of ["sync", "async"] as const) {
      const speed = Object.fromEntries(
        Object.entries(timeRatios(t.table, form, memory.name)).map(([p, r]) => [p, 1 / r]),
      );
      checks.push(
        ...check(
          `shared memory, ${form} ≥ 0.8× memory speed`,
          "1 MiB copies",
          speed,
          (x) => x >= 0.8,
        ),
      );
    }
  }
  const unix = tables.filter((t) => /Unix stream socket/.test(t.table.about ?? ""));
  const signal = tables.filter((t) => isRoundTrip(t.table) && /signal/i.test(t.section));
  for (const t of unix) {
    const deno = t.table.rows.find((r) => r.form === "deno");
    const what = t.table.better === "higher" ? "throughput" : "round trip";
    for (const form of ["sync", "async"] as const) {
      if (what === "throughput" && t.table.c !== null) {
        const share = Object.fromEntries(
          Object.entries(timeRatios(t.table, form, t.table.c)).map(([p, r]) => [p, 1 / r]),
        );
        checks.push(
          ...check(`Unix socket throughput, ${form} ≥ 0.8× C`, "÷ C's", share, (x) => x >= 0.8),
        );
      }
      if (deno === undefined) continue;
      checks.push(
        ...check(
          `Unix socket ${what}, ${form} faster than Deno's`,
          "time ÷ Deno's",
          timeRatios(t.table, form, deno.name),
          (x) => x < 1,
        ),
      );
    }
  }
  for (const t of signal) {
    const deno = t.table.rows.find((r) => r.form === "deno");
    for (const form of ["sync", "async"] as const) {
      if (deno === undefined) continue;
      const speedup = Object.fromEntries(
        Object.entries(timeRatios(t.table, form, deno.name)).map(([p, r]) => [p, 1 / r]),
      );
      checks.push(
        ...check(
          `signal round trip, ${form} ≥ 2× faster than addSignalListener`,
          "speed-up",
          speedup,
          (x) => x >= 2,
        ),
      );
    }
  }
  return checks;
}

/** The goals as a Markdown table: one row per goal and mechanism, a column per placement. */
export function goalsTable(results: Results): string {
  const placements = results.placements.map((p) => p.name);
  const head = ["goal", "mechanism", ...placements, "met"];
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...goalChecks(results).map((c) =>
      `| ${
        [
          c.goal,
          c.mechanism,
          ...placements.map((p) =>
            c.figures[p] === undefined ? "–" : `${c.figures[p].toFixed(2)}×`
          ),
          c.met ? "✓" : "✗",
        ].join(" | ")
      } |`
    ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const { resultsFile } = await import("./report.ts");
  const path = Deno.args[0] === undefined
    ? resultsFile("json")
    : new URL(Deno.args[0], `file://${Deno.cwd()}/`);
  console.log(goalsTable(JSON.parse(await Deno.readTextFile(path))));
}
