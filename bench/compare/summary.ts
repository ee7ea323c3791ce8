/**
 * The README's figures, rendered from a results file of `deno task
 * bench:compare` (report.ts), so that the README shows exactly the last run
 * that was committed and nothing typed by hand:
 *
 * - every round trip (64 B) and every throughput (MiB/s; messages/s where a
 *   message is the unit), one line per row, a column per placement: median
 *   of the runs (range; ratio to C; p99);
 * - the wake lag and idle CPU of every mechanism and receiver;
 * - the waiting engine's figures, as its driver printed them;
 * - the goals, met or not (goals.ts).
 *
 * `deno task bench:readme` writes it into README.md, between the two marker
 * lines {@link BEGIN} and {@link END}, from {@link README_RESULTS},
 * then formats the README; tests/bench_summary_test.ts checks that the README
 * holds what the committed results file renders.
 *
 * @module
 */
import { goalsTable, mechanismOf } from "./goals.ts";
import type { FigureTable, MeasuredTable, Results, ResultSection } from "./report.ts";

/** The results file the README shows (its chart too): the platform the project is measured on. */
export const README_RESULTS: URL = new URL("../results/linux-x86_64.json", import.meta.url);

/** The line before the rendered part in README.md. */
export const BEGIN =
  "<!-- bench:readme begin: written by `deno task bench:readme`, do not edit -->";
/** The line after it. */
export const END = "<!-- bench:readme end -->";

const fixed = (x: number, digits: number) => x.toFixed(digits);
const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
const rule = (n: number) => row(Array.from({ length: n }, () => "---"));

/** "28.3 (27.6–28.5; 1.56×; p99 92)": a cell of a table of several placements. */
function cellOf(t: MeasuredTable, name: string, place: string): string {
  const cell = t.rows.find((r) => r.name === name)?.cells[place];
  if (cell === undefined) return "–";
  const f = (x: number) => fixed(x, t.digits);
  const parts = [`${f(cell.min)}–${f(cell.max)}`];
  const c = t.c === null ? undefined : t.rows.find((r) => r.name === t.c)?.cells[place];
  if (c !== undefined && name !== t.c) parts.push(`${fixed(cell.median / c.median, 2)}×`);
  if (cell.p99 !== undefined) parts.push(`p99 ${fixed(cell.p99, 0)}`);
  return `${f(cell.median)} (${parts.join("; ")})`;
}

/** One table of every measured table of `unit` with the placements of the run: a bold line per mechanism, a line per row. */
function measuredTable(results: Results, unit: string, what: string): string[] {
  const places = results.placements.map((p) => p.name);
  const lines = [row([what, ...places]), rule(places.length + 1)];
  for (const section of results.sections) {
    for (const t of section.tables) {
      if (t.kind !== "measured" || t.unit !== unit || t.placements.length !== places.length) {
        continue;
      }
      const several = section.tables.filter((u) => u.kind === "measured" && u.unit === unit);
      const title = several.length > 1 ? mechanism(section, t) : section.title;
      lines.push(row([`**${title}**`, ...places.map(() => "")]));
      for (const r of t.rows) lines.push(row([r.name, ...places.map((p) => cellOf(t, r.name, p))]));
    }
  }
  return lines;
}

function hasUnit(results: Results, unit: string): boolean {
  return results.sections.some((s) =>
    s.tables.some((t) => t.kind === "measured" && t.unit === unit)
  );
}

/** A table's mechanism where its section has several tables of one unit: "Sockets: TCP on 127.0.0.1". */
function mechanism(section: ResultSection, table: MeasuredTable): string {
  return `${section.title}: ${mechanismOf({ section: section.title, table })}`;
}

/** The section whose tables have one placement each (lag.ts): one row per receiver, a column per table. */
function lagTable(section: ResultSection): string[] {
  const tables = section.tables.filter((t): t is MeasuredTable => t.kind === "measured");
  const names = [...new Set(tables.flatMap((t) => t.rows.map((r) => r.name)))];
  const timed = (t: MeasuredTable) =>
    t.rows.some((r) => Object.values(r.cells).some((c) => c.p99 !== undefined));
  const head = tables.map((t) => timed(t) ? `${t.title}, µs: median / p99` : t.title);
  const lines = [row(["receiver", ...head]), rule(head.length + 1)];
  for (const name of names) {
    lines.push(row([
      name,
      ...tables.map((t) => {
        const cell = t.rows.find((r) => r.name === name)?.cells[t.placements[0]];
        if (cell === undefined) return "–";
        const median = fixed(cell.median, t.digits);
        return cell.p99 === undefined ? median : `${median} / ${fixed(cell.p99, 0)}`;
      }),
    ]));
  }
  return lines;
}

function figureTable(t: FigureTable): string[] {
  return [row(t.columns), rule(t.columns.length), ...t.rows.map(row)];
}

/** The markdown the README shows between its markers. */
export function renderSummary(results: Results): string {
  const m = results.machine;
  const places = results.placements
    .map((p) => `${p.name}: parent on CPU ${p.parent.join(",")}, child on CPU ${p.child.join(",")}`)
    .join("; ");
  const vm = m.virtualized ? " (a VM)" : "";
  const blocks: string[][] = [[
    `\`${results.command}\` on ${results.date.slice(0, 10)}: ${m.cpu}, ${m.cores} cores${vm}, ` +
    `Linux ${m.kernel}, glibc ${m.glibc ?? "–"}, Deno ${m.deno}; ` +
    `${fixed(results.seconds, 0)} s in all. Every cell is the median of ${results.reps} runs ` +
    "(range of the runs; ratio to C's median in the same runs, of time for round trips and of " +
    "MiB/s for throughput; for round trips, the p99 of " +
    `every run's round trips pooled, µs). Placements: ${places}.`,
  ]];
  blocks.push(
    measuredTable(
      results,
      "µs / round trip",
      "round trip, µs (64 B where data moves)",
    ),
  );
  blocks.push(measuredTable(results, "MiB/s", "throughput, MiB/s"));
  if (hasUnit(results, "messages/s")) {
    blocks.push(measuredTable(results, "messages/s", "throughput, messages/s"));
  }
  for (const section of results.sections) {
    const lag = section.tables.length > 0 &&
      section.tables.every((t) => t.kind === "measured" && t.placements.length === 1);
    if (lag) {
      const about = section.tables.flatMap((t) => t.about ? [t.about] : []);
      const notes = (section.tables[0] as MeasuredTable).notes;
      blocks.push([`**${section.title}** (any CPU). ${about.join(" ")}`], lagTable(section), notes);
    }
    for (const t of section.tables) {
      if (t.kind === "figures") {
        blocks.push([`**${section.title}**. ${t.about ?? ""}`], figureTable(t));
      }
    }
  }
  blocks.push(["**Goals**, each met (✓) only where it holds at every placement:"]);
  blocks.push([goalsTable(results)]);
  return blocks.filter((b) => b.length > 0).map((b) => b.join("\n")).join("\n\n");
}

/** `text` with the part between the markers replaced by `summary`; throws unless both markers are there, in order. */
export function withSummary(text: string, summary: string): string {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md needs the lines ${BEGIN} and ${END}`);
  return `${text.slice(0, begin + BEGIN.length)}\n\n${summary}\n\n${text.slice(end)}`;
}

/** The part between the markers, or undefined. */
export function summaryOf(text: string): string | undefined {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  return begin < 0 || end < begin ? undefined : text.slice(begin + BEGIN.length, end).trim();
}

/**
 * Markdown as compared by the test: `deno fmt` pads table cells and rewraps
 * paragraphs, so cells are trimmed, rules shortened and each paragraph made
 * one line.
 */
export function normalized(markdown: string): string {
  return markdown.trim().split(/\n\s*\n/).map((block) =>
    block.trimStart().startsWith("|")
      ? block.split("\n").map((line) =>
        line.trim().replace(/^\||\|$/g, "").split("|").map((c) =>
          c.trim().replace(/^:?-+:?$/, "---")
        ).join("|")
      ).join("\n")
      : block.replace(/\s+/g, " ").trim()
  ).join("\n\n");
}

if (import.meta.main) {
  const readme = new URL("../../README.md", import.meta.url);
  const results: Results = JSON.parse(await Deno.readTextFile(README_RESULTS));
  await Deno.writeTextFile(
    readme,
    withSummary(await Deno.readTextFile(readme), renderSummary(results)),
  );
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", decodeURIComponent(readme.pathname)],
    cwd: decodeURIComponent(new URL("../..", import.meta.url).pathname),
  }).output();
  if (!fmt.success) throw new Error("deno fmt README.md failed");
  console.log("README.md: the figures of the results file are written between its markers.");
}
