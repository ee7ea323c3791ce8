/**
 * The members of C structs as a target's DWARF describes them, read with
 * `pahole` (Debian `dwarves`): names, offsets and array dimensions, for the
 * layouts generator.
 *
 * @module
 */
import { run, type Target, withObject } from "./c_probe.ts";
import { PRELUDE } from "./layout_probe.ts";
import type { Struct } from "../struct/mod.ts";

/** A member as the target's DWARF describes it. */
export interface DwarfMember {
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
export function dwarfMembers(
  structs: readonly Struct[],
  t: Target,
): Promise<Map<Struct, DwarfMember[]>> {
  const source = [...PRELUDE, ...structs.map((s, i) => `${s.cType} probe_${i};`)].join("\n") + "\n";
  return withObject(source, t, async (object) => {
    const found = new Map<Struct, DwarfMember[]>();
    for (const s of structs) {
      const tag = s.cType.replace(/^struct /, "");
      found.set(s, parsePahole(s.cType, await run("pahole", ["-C", tag, object])));
    }
    return found;
  });
}
