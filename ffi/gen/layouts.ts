/**
 * Generates `ffi/struct/layouts/linux_<arch>.ts` for another CPU from the
 * documented x86_64 declarations (`ffi/struct/layouts/linux_x86_64.ts`), the
 * reference. The layout probe tells, struct by struct, whether the reference
 * declaration holds on the target: if it does, it is written out as is; if
 * not, the struct's members are read from the target's DWARF (`pahole`, Debian
 * `dwarves`), each member's type from the probe (size, signedness,
 * pointer-ness, nested struct, array length), and the result is checked with
 * the probe again before it is written.
 *
 * Run: `deno run --allow-read --allow-write --allow-run ffi/gen/layouts.ts [--target <arch>] [outFile]`
 * (the task `gen:layouts`; default target aarch64). Needs the target's C
 * compiler and, for another CPU, qemu (see `c_probe.ts`), and `pahole` when a
 * struct differs.
 *
 * @module
 */
import { errorLines, run, type Target, targetArg } from "./c_probe.ts";
import { type DwarfMember, dwarfMembers } from "./dwarf.ts";
import { allStructs, holds, PRELUDE, probe, structChecks } from "./layout_probe.ts";
import { StructWriter } from "./struct_source.ts";
import * as reference from "../struct/layouts/linux_x86_64.ts";
import {
  array,
  type ElementType,
  type Fields,
  type FieldType,
  i16,
  i32,
  i64,
  i8,
  type IntType,
  long,
  pointer,
  type Struct,
  struct,
  type StructOptions,
  u16,
  u32,
  u64,
  u8,
  ulong,
} from "../struct/mod.ts";

/** The CPU of the reference declarations. */
const REFERENCE_ARCH = "x86_64";

/** `__builtin_classify_type` classes (gcc's typeclass.h). */
const INTEGER_CLASSES = [1, 2, 3, 4], POINTER_CLASS = 5, RECORD_CLASSES = [12, 13];

const INTS: Record<string, IntType> = { i8, u8, i16, u16, i32, u32 };

/**
 * Declarations of `structs` (nested ones first) as the target's DWARF and
 * probe describe them. `known` maps every struct a member may have to its
 * declaration on the target; each derived struct replaces its entry there.
 */
async function derive(
  structs: readonly Struct[],
  known: Map<Struct, Struct>,
  t: Target,
): Promise<Map<Struct, Struct>> {
  if (structs.length === 0) return new Map();
  const dwarf = await dwarfMembers(structs, t);
  const element = (s: Struct, m: DwarfMember) =>
    `((${s.cType} *)0)->${m.name}${"[0]".repeat(m.dims.length)}`;
  const shapes = await probe(
    structs.flatMap((s) => [
      { key: `${s.name} align`, expr: `_Alignof(${s.cType})` },
      { key: `${s.name} size`, expr: `sizeof(${s.cType})` },
      ...dwarf.get(s)!.flatMap((m) => [
        { key: `${s.name}.${m.name} class`, expr: `__builtin_classify_type(${element(s, m)})` },
        { key: `${s.name}.${m.name} size`, expr: `sizeof(${element(s, m)})` },
      ]),
    ]),
    t,
  );
  const classOf = (s: Struct, m: DwarfMember) => shapes.get(`${s.name}.${m.name} class`)!;
  const candidates = [...known.keys()];
  const facts = await probe(
    structs.flatMap((s) =>
      dwarf.get(s)!.flatMap((m) => {
        const e = element(s, m), key = `${s.name}.${m.name}`;
        if (INTEGER_CLASSES.includes(classOf(s, m))) {
          return [
            {
              key: `${key} signed`,
              expr: `_Generic((${e}), char: 0, default: ((__typeof__(${e}))-1 < 0))`,
            },
            {
              key: `${key} long`,
              expr: `(__builtin_types_compatible_p(__typeof__(${e}), long) || ` +
                `__builtin_types_compatible_p(__typeof__(${e}), unsigned long))`,
            },
          ];
        }
        if (!RECORD_CLASSES.includes(classOf(s, m))) return [];
        return candidates.map((c, i) => ({
          key: `${key} is ${i}`,
          expr: `__builtin_types_compatible_p(__typeof__(${e}), ${c.cType})`,
        }));
      })
    ),
    t,
  );

  const typeOf = (s: Struct, m: DwarfMember): ElementType => {
    const key = `${s.name}.${m.name}`, cls = classOf(s, m), size = shapes.get(`${key} size`)!;
    if (INTEGER_CLASSES.includes(cls)) {
      const signed = facts.get(`${key} signed`) === 1;
      if (size === 8 && facts.get(`${key} long`) === 1) return signed ? long : ulong;
      if (size === 8) return signed ? i64 : u64;
      const int = INTS[`${signed ? "i" : "u"}${size * 8}`];
      if (int) return int;
    } else if (cls === POINTER_CLASS && size === pointer.size) {
      return pointer;
    } else if (RECORD_CLASSES.includes(cls)) {
      const at = candidates.findIndex((_, i) => facts.get(`${key} is ${i}`) === 1);
      if (at >= 0) return known.get(candidates[at])!;
      throw new Error(
        `${key}: a struct or union that no layout declares; declare it in the reference`,
      );
    }
    throw new Error(`${key}: type class ${cls} of ${size} bytes is not supported`);
  };

  const derived = new Map<Struct, Struct>();
  for (const s of structs) {
    const members = dwarf.get(s)!;
    const fields: Record<string, FieldType> = {};
    for (const m of members) {
      fields[m.name] = m.dims.reduceRight<ElementType>((e, n) => array(e, n), typeOf(s, m));
    }
    const want = {
      size: shapes.get(`${s.name} size`)!,
      align: shapes.get(`${s.name} align`)!,
      offsets: Object.fromEntries(members.map((m) => [m.name, m.offset])),
    };
    const fitted = fit(s, fields, want);
    if (!fitted) {
      throw new Error(`${s.cType}: no declaration of its DWARF members gives C's layout`);
    }
    derived.set(s, fitted.struct);
    known.set(s, fitted.struct);
  }
  return derived;
}

/** A size, alignment and member offsets to reproduce. */
interface Layout {
  readonly size: number;
  readonly align: number;
  readonly offsets: Readonly<Record<string, number>>;
}

/**
 * `fields` declared as `like` (same name and C spelling) with the options
 * that give `want`, or undefined when none do.
 */
function fit(
  like: Struct,
  fields: Fields,
  want: Layout,
): { struct: Struct; options: StructOptions } | undefined {
  const typedef = like.cType !== `struct ${like.name}`;
  for (const packed of [false, true]) {
    const base = { ...(typedef && { typedef }), ...(packed && { packed }) };
    const natural = struct(like.name, fields, base);
    const options = natural.align < want.align ? { ...base, align: want.align } : base;
    const s = struct(like.name, fields, options);
    const sameOffsets = Object.keys(fields).every((k) => s.offsets[k] === want.offsets[k]);
    if (sameOffsets && s.size === want.size && s.align === want.align) {
      return { struct: s, options };
    }
  }
  return undefined;
}

/** Formats TypeScript source with the project's `deno fmt` settings. */
async function format(source: string): Promise<string> {
  const config = new URL("../../deno.json", import.meta.url).pathname;
  return await run(Deno.execPath(), ["fmt", `--config=${config}`, "--ext=ts", "-"], source);
}

/** Where the layouts of Linux on `arch` are committed. */
export function layoutsFile(arch: string): URL {
  return new URL(`../struct/layouts/linux_${arch}.ts`, import.meta.url);
}

/**
 * Those of `structs` whose checks compile for `t`: a struct that names a
 * member the target lacks does not. One compile, each struct's checks on a
 * line of their own.
 */
async function withKnownMembers(structs: readonly Struct[], t: Target): Promise<Struct[]> {
  const source = [
    ...PRELUDE,
    ...structs.map((s, i) =>
      `void check_${i}(void) { ${structChecks(s).map((c) => `(void)(${c.expr});`).join(" ")} }`
    ),
  ].join("\n") + "\n";
  const failed = await errorLines(source, t);
  return structs.filter((_, i) => !failed.has(PRELUDE.length + 1 + i));
}

/**
 * The reference structs (nested ones first), and the target's own
 * declaration of each one that does not hold there.
 */
async function targetLayouts(
  structs: readonly Struct[],
  t: Target,
): Promise<Map<Struct, Struct>> {
  const named = await withKnownMembers(structs, t);
  const c = await probe(named.flatMap(structChecks), t);
  const differ = structs.filter((s) => !named.includes(s) || !holds(structChecks(s), c));
  const derived = await derive(differ, new Map(structs.map((s) => [s, s])), t);
  const check = await probe([...derived.values()].flatMap(structChecks), t);
  for (const s of derived.values()) {
    if (!holds(structChecks(s), check)) {
      throw new Error(`${s.cType}: the derived declaration fails the probe`);
    }
  }
  return derived;
}

/** Probes the target `t`; returns the generated TypeScript source of its layouts. */
export async function generate(t: Target): Promise<string> {
  if (t.arch === REFERENCE_ARCH) {
    throw new Error(`the ${REFERENCE_ARCH} layouts are the hand-written reference, not generated`);
  }
  const exportName = new Map<Struct, string>(
    Object.entries(reference).map(([name, s]) => [s as Struct, name]),
  );
  const structs = allStructs(exportName.keys());
  const derived = await targetLayouts(structs, t);
  for (const [ref, s] of derived) exportName.set(s, exportName.get(ref)!);

  const w = new StructWriter(exportName);
  const body = structs.map((ref) => {
    const s = derived.get(ref) ?? ref;
    const how = derived.has(ref)
      ? `derived from the C compiler, as it differs from ${REFERENCE_ARCH}.`
      : `the ${REFERENCE_ARCH} declaration, which the C compiler confirms.`;
    const { options } = fit(s, s.fields, s)!;
    return w.declaration(
      exportName.get(ref)!,
      s,
      options,
      `\`${s.cType}\` of glibc on Linux ${t.arch}:\n${how}`,
    );
  });
  const differing = [...derived.values()];
  const names = differing.map((s) => exportName.get(s)!).join(", ");
  return await format([
    `// DO NOT EDIT: generated by ffi/gen/layouts.ts (linux ${t.arch}) from the`,
    `// ${REFERENCE_ARCH} declarations and the ${t.arch} C compiler.`,
    "",
    "/**",
    ` * C struct layouts of glibc on Linux ${t.arch}, by their C names. Those that`,
    ` * differ from ${REFERENCE_ARCH}: ${names}.`,
    " *",
    " * @example",
    " * ```ts",
    ' * import { layoutsFor } from "@libc/ipc/struct";',
    ' * import assert from "node:assert/strict";',
    ` * const { ${names} } = layoutsFor("linux", "${t.arch}");`,
    ` * assert.deepEqual([${differing.map((s) => `${exportName.get(s)}.size`).join(", ")}], [${
      differing.map((s) => s.size).join(", ")
    }]);`,
    " * ```",
    " *",
    " * @module",
    " */",
    ...w.imports(),
    "",
    body.join("\n\n"),
    "",
  ].join("\n"));
}

if (import.meta.main) {
  const [t, [outFile]] = targetArg(Deno.args, "aarch64");
  const out = outFile ?? layoutsFile(t.arch).pathname;
  await Deno.writeTextFile(out, await generate(t));
  console.log(`wrote ${out}`);
}
