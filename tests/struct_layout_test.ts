/**
 * Checks every struct layout against the C compiler: a probe generated from the
 * declarations themselves prints `sizeof`, `_Alignof`, and for every member
 * `offsetof`, `sizeof`, signedness, pointer-ness, nested struct type and array
 * length, as the system headers define them.
 */
import { deepStrictEqual, notDeepStrictEqual } from "node:assert/strict";
import { hasCc, runCProbe } from "../ffi/gen/c_probe.ts";
import {
  array,
  type FieldType,
  i32,
  layoutsFor,
  long,
  size_t,
  type Struct,
  struct,
  u16,
  u8,
} from "@libc/ipc/struct";

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

/** One fact about C: a C expression and the value (or values) the declaration implies. */
interface Check {
  key: string;
  expr: string;
  expected: number | readonly number[];
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
function structChecks(s: Struct): Check[] {
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

/** The layouts and every struct nested in them, each once. */
function allStructs(roots: Iterable<Struct>): Struct[] {
  const seen = new Set<Struct>();
  const visit = (t: FieldType): void => {
    if (t.kind === "array" || t.kind === "flex") return visit(t.element);
    if (t.kind !== "struct" || seen.has(t)) return;
    seen.add(t);
    Object.values(t.fields).forEach(visit);
  };
  for (const s of roots) visit(s);
  return [...seen];
}

function probeSource(checks: Check[]): string {
  const lines = [
    "#define _GNU_SOURCE",
    ...HEADERS.map((h) => `#include <${h}>`),
    "#include <stddef.h>",
    "#include <stdio.h>",
    "int main(void) {",
    ...checks.map((c) =>
      `  printf("%s %lld\\n", ${JSON.stringify(c.key)}, (long long)(${c.expr}));`
    ),
    "  return 0;",
    "}",
  ];
  return lines.join("\n") + "\n";
}

/** Compiles and runs the probe; returns C's value for every check key. */
async function probe(checks: Check[]): Promise<Map<string, number>> {
  const output = await runCProbe(probeSource(checks));
  return new Map(
    output.trim().split("\n").map((line) => {
      const at = line.lastIndexOf(" ");
      return [line.slice(0, at), Number(line.slice(at + 1))];
    }),
  );
}

/** What C says and what the declaration says, per key, for a readable diff. */
function compare(checks: Check[], c: Map<string, number>) {
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

const platformLayouts = layoutsFor(Deno.build.os, Deno.build.arch);
let supported = true;
try {
  void platformLayouts.sembuf;
} catch {
  supported = false;
}
const cc = await hasCc();
if (!cc) console.warn("struct_layout_test: skipping the C layout probe: no `cc` on PATH");
if (!supported) {
  console.warn(`struct_layout_test: no struct layouts for ${Deno.build.os} ${Deno.build.arch}`);
}

Deno.test({
  name: "struct layouts match the C compiler",
  ignore: !cc || !supported,
  async fn(t) {
    const structs = allStructs(Object.values(platformLayouts));
    const checks = structs.flatMap(structChecks);
    const c = await probe(checks);

    for (const s of structs) {
      await t.step(`struct ${s.name}`, () => {
        const { actual, expected } = compare(structChecks(s), c);
        deepStrictEqual(actual, expected);
      });
    }

    await t.step("the probe catches wrong declarations", () => {
      const { sembuf, msqid_ds, sockaddr_in6, in_addr, msghdr, signalfd_siginfo } = platformLayouts;
      const mutants: Struct[] = [
        // Wrong signedness, same size.
        struct("sembuf", { ...sembuf.fields, sem_op: u16 }),
        // Wrong size: every later offset moves.
        struct("msqid_ds", { ...msqid_ds.fields, msg_lspid: long }),
        // Wrong nested struct.
        struct("sockaddr_in6", { ...sockaddr_in6.fields, sin6_addr: in_addr }),
        // An integer where C has a pointer, same size.
        struct("msghdr", { ...msghdr.fields, msg_name: size_t }),
        // Wrong array length.
        struct("signalfd_siginfo", { ...signalfd_siginfo.fields, __pad: array(u8, 27) }),
        // A member C does not have.
        struct("ucred", { pid: i32, uid: i32, gid: i32, extra: i32 }),
      ];
      for (const mutant of mutants) {
        const { actual, expected } = compare(structChecks(mutant), c);
        notDeepStrictEqual(actual, expected, `mutant ${mutant.name} passed the probe`);
      }
    });
  },
});

/**
 * Holes C leaves unnamed, by struct. Every other byte belongs to a declared
 * member, so dropping a reserved member that alignment would hide (such as
 * ipc_perm.__pad2) fails here even though every offset stays right.
 */
const UNNAMED_PADDING: Record<string, [number, number][]> = {
  ipc_perm: [[28, 32]],
  msghdr: [[12, 16], [52, 56]],
  sigaction: [[140, 144]],
  dirent: [[275, 280]],
};

function holes(s: Struct): [number, number][] {
  const found: [number, number][] = [];
  let end = 0;
  for (const [name, t] of Object.entries(s.fields)) {
    const offset = s.offsets[name];
    if (offset > end) found.push([end, offset]);
    end = offset + t.size;
  }
  if (s.size > end) found.push([end, s.size]);
  return found;
}

Deno.test({
  name: "struct layouts declare every byte C names",
  ignore: !supported,
  fn() {
    for (const s of allStructs(Object.values(platformLayouts))) {
      deepStrictEqual(holes(s), UNNAMED_PADDING[s.name] ?? [], `struct ${s.name}`);
    }
    const { ipc_perm } = platformLayouts;
    const { __pad2: _, ...withoutPad } = ipc_perm.fields;
    notDeepStrictEqual(holes(struct("ipc_perm", withoutPad)), UNNAMED_PADDING.ipc_perm);
  },
});
