/**
 * Checks struct declarations against a C compiler: a probe generated from the
 * declarations themselves prints `sizeof`, `_Alignof`, and for every member
 * `offsetof`, `sizeof`, signedness, pointer-ness, nested struct type and array
 * length, as the target's headers define them. What the layout test and the
 * layouts generator share.
 *
 * @module
 */
import { runCProbe, type Target } from "./c_probe.ts";
import type { FieldType, Struct } from "../struct/mod.ts";

/** The headers that declare every struct of the layouts. */
const HEADERS = [
  "sys/msg.h",
  "sys/sem.h",
  "sys/shm.h",
  "sys/ipc.h",
  "mqueue.h",
  "sys/un.h",
  "netinet/in.h",
  "sys/socket.h",
  "sys/uio.h",
  "poll.h",
  "sys/signalfd.h",
  "time.h",
  "sys/epoll.h",
  "linux/futex.h",
  "signal.h",
  "sys/stat.h",
  "dirent.h",
];

/** The start of every probe: the headers of {@link HEADERS}, `offsetof` and `printf`. */
export const PRELUDE: readonly string[] = [
  "#define _GNU_SOURCE",
  ...HEADERS.map((h) => `#include <${h}>`),
  "#include <stddef.h>",
  "#include <stdio.h>",
];

/** One fact about C: a C expression and the value (or values) the declaration implies. */
export interface Check {
  readonly key: string;
  readonly expr: string;
  readonly expected: number | readonly number[];
}

/** Checks for one member expression `m` of type `t` (recursing into array elements). */
function memberChecks(key: string, m: string, t: FieldType): Check[] {
  const checks: Check[] = [];
  if (t.kind !== "flex") {
    checks.push({ key: `${key} sizeof`, expr: `sizeof(${m})`, expected: t.size });
  }
  switch (t.kind) {
    case "int":
      // Plain `char` elements hold bytes: either signedness is fine for them (2).
      checks.push({
        key: `${key} signed`,
        expr: `_Generic((${m}), char: 2, default: ((__typeof__(${m}))-1 < 0))`,
        expected: t.size === 1 ? [t.signed ? 1 : 0, 2] : t.signed ? 1 : 0,
      });
      break;
    case "pointer":
      // Arrays decay and classify as pointers too; only a real pointer keeps its type through `+ 0`.
      checks.push({
        key: `${key} pointer`,
        expr: `(__builtin_classify_type(${m}) == 5 && ` +
          `__builtin_types_compatible_p(__typeof__(${m}), __typeof__((${m}) + 0)))`,
        expected: 1,
      });
      break;
    case "struct":
      checks.push({
        key: `${key} type`,
        expr: `__builtin_types_compatible_p(__typeof__(${m}), ${t.cType})`,
        expected: 1,
      });
      break;
    case "array":
      checks.push({
        key: `${key} length`,
        expr: `(sizeof(${m}) / sizeof((${m})[0]))`,
        expected: t.length,
      });
      checks.push(...memberChecks(`${key}[]`, `(${m})[0]`, t.element));
      break;
    case "flex":
      checks.push(...memberChecks(`${key}[]`, `(${m})[0]`, t.element));
      break;
  }
  return checks;
}

const roundUp = (n: number, align: number): number => Math.ceil(n / align) * align;

/** Every check of one struct declaration. */
export function structChecks(s: Struct): Check[] {
  const entries = Object.entries(s.fields);
  const flex = entries.at(-1)?.[1].kind === "flex";
  const checks: Check[] = [
    {
      key: `${s.name} sizeof`,
      expr: `sizeof(${s.cType})`,
      // A trailing array is `T x[]` in C99, or the older `T x[1]` (glibc's msgbuf).
      expected: flex ? [s.size, roundUp(s.sizeFor(1), s.align)] : s.size,
    },
    { key: `${s.name} _Alignof`, expr: `_Alignof(${s.cType})`, expected: s.align },
  ];
  for (const [name, t] of entries) {
    const key = `${s.name}.${name}`;
    checks.push({
      key: `${key} offsetof`,
      expr: `offsetof(${s.cType}, ${name})`,
      expected: s.offsets[name],
    });
    checks.push(...memberChecks(key, `((${s.cType} *)0)->${name}`, t));
  }
  return checks;
}

/** The structs and every struct nested in them, each once, nested ones first. */
export function allStructs(roots: Iterable<Struct>): Struct[] {
  const seen = new Set<Struct>();
  const visit = (t: FieldType): void => {
    if (t.kind === "array" || t.kind === "flex") return visit(t.element);
    if (t.kind !== "struct" || seen.has(t)) return;
    Object.values(t.fields).forEach(visit);
    seen.add(t);
  };
  for (const s of roots) visit(s);
  return [...seen];
}

/** A probe that prints `<key> <value>` for each C expression. */
function probeSource(exprs: readonly { key: string; expr: string }[]): string {
  const lines = [
    ...PRELUDE,
    "int main(void) {",
    ...exprs.map((c) =>
      `  printf("%s %lld\\n", ${JSON.stringify(c.key)}, (long long)(${c.expr}));`
    ),
    "  return 0;",
    "}",
  ];
  return lines.join("\n") + "\n";
}

/** Compiles and runs a probe of `exprs` for `t`; returns C's value for every key. */
export async function probe(
  exprs: readonly { key: string; expr: string }[],
  t?: Target,
): Promise<Map<string, number>> {
  const output = await runCProbe(probeSource(exprs), t);
  return new Map(
    output.trim().split("\n").map((line) => {
      const at = line.lastIndexOf(" ");
      return [line.slice(0, at), Number(line.slice(at + 1))];
    }),
  );
}

/** What C says and what the declaration says, per key, for a readable diff. */
export function compare(checks: readonly Check[], c: Map<string, number>): {
  actual: Record<string, number | undefined>;
  expected: Record<string, number | readonly number[]>;
} {
  const actual: Record<string, number | undefined> = {};
  const expected: Record<string, number | readonly number[]> = {};
  for (const check of checks) {
    const value = c.get(check.key);
    actual[check.key] = value;
    const ok = Array.isArray(check.expected)
      ? check.expected.includes(value)
      : check.expected === value;
    expected[check.key] = ok ? value! : check.expected;
  }
  return { actual, expected };
}

/** Whether C agrees with every check. */
export function holds(checks: readonly Check[], c: Map<string, number>): boolean {
  const { actual, expected } = compare(checks, c);
  return checks.every(({ key }) => actual[key] === expected[key]);
}
