/**
 * Typed C structs for `Deno.dlopen`: declare a struct once with `struct()` and
 * get its `size`, `align`, field `offsets`, an `encode`/`decode` pair between
 * JavaScript objects and C-layout bytes, and its TypeScript types. Needs no
 * permission: nothing here calls into C.
 *
 * The field types follow LP64 (Linux and macOS on 64-bit CPUs): `long`,
 * `ulong`, `size_t` and `pointer` are 8 bytes. 8/16/32-bit integers are
 * numbers; 64-bit integers and pointers decode to bigint. Values out of range
 * throw, never truncate. `layouts` holds the libc structs of this platform.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { array, flex, type Infer, long, struct, u8, u16, u32 } from "@libc/ipc/struct";
 *
 * const header = struct("header", { kind: u16, flags: u16, id: u32, tag: array(u8, 4) });
 * const packet = struct("packet", { h: header, seq: long, body: flex(u8) });
 * const value: Infer<typeof packet> = {
 *   h: { kind: 1, flags: 0, id: 7, tag: new Uint8Array([1, 2, 3, 4]) },
 *   seq: 42n,
 *   body: new Uint8Array([9, 9]),
 * };
 * const bytes = packet.encode(value);
 * deepStrictEqual(bytes.length, packet.sizeFor(2));
 * deepStrictEqual(packet.decode(bytes), value);
 * ```
 *
 * @module
 */
export { struct, type StructOptions } from "./struct.ts";
export {
  array,
  type ArrayType,
  type BigIntName,
  type ElementType,
  type Fields,
  type FieldType,
  flex,
  type FlexType,
  type I16,
  i16,
  type I32,
  i32,
  type I64,
  i64,
  type I8,
  i8,
  type Infer,
  type InferInput,
  type IntName,
  type IntType,
  type Long,
  long,
  pointer,
  type PointerType,
  size_t,
  type SizeT,
  type SmallIntName,
  type Struct,
  type StructInput,
  type StructValue,
  type U16,
  u16,
  type U32,
  u32,
  type U64,
  u64,
  type U8,
  u8,
  type ULong,
  ulong,
} from "./types.ts";
export { type Layouts, layouts, layoutsFor } from "./layouts.ts";
