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
import { compiles, run, type Target, targetArg, withObject } from "./c_probe.ts";
import { allStructs, HEADERS, holds, probe, probeSource, structChecks } from "./layout_probe.ts";
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

/** A member as the target's DWARF describes it. */
interface DwarfMember {
  readonly name: string;
  readonly offset: number;
  /** Array dimensions, outermost first (`int x[2][3]`: [2, 3]). */
  readonly dims: readonly number[];
}

/**
 * The top-level members of `cType` from `pahole` output: a line per member,
 * `<type> <name>[dims];  /* <offset> <size> *\/`, nested blocks for inline
 * unions and structs.
 */
function parsePahole(cType: string, text: string): DwarfMember[] {
  const members: DwarfMember[] = [];
  let depth = 0;
  for (const line of text.split("\n")) {
    const opens = line.includes("{"), closes = line.trimStart().startsWith("}");
    if (closes) depth--;
    if (depth === 1 && closes) {
      throw new Error(
        `${cType}: an unnamed union or struct member (${line.trim()}): declare it in the reference`,
      );
    }
    if (depth === 1 && !opens) {
      const m = line.match(/^\s*(.+?)\s*;\s*\/\*\s*(\d+)(?::\d+)?\s+(\d+)\s*\*\//);
      if (m) {
        const decl = m[1];
        if (/:\s*\d+$/.test(decl)) throw new Error(`${cType}: bit-field ${decl} is not supported`);
        const fn = decl.match(/\(\*\s*(\w+)\)/);
        const plain = decl.match(/(\w+)((?:\[\d+\])*)$/);
        const name = fn ? fn[1] : plain?.[1];
        if (name === undefined) throw new Error(`${cType}: cannot read member ${decl}`);
        const dims = fn ? [] : [...(plain?.[2] ?? "").matchAll(/\[(\d+)\]/g)].map((d) => +d[1]);
        members.push({ name, offset: Number(m[2]), dims });
      }
    }
    if (opens) depth++;
  }
  if (members.length === 0) throw new Error(`pahole found no members of ${cType}`);
  return members;
}

/** The members of each of `structs` from the target's DWARF. */
function dwarfMembers(structs: readonly Struct[], t: Target): Promise<Map<Struct, DwarfMember[]>> {
  const source = [
    "#define _GNU_SOURCE",
    ...HEADERS.map((h) => `#include <${h}>`),
    ...structs.map((s, i) => `${s.cType} probe_${i};`),
  ].join("\n") + "\n";
  return withObject(source, t, async (object) => {
    const found = new Map<Struct, DwarfMember[]>();
    for (const s of structs) {
      const tag = s.cType.replace(/^struct /, "");
      found.set(s, parsePahole(s.cType, await run("pahole", ["-C", tag, object])));
    }
    return found;
  });
}

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

// ---------------------------------------------------------------- writing TypeScript

/** TypeScript type names of the integer types. */
const INT_TYPE_NAMES: Record<string, string> = {
  u8: "U8",
  u16: "U16",
  u32: "U32",
  u64: "U64",
  i8: "I8",
  i16: "I16",
  i32: "I32",
  i64: "I64",
  long: "Long",
  ulong: "ULong",
  size_t: "SizeT",
};

/** Writes field types as the reference spells them, noting what each needs imported. */
class Writer {
  readonly values = new Set<string>(["struct"]);
  readonly types = new Set<string>(["Struct"]);
  constructor(readonly exportName: ReadonlyMap<Struct, string>) {}

  /** The expression that declares `t`. */
  value(t: FieldType): string {
    switch (t.kind) {
      case "int":
        this.values.add(t.name);
        return t.name;
      case "pointer":
        this.values.add("pointer");
        return "pointer";
      case "array":
        this.values.add("array");
        return `array(${this.value(t.element)}, ${t.length})`;
      case "flex":
        this.values.add("flex");
        return `flex(${this.value(t.element)})`;
      case "struct":
        return this.nameOf(t);
    }
  }

  /** The TypeScript type of `t`. */
  type(t: FieldType): string {
    switch (t.kind) {
      case "int":
        this.types.add(INT_TYPE_NAMES[t.name]);
        return INT_TYPE_NAMES[t.name];
      case "pointer":
        this.types.add("PointerType");
        return "PointerType";
      case "array":
        this.types.add("ArrayType");
        return `ArrayType<${this.type(t.element)}>`;
      case "flex":
        this.types.add("FlexType");
        return `FlexType<${this.type(t.element)}>`;
      case "struct":
        return `typeof ${this.nameOf(t)}`;
    }
  }

  nameOf(s: Struct): string {
    const name = this.exportName.get(s);
    if (name === undefined) throw new Error(`struct ${s.name} is not one of the layouts`);
    return name;
  }

  /** The import lines of everything written so far. */
  imports(): string[] {
    const names = [
      ...[...this.values].map((n) => ({ n, s: n })),
      ...[...this.types].map((n) => ({ n, s: `type ${n}` })),
    ].sort((a, b) => a.n.toLowerCase().localeCompare(b.n.toLowerCase()) || (a.s < b.s ? 1 : -1));
    return [
      'import { struct } from "../struct.ts";',
      `import { ${
        names.filter((x) => x.n !== "struct").map((x) => x.s).join(", ")
      } } from "../types.ts";`,
    ];
  }
}

const key = (name: string) => /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);

/** One exported declaration, with its generated JSDoc. */
function declaration(
  w: Writer,
  name: string,
  s: Struct,
  options: StructOptions,
  how: string,
  arch: string,
): string {
  const fields = Object.entries(s.fields);
  const type = fields.map(([k, t]) => `${key(k)}: ${w.type(t)}`).join("; ");
  const value = fields.map(([k, t]) => `${key(k)}: ${w.value(t)}`).join(", ");
  const opts = Object.entries(options).map(([k, v]) => `${k}: ${v}`).join(", ");
  return [
    "/**",
    ` * \`${s.cType}\` of glibc on Linux ${arch}:`,
    ` * ${how}.`,
    " *",
    " * @example",
    " * ```ts",
    ' * import { layoutsFor } from "@libc/ipc/struct";',
    ' * import assert from "node:assert/strict";',
    ` * const { ${name} } = layoutsFor("linux", "${arch}");`,
    ` * assert.deepEqual([${name}.size, ${name}.align], [${s.size}, ${s.align}]);`,
    " * ```",
    " */",
    `export const ${name}: Struct<{ ${type} }> = struct(${JSON.stringify(s.name)}, { ${value} }${
      opts ? `, { ${opts} }` : ""
    });`,
  ].join("\n");
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

/** Probes the target `t`; returns the generated TypeScript source of its layouts. */
export async function generate(t: Target): Promise<string> {
  if (t.arch === REFERENCE_ARCH) {
    throw new Error(`the ${REFERENCE_ARCH} layouts are the hand-written reference, not generated`);
  }
  const exportName = new Map<Struct, string>(
    Object.entries(reference).map(([name, s]) => [s as Struct, name]),
  );
  const structs = allStructs(exportName.keys());
  // A struct that names a member the target lacks does not compile: probe the others.
  const named: Struct[] = [];
  for (const s of structs) if (await compiles(probeSource(structChecks(s)), t)) named.push(s);
  const c = await probe(named.flatMap(structChecks), t);
  const differ = structs.filter((s) => !named.includes(s) || !holds(structChecks(s), c));
  // Every struct a member may have, by its declaration on the target.
  const known = new Map<Struct, Struct>(structs.map((s) => [s, s]));
  const derived = await derive(differ, known, t);
  for (const [ref, s] of derived) exportName.set(s, exportName.get(ref)!);
  const check = await probe([...derived.values()].flatMap(structChecks), t);
  for (const s of derived.values()) {
    if (!holds(structChecks(s), check)) {
      throw new Error(`${s.cType}: the derived declaration fails the probe`);
    }
  }

  const w = new Writer(exportName);
  const body = structs.map((ref) => {
    const s = derived.get(ref) ?? ref;
    const { options } = fit(s, s.fields, s)!;
    const how = derived.has(ref)
      ? `derived from the ${t.arch} C compiler (it differs from ${REFERENCE_ARCH})`
      : `the ${REFERENCE_ARCH} declaration, checked against the ${t.arch} C compiler`;
    return declaration(w, exportName.get(ref)!, s, options, how, t.arch);
  });
  return await format([
    `// DO NOT EDIT: generated by ffi/gen/layouts.ts (linux ${t.arch}) from the`,
    `// ${REFERENCE_ARCH} declarations and the ${t.arch} C compiler.`,
    "",
    "/**",
    ` * C struct layouts of glibc on Linux ${t.arch}, by their C names.`,
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
