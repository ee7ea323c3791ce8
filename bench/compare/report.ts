/**
 * The machine-readable results of `deno task bench:compare` and their chart.
 *
 * run.ts hands this module what the harness recorded (every table with its
 * samples, see harness.ts `takeRecords`) and writes two files:
 *
 * - `bench/results/<os>-<arch>.json`: {@link Results}, every table of the
 *   run with the machine that ran it.
 * - `bench/results/<os>-<arch>.svg`: {@link renderChart}, the ratio to C of
 *   every mechanism and form, one panel per placement.
 *
 * The chart of an existing results file can be drawn again without measuring:
 * `deno run --allow-read --allow-write --allow-run bench/compare/report.ts [results.json]`
 * (the default is this platform's file) writes the SVG beside it. Both files
 * are written as `deno fmt` leaves them.
 *
 * @module
 */
import { LIBC_PATH } from "../../ffi/platform.ts";
import {
  allCpus,
  type Placement,
  placements,
  type RecordedCell,
  type RecordedSection,
  REPS,
} from "./harness.ts";

// ---------------------------------------------------------------- the machine

/** What ran the benchmarks. */
export interface Machine {
  os: string;
  arch: string;
  /** The CPU's model name, as /proc/cpuinfo gives it. */
  cpu: string;
  /** Logical CPUs of the machine, and those this process could use. */
  cores: number;
  cpusUsed: number;
  /** Whether the CPU says it runs under a hypervisor (its `hypervisor` flag). */
  virtualized: boolean;
  memoryMiB: number | null;
  /** `uname -r`. */
  kernel: string;
  deno: string;
  v8: string;
  typescript: string;
  /** `gnu_get_libc_version()`, or null where libc is not glibc. */
  glibc: string | null;
}

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

const FILE_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/**
 * The text of each /proc file of `paths` ("" for one that cannot be read),
 * read through libc: Deno's own file API asks for `--allow-all` to read
 * anything under /proc.
 */
function readProc(...paths: string[]): string[] {
  const lib = Deno.dlopen(LIBC_PATH, FILE_SYMBOLS);
  try {
    const { open, read, close } = lib.symbols;
    const buf = new Uint8Array(65536);
    return paths.map((path) => {
      const fd = open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return "";
      try {
        const decoder = new TextDecoder();
        let text = "";
        for (let n; (n = read(fd, buf, buf.byteLength)) > 0;) {
          text += decoder.decode(buf.subarray(0, n), { stream: true });
        }
        return text + decoder.decode();
      } finally {
        close(fd);
      }
    });
  } finally {
    lib.close();
  }
}

/** The value of the first `key : value` line of a /proc file. */
function field(text: string, key: string): string | undefined {
  return text.match(new RegExp(`^${key}\\s*:\\s*(.*)$`, "m"))?.[1].trim();
}

function glibcVersion(): string | null {
  try {
    const lib = Deno.dlopen(LIBC_PATH, {
      gnu_get_libc_version: { parameters: [], result: "pointer" },
    });
    try {
      const version = lib.symbols.gnu_get_libc_version();
      return version === null ? null : Deno.UnsafePointerView.getCString(version);
    } finally {
      lib.close();
    }
  } catch {
    return null; // not glibc: the symbol is missing
  }
}

/** Describes this machine, from /proc and libc. Needs `--allow-read` and `--allow-ffi`. */
export function machine(): Machine {
  const [cpuinfo, meminfo, osrelease] = readProc(
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/sys/kernel/osrelease",
  );
  const kib = Number(field(meminfo, "MemTotal")?.split(" ")[0]);
  return {
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpu: field(cpuinfo, "model name") ?? field(cpuinfo, "Hardware") ?? "unknown",
    cores: cpuinfo.match(/^processor\s*:/gm)?.length ?? navigator.hardwareConcurrency,
    cpusUsed: allCpus().length,
    virtualized: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo),
    memoryMiB: Number.isFinite(kib) ? Math.round(kib / 1024) : null,
    kernel: osrelease.trim() || "unknown",
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    glibc: glibcVersion(),
  };
}

// ---------------------------------------------------------------- the results

/**
 * What a row is, from its name: the C baseline, raw libc calls through
 * `Deno.dlopen` (the floor), this library's sync or async form, Deno's own
 * API, Python, or something else (a memory-speed reference).
 */
export type Form = "c" | "floor" | "sync" | "async" | "deno" | "python" | "other";

/** The {@link Form} of a row, by its name. */
export function formOf(name: string): Form {
  // A table of pairs names its rows "futex: C (...)", "futex: @libc/ipc ...": try without the prefix.
  return formByName(name) ?? formByName(name.replace(/^[^:(]*: /, "")) ?? "other";
}

function formByName(name: string): Form | undefined {
  if (/^C\b/.test(name)) return "c";
  if (/^raw libc|\(floor\)/.test(name)) return "floor";
  if (/python/i.test(name)) return "python";
  if (name.startsWith("@libc/ipc")) return /\b(async|await)\b/.test(name) ? "async" : "sync";
  if (/^Deno\b/.test(name)) return "deno";
  return undefined;
}

/** A table of measured rows: one cell per row and placement. */
export interface MeasuredTable {
  kind: "measured";
  /** The lead of the paragraph above it ("Ping-pong", "Throughput", ...). */
  title: string;
  /** That paragraph, and the notes under the table, as markdown. */
  about?: string;
  notes: string[];
  /** What a cell measures: "µs / round trip", "MiB/s", ... */
  unit: string;
  /** Which way is better: less time, or more bytes per second. */
  better: "lower" | "higher";
  /** Digits the markdown table shows. */
  digits: number;
  /** The placements measured, by name (see {@link Results.placements}). */
  placements: string[];
  /** The rows every row is compared with (their ratios are in each cell's `ratios`). */
  baselines: string[];
  /** The C row's name, if the table has exactly one (the chart shows only such tables). */
  c: string | null;
  rows: Array<{ name: string; form: Form; cells: Record<string, RecordedCell> }>;
}

/** A table the driver wrote as text (wait.ts): its columns and cells, as printed. */
export interface FigureTable {
  kind: "figures";
  title: string;
  about?: string;
  columns: string[];
  rows: string[][];
}

/** A driver's part of the run. */
export interface ResultSection {
  title: string;
  /** Seconds it took to measure. */
  seconds: number;
  tables: Array<MeasuredTable | FigureTable>;
}

/** The contents of `bench/results/<os>-<arch>.json`. */
export interface Results {
  schema: 1;
  /** When the run ended, ISO 8601. */
  date: string;
  command: string;
  /** Seconds the whole run took. */
  seconds: number;
  machine: Machine;
  /** Runs per row and placement; every cell's median is over these. */
  reps: number;
  /** Where the two processes ran: CPU lists by placement name. */
  placements: Placement[];
  sections: ResultSection[];
}

/** The bold lead of a markdown paragraph, or undefined. */
function leadOf(about: string | undefined): string | undefined {
  return about?.match(/^\*\*(.+?)\*\*/)?.[1];
}

/** A section the harness recorded, with each table's title, direction, C row and row forms. */
export function sectionOf(section: RecordedSection): ResultSection {
  return {
    title: section.title,
    seconds: section.seconds,
    tables: section.tables.map((t): MeasuredTable => {
      const rows = t.rows.map((r) => ({ name: r.name, form: formOf(r.name), cells: r.cells }));
      const cRows = rows.filter((r) => r.form === "c");
      return {
        kind: "measured",
        title: leadOf(t.about) ?? t.unit,
        about: t.about,
        notes: t.notes,
        unit: t.unit,
        better: /\/s$/.test(t.unit) ? "higher" : "lower",
        digits: t.digits,
        placements: t.placements.map((p) => p.name),
        baselines: t.baselines,
        c: cRows.length === 1 ? cRows[0].name : null,
        rows,
      };
    }),
  };
}

/**
 * A section whose driver renders its own markdown table (wait.ts): its title,
 * the paragraph above the table, the table's cells as text, and the seconds
 * of its "Measured in N s." line.
 */
export function figuresOf(report: string): ResultSection {
  const lines = report.split("\n");
  const title = lines.find((l) => l.startsWith("### "))?.slice(4) ?? "";
  const seconds = Number(report.match(/^Measured in (\d+(?:\.\d+)?) s\.$/m)?.[1] ?? NaN);
  const cells = (line: string) =>
    line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
  const tables: FigureTable[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("|") || lines[i - 1]?.startsWith("|")) continue;
    let end = i;
    while (lines[end + 1]?.startsWith("|")) end++;
    const about = lines.slice(0, i).reverse().find((l) => l.trim() !== "" && !l.startsWith("#"));
    tables.push({
      kind: "figures",
      title: leadOf(about) ?? title,
      about,
      columns: cells(lines[i]),
      rows: lines.slice(i + 2, end + 1).map(cells),
    });
    i = end;
  }
  return { title, seconds, tables };
}

/** The results of a run: the machine, and its sections in the order they ran. */
export function results(sections: ResultSection[], seconds: number, command: string): Results {
  return {
    schema: 1,
    date: new Date().toISOString(),
    command,
    seconds,
    machine: machine(),
    reps: REPS,
    placements: placements(),
    sections,
  };
}

/** This platform's results file: `bench/results/<os>-<arch>.<ext>`. */
export function resultsFile(ext: "json" | "svg"): URL {
  return new URL(`../results/${Deno.build.os}-${Deno.build.arch}.${ext}`, import.meta.url);
}

/**
 * Writes `results` as JSON to `path` (its folder made if need be): numbers to
 * 6 significant digits, each list of numbers on one line.
 */
export async function writeResults(
  results: Results,
  path: URL = resultsFile("json"),
): Promise<void> {
  const round = (_: string, v: unknown) =>
    typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v;
  const json = JSON.stringify(results, round, 2)
    .replace(/\[\s+([-\d.e+,\s]+?)\s+\]/g, (_, xs: string) => `[${xs.split(/,\s+/).join(", ")}]`);
  await Deno.mkdir(new URL(".", path), { recursive: true });
  await Deno.writeTextFile(path, `${json}\n`);
  await format(path);
}

/** Writes the chart of `results` (see {@link renderChart}) to `path`. */
export async function writeChart(
  results: Results,
  path: URL = resultsFile("svg"),
): Promise<void> {
  await Deno.mkdir(new URL(".", path), { recursive: true });
  await Deno.writeTextFile(path, renderChart(results));
  await format(path);
}

/**
 * Runs `deno fmt` on a written file, from the project's root (its deno.json):
 * the project checks that every file, SVG included, is as `deno fmt` leaves it.
 */
async function format(path: URL): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", decodeURIComponent(path.pathname)],
    cwd: decodeURIComponent(new URL("../../", import.meta.url).pathname),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno fmt ${path.pathname} failed: ${out.code}`);
}

// ---------------------------------------------------------------- the chart

/** The forms the chart shows: every one but C itself (the 1× line) and "other". */
const FORMS: Record<Exclude<Form, "c" | "other">, { label: string; color: string }> = {
  floor: { label: "raw libc via Deno.dlopen (the floor)", color: "#8c8c8c" },
  sync: { label: "@libc/ipc sync", color: "#0072b2" },
  async: { label: "@libc/ipc async", color: "#56b4e9" },
  deno: { label: "Deno's built-in", color: "#e69f00" },
  python: { label: "Python", color: "#009e73" },
};

const PLACEMENT_TITLES: Record<string, string> = {
  "one CPU": "both processes on one CPU",
  "two CPUs": "one CPU each",
  "any CPU": "unpinned",
};

/** One mechanism of the chart: a table with a C row. */
interface Group {
  title: string;
  detail: string;
  unit: string;
  /** C's median by placement. */
  c: Record<string, number>;
  bars: Array<{ form: Form; label: string; name: string; ratios: Record<string, number> }>;
}

/** The rows of every table with a C row, as time relative to C's (throughput: C's rate ÷ theirs). */
function groupsOf(results: Results): Group[] {
  const groups: Group[] = [];
  for (const section of results.sections) {
    for (const t of section.tables) {
      if (t.kind !== "measured" || t.c === null) continue;
      const c = t.rows.find((r) => r.name === t.c)!;
      const cMedian = (p: string) => c.cells[p]?.median;
      const group: Group = {
        title: `${section.title}: ${t.title.charAt(0).toLowerCase()}${t.title.slice(1)}`,
        detail: plain(t.about?.replace(/^\*\*.+?\*\*:?\s*/, "").split(";")[0] ?? ""),
        unit: t.unit,
        c: Object.fromEntries(t.placements.map((p) => [p, cMedian(p)])),
        bars: [],
      };
      for (const r of t.rows) {
        if (r.form === "c" || r.form === "other") continue;
        const ratios: Record<string, number> = {};
        for (const p of t.placements) {
          const m = r.cells[p]?.median;
          const ratio = t.better === "higher" ? cMedian(p) / m : m / cMedian(p);
          if (Number.isFinite(ratio) && ratio > 0) ratios[p] = ratio;
        }
        group.bars.push({ form: r.form, label: barLabel(r.form, r.name), name: r.name, ratios });
      }
      groups.push(group);
    }
  }
  // Two tables of one title in a section (the sockets' ping-pongs): say over what.
  const twice = groups.filter((g, i) => groups.some((o, j) => j !== i && o.title === g.title));
  for (const g of twice) {
    const over = g.detail.match(/ over (.+?)(?: \(| in |,|$)/)?.[1];
    if (over !== undefined) g.title += ` over ${over}`;
  }
  return groups;
}

/** Markdown to plain text. */
function plain(md: string): string {
  return md.replace(/\*\*|`/g, "").trim();
}

function barLabel(form: Form, name: string): string {
  if (form === "floor") return "raw libc (the floor)";
  if (form === "sync" || form === "async") return FORMS[form].label;
  if (form === "python") return name.replace(/ \(.*$/, ""); // "Python 3.11"; the rest is in the JSON
  const short = name.replace(/^Deno built-in:\s*/, "").split(" + ")[0];
  return short.length > 32 ? `${short.slice(0, 31)}…` : short;
}

/** A horizontal axis: log when the ratios span more than 20×, else linear from 0. */
interface Scale {
  log: boolean;
  x(v: number): number;
  ticks: Array<{ v: number; label: boolean }>;
}

const STEPS = [1, 2, 5, 10];

/** The largest 1-2-5 number ≤ v (`down`) or the smallest ≥ v. */
function nice(v: number, down: boolean): number {
  const p = 10 ** Math.floor(Math.log10(v));
  const m = v / p;
  const s = down
    ? STEPS.filter((s) => s <= m * (1 + 1e-9)).at(-1)!
    : STEPS.find((s) => s >= m * (1 - 1e-9))!;
  return s * p;
}

function scaleOf(values: number[], width: number): Scale {
  const lo = Math.min(1, ...values);
  const hi = Math.max(1, ...values);
  if (hi / lo > 20) {
    const a = nice(lo, true);
    const b = nice(hi, false);
    const span = Math.log10(b / a);
    const perDecade = width / span;
    const x = (v: number) => Math.log10(v / a) / span * width;
    const ticks: Scale["ticks"] = [];
    for (let e = Math.floor(Math.log10(a)); e <= Math.ceil(Math.log10(b)); e++) {
      for (const s of [1, 2, 5]) {
        const v = Number((s * 10 ** e).toPrecision(3));
        if (v < a * (1 - 1e-9) || v > b * (1 + 1e-9)) continue;
        ticks.push({ v, label: s === 1 || perDecade >= 150 });
      }
    }
    // Label the ends too, where they do not crowd a decade's label.
    for (const t of [ticks[0], ticks.at(-1)!]) {
      t.label ||= ticks.every((o) => !o.label || Math.abs(x(o.v) - x(t.v)) >= 32);
    }
    return { log: true, x, ticks };
  }
  const b = nice(hi * 1.05, false);
  const step = nice(b / 5, false);
  const ticks: Scale["ticks"] = [];
  for (let v = 0; v <= b * (1 + 1e-9); v += step) {
    ticks.push({ v: Number(v.toPrecision(3)), label: true });
  }
  return { log: false, x: (v) => v / b * width, ticks };
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

const n1 = (x: number) => `${Math.round(x * 10) / 10}`;

function ratioText(r: number): string {
  return `${r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** A measured value with its unit, as short as it stays exact enough. */
function valueText(v: number, unit: string): string {
  const digits = v >= 100 ? 0 : 1;
  return `${v.toFixed(digits)} ${unit.startsWith("µs") ? "µs" : unit}`;
}

/** Roughly how wide a text of `n` characters is at `size` px in a sans-serif font. */
const textWidth = (n: number, size: number) => n * size * 0.6;

/** `text` in lines of at most `width` px at `size` px, broken at spaces. */
function wrap(text: string, width: number, size: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line === "" ? word : `${line} ${word}`;
    if (line !== "" && textWidth(next.length, size) > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  return [...lines, line];
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const INK = "#1f2328";
const MUTED = "#59636e";
const PAD = 16;
const LABEL_W = 190;
const PANEL_W = 250;
const PANEL_GAP = 14;
/** Room inside a panel, left and right of its axis, for the value beside a bar. */
const INSET = 36;
const ROW_H = 17;
const BAR_H = 11;
const GROUP_H = 22;
const TITLE = "@libc/ipc: time relative to C, by mechanism and form";

/**
 * The chart of a run, as SVG: one horizontal bar per mechanism and form, its
 * length the row's time relative to C's (C = 1×, the vertical line), grouped
 * by mechanism, one panel per placement; a log axis when the ratios span
 * more than 20×.
 */
export function renderChart(results: Results): string {
  const groups = groupsOf(results);
  const panels = results.placements.map((p) => p.name).filter((p) =>
    groups.some((g) => g.c[p] !== undefined)
  );
  const scale = scaleOf(
    groups.flatMap((g) => g.bars.flatMap((b) => Object.values(b.ratios))),
    PANEL_W - 2 * INSET,
  );
  const width = PAD + LABEL_W + panels.length * (PANEL_W + PANEL_GAP) - PANEL_GAP + PAD;
  const axisX = (i: number, v: number) =>
    PAD + LABEL_W + i * (PANEL_W + PANEL_GAP) + INSET + scale.x(v);
  const forms = (Object.keys(FORMS) as Array<keyof typeof FORMS>).filter((f) =>
    groups.some((g) => g.bars.some((b) => b.form === f))
  );

  // Painted in this order: bands under the groups, grid, bars, the 1× lines, text on top.
  const bands: string[] = [];
  const grid: string[] = [];
  const bars: string[] = [];
  const ones: string[] = [];
  const texts: string[] = [];
  const text = (x: number, y: number, s: string, attrs = "") =>
    texts.push(`<text x="${n1(x)}" y="${n1(y)}"${attrs ? ` ${attrs}` : ""}>${esc(s)}</text>`);
  const vline = (into: string[], x: number, from: number, to: number, attrs: string) =>
    into.push(`<line x1="${n1(x)}" y1="${n1(from)}" x2="${n1(x)}" y2="${n1(to)}" ${attrs}/>`);

  // The title, the machine, how to read it, the legend.
  const m = results.machine;
  let y = PAD + 16;
  text(PAD, y, TITLE, `font-size="17" font-weight="600"`);
  y += 19;
  const vm = m.virtualized ? " (VM)" : "";
  const glibc = m.glibc ? ` · glibc ${m.glibc}` : "";
  text(
    PAD,
    y,
    `${m.cpu}, ${m.cpusUsed} of ${m.cores} CPUs${vm} · Linux ${m.kernel}${glibc} · ` +
      `Deno ${m.deno} · ${results.date.slice(0, 10)}`,
    `font-size="12" fill="${MUTED}"`,
  );
  const how = `Each bar: the row's median of ${results.reps} runs ÷ C's at the same placement ` +
    "(throughput: C's MiB/s ÷ the row's); left of 1× is faster than C.";
  for (const line of wrap(how, width - 2 * PAD, 12)) {
    y += 16;
    text(PAD, y, line, `font-size="12" fill="${MUTED}"`);
  }
  y += 20;
  let x = PAD;
  for (const f of forms) {
    bars.push(`<rect x="${n1(x)}" y="${y - 10}" width="12" height="12" fill="${FORMS[f].color}"/>`);
    text(x + 17, y, FORMS[f].label, `font-size="12"`);
    x += 17 + textWidth(FORMS[f].label.length, 12) + 14;
  }
  vline(ones, x + 6, y - 11, y + 3, `stroke="${INK}" stroke-width="2"`);
  text(x + 14, y, "C = 1×", `font-size="12"`);

  // The panels' titles, and their axis above and below the groups.
  y += 26;
  panels.forEach((p, i) => {
    const middle = (axisX(i, scale.ticks[0].v) + axisX(i, scale.ticks.at(-1)!.v)) / 2;
    text(
      middle,
      y,
      PLACEMENT_TITLES[p] ?? p,
      `font-size="13" font-weight="600" text-anchor="middle"`,
    );
  });
  const axis = (at: number) =>
    panels.forEach((_, i) => {
      for (const t of scale.ticks.filter((t) => t.label)) {
        text(axisX(i, t.v), at, `${t.v}×`, `font-size="10.5" fill="${MUTED}" text-anchor="middle"`);
      }
    });
  y += 16;
  axis(y);
  y += 6;

  // Each group: its title and what it measures, C's own figure, one bar per row.
  groups.forEach((g, gi) => {
    const rowsTop = y + GROUP_H;
    const rowsBottom = rowsTop + ROW_H * (g.bars.length + 1);
    if (gi % 2 === 0) {
      bands.push(
        `<rect x="${PAD / 2}" y="${n1(y)}" width="${width - PAD}" height="${
          n1(rowsBottom + 6 - y)
        }" fill="#f6f8fa"/>`,
      );
    }
    const unit = ` (${g.unit.replace(" / ", " per ")})`;
    const room = Math.floor(
      (width - 2 * PAD - textWidth(g.title.length, 12.5)) / textWidth(1, 11.5),
    ) - unit.length - 4;
    const detail = g.detail.length > room ? `${g.detail.slice(0, room - 1)}…` : g.detail;
    texts.push(
      `<text x="${PAD}" y="${n1(y + 15)}" font-size="12.5"><tspan font-weight="600">${
        esc(g.title)
      }</tspan><tspan dx="4" font-size="11.5" fill="${MUTED}">${esc(detail + unit)}</tspan></text>`,
    );
    panels.forEach((p, i) => {
      for (const t of scale.ticks) {
        const dash = t.label ? "" : ` stroke-dasharray="2 3"`;
        vline(grid, axisX(i, t.v), rowsTop, rowsBottom, `stroke="#d8dee4"${dash}`);
      }
      if (g.c[p] !== undefined) {
        vline(ones, axisX(i, 1), rowsTop, rowsBottom, `stroke="${INK}" stroke-width="1.5"`);
      }
    });

    y = rowsTop;
    const label = (s: string, bold = false) =>
      text(
        PAD + LABEL_W - 10,
        y + ROW_H / 2 + 4,
        s,
        `font-size="12" text-anchor="end"${bold ? ` font-weight="600"` : ""}`,
      );
    label("C = 1×", true);
    panels.forEach((p, i) => {
      const c = g.c[p];
      if (c !== undefined) {
        text(
          axisX(i, 1) + 5,
          y + ROW_H / 2 + 4,
          valueText(c, g.unit),
          `font-size="10.5" fill="${MUTED}"`,
        );
      }
    });
    for (const b of g.bars) {
      y += ROW_H;
      label(b.label);
      panels.forEach((p, i) => {
        const r = b.ratios[p];
        if (r === undefined) return;
        const from = axisX(i, scale.log ? 1 : 0);
        const to = axisX(i, r);
        bars.push(
          `<rect x="${n1(Math.min(from, to))}" y="${n1(y + (ROW_H - BAR_H) / 2)}" width="${
            n1(Math.max(1, Math.abs(to - from)))
          }" height="${BAR_H}" fill="${FORMS[b.form as keyof typeof FORMS].color}"><title>${
            esc(`${b.name}, ${p}: ${ratioText(r)} C`)
          }</title></rect>`,
        );
        // The value beside the bar's end, outside it: left of a bar that ends left of 1×.
        const left = scale.log && r < 1;
        text(
          left ? to - 3 : to + 3,
          y + ROW_H / 2 + 3.5,
          ratioText(r),
          `font-size="10.5"${left ? ` text-anchor="end"` : ""}`,
        );
      });
    }
    y = rowsBottom + 6;
  });

  y += 14;
  axis(y);
  y += 20;
  const notes = [
    ...(panels.includes("two CPUs")
      ? [
        "One CPU each: C and the floor block, and waking the other, idle CPU takes tens of µs " +
        "(more on a VM); @libc/ipc spins briefly before it blocks, hence its ratios far below 1×.",
      ]
      : []),
    `${scale.log ? "Log scale. " : ""}Measured by \`${results.command}\` in ` +
    `${Math.round(results.seconds)} s; every figure is in bench/results/${m.os}-${m.arch}.json.`,
  ];
  for (const line of notes.flatMap((n) => wrap(n, width - 2 * PAD, 11.5))) {
    text(PAD, y, line, `font-size="11.5" fill="${MUTED}"`);
    y += 15;
  }
  const height = n1(y - 15 + PAD);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="${FONT}" fill="${INK}" role="img" ` +
    `aria-labelledby="chart-title">`,
    `<title id="chart-title">${esc(TITLE)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...bands,
    ...grid,
    ...bars,
    ...ones,
    ...texts,
    `</svg>`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const path = Deno.args[0] === undefined
    ? resultsFile("json")
    : new URL(Deno.args[0], `file://${Deno.cwd()}/`);
  const svg = new URL(path.href.replace(/\.json$/, ".svg"));
  await writeChart(JSON.parse(await Deno.readTextFile(path)), svg);
  console.log(`Wrote ${decodeURIComponent(svg.pathname)}`);
}
