/**
 * Struct declarations written as TypeScript source, as the hand-written
 * layouts spell them (`long`, `array(u8, 16)`, nested structs by name), with
 * explicit types: for the layouts generator.
 *
 * @module
 */
import type { FieldType, Struct, StructOptions } from "../struct/mod.ts";

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

/** A member name as an object key: quoted unless it is an identifier (`"_sifields._pad"`). */
const key = (name: string) => /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);

/** Writes field types as the reference spells them, noting what each needs imported. */
export class StructWriter {
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

  /** `export const <name>: Struct<{...}> = struct(...)` for `s`, declared with `options`, after `doc`. */
  declaration(name: string, s: Struct, options: StructOptions, doc: string): string {
    const fields = Object.entries(s.fields);
    const type = fields.map(([k, t]) => `${key(k)}: ${this.type(t)}`).join("; ");
    const value = fields.map(([k, t]) => `${key(k)}: ${this.value(t)}`).join(", ");
    const opts = Object.entries(options).map(([k, v]) => `${k}: ${v}`).join(", ");
    return [
      `/**\n${doc.split("\n").map((l) => ` * ${l}`).join("\n")}\n */`,
      `export const ${name}: Struct<{ ${type} }> = struct(${JSON.stringify(s.name)}, { ${value} }${
        opts ? `, { ${opts} }` : ""
      });`,
    ].join("\n");
  }
}
