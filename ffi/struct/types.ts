/**
 * Field types of the struct layer: the C scalar types of an LP64 ABI (Linux and
 * macOS on 64-bit CPUs), fixed arrays, flexible trailing arrays, and the types
 * that map a declaration to the JavaScript values it encodes and decodes.
 *
 * @module
 */

/**
 * Integer types whose values are JavaScript numbers (8, 16 and 32 bits).
 *
 * @example
 * ```ts
 * import type { SmallIntName } from "@libc/ipc/struct";
 * const name: SmallIntName = "i16";
 * ```
 */
export type SmallIntName = "u8" | "u16" | "u32" | "i8" | "i16" | "i32";

/**
 * Integer types whose values decode to bigint (64 bits on LP64).
 *
 * @example
 * ```ts
 * import type { BigIntName } from "@libc/ipc/struct";
 * const name: BigIntName = "size_t";
 * ```
 */
export type BigIntName = "u64" | "i64" | "long" | "ulong" | "size_t";

/**
 * Names of the integer field types.
 *
 * @example
 * ```ts
 * import type { IntName } from "@libc/ipc/struct";
 * const name: IntName = "size_t";
 * ```
 */
export type IntName = SmallIntName | BigIntName;

/**
 * An integer field type: its C size, alignment, signedness and range.
 *
 * @example
 * ```ts
 * import { type IntType, i16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: IntType<"i16"> = i16;
 * assert.deepEqual([t.size, t.min, t.max], [2, -32768n, 32767n]);
 * ```
 */
export interface IntType<N extends IntName = IntName> {
  /** Discriminant of the field type. */
  readonly kind: "int";
  /** Type name, as used in error messages. */
  readonly name: N;
  /** `sizeof` in bytes. */
  readonly size: number;
  /** `_Alignof` in bytes. */
  readonly align: number;
  /** Whether the C type is signed. */
  readonly signed: boolean;
  /** Smallest value. */
  readonly min: bigint;
  /** Largest value. */
  readonly max: bigint;
}

/**
 * A data pointer (`void *`, `struct iovec *`, ...): 8 bytes on LP64. It decodes
 * to its address as a bigint and encodes from a bigint address or `null`.
 *
 * @example
 * ```ts
 * import { type PointerType, pointer } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: PointerType = pointer;
 * assert.equal(t.size, 8);
 * ```
 */
export interface PointerType {
  /** Discriminant of the field type. */
  readonly kind: "pointer";
  /** Type name, as used in error messages. */
  readonly name: "pointer";
  /** `sizeof` in bytes. */
  readonly size: number;
  /** `_Alignof` in bytes. */
  readonly align: number;
}

/**
 * A fixed-length array field, `T name[length]`.
 *
 * @example
 * ```ts
 * import { array, type ArrayType, type U8, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const path: ArrayType<U8> = array(u8, 108);
 * assert.equal(path.size, 108);
 * ```
 */
export interface ArrayType<E extends ElementType = ElementType> {
  /** Discriminant of the field type. */
  readonly kind: "array";
  /** Type name, as used in error messages, such as `u8[16]`. */
  readonly name: string;
  /** Element type. */
  readonly element: E;
  /** Number of elements. */
  readonly length: number;
  /** `sizeof` in bytes. */
  readonly size: number;
  /** `_Alignof` in bytes. */
  readonly align: number;
}

/**
 * A flexible array member, `T name[]`: the last field of a struct, adding no
 * size of its own; the elements follow the fixed part.
 *
 * @example
 * ```ts
 * import { flex, type FlexType, type U8, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const text: FlexType<U8> = flex(u8);
 * assert.equal(text.size, 0);
 * ```
 */
export interface FlexType<E extends ElementType = ElementType> {
  /** Discriminant of the field type. */
  readonly kind: "flex";
  /** Type name, as used in error messages, such as `u8[]`. */
  readonly name: string;
  /** Element type. */
  readonly element: E;
  /** Always 0: a flexible array adds no size to its struct. */
  readonly size: number;
  /** `_Alignof` of the element type. */
  readonly align: number;
}

/**
 * A declared C struct: its layout, and the codec between its bytes and a
 * JavaScript object. Created by `struct()`; usable as a field type.
 *
 * @example
 * ```ts
 * import { i16, type I16, type Struct, struct, u16, type U16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const sembuf: Struct<{ sem_num: U16; sem_op: I16; sem_flg: I16 }> = struct("sembuf", {
 *   sem_num: u16,
 *   sem_op: i16,
 *   sem_flg: i16,
 * });
 * assert.deepEqual([sembuf.size, sembuf.offsets.sem_op], [6, 2]);
 * ```
 */
export interface Struct<F extends Fields = Fields> {
  /** Discriminant of the field type. */
  readonly kind: "struct";
  /** The C struct tag or typedef name, as used in error messages. */
  readonly name: string;
  /** How C spells the type: `struct sembuf`, or the typedef name. */
  readonly cType: string;
  /** The declaration, in C order. */
  readonly fields: F;
  /** `sizeof`: the fixed part, a flexible array member excluded. */
  readonly size: number;
  /** `_Alignof`: the largest alignment of its fields. */
  readonly align: number;
  /** `offsetof` of every field, by name. */
  readonly offsets: { readonly [K in keyof F]: number };
  /**
   * Bytes needed for the struct followed by `n` flexible array elements.
   *
   * @param n Number of trailing elements; must be 0 for a struct without a flexible array.
   * @returns `max(size, offsetof(flex) + n * sizeof(element))`.
   * @throws {RangeError} `n` is not a non-negative safe integer.
   * @throws {TypeError} `n > 0` and the struct has no flexible array member.
   */
  sizeFor(n: number): number;
  /**
   * Encodes `value` in C layout (host byte order); padding bytes are zeroed.
   *
   * @param value Every field must be present and within its type's range.
   * @param target Where to write; a new zeroed buffer when omitted.
   * @param offset Byte offset in `target` (or in the new buffer, whose first
   *   `offset` bytes stay zero).
   * @returns `target`, or the new buffer of `offset + sizeFor(flex length)` bytes.
   * @throws {TypeError} A field is missing or has the wrong type.
   * @throws {RangeError} A value is out of range or not an integer, an array has
   * the wrong length, or `target` is too small. `target` may be partly written.
   */
  encode(value: StructInput<F>, target?: Uint8Array, offset?: number): Uint8Array;
  /**
   * Decodes a struct from `source` at `offset`. A flexible array takes every
   * whole element left in `source`.
   *
   * @param source Bytes in C layout.
   * @param offset Byte offset in `source`.
   * @returns A fresh object; arrays of u8/i8 are copies, not views.
   * @throws {RangeError} `source` holds fewer than `size` bytes after `offset`.
   */
  decode(source: Uint8Array, offset?: number): StructValue<F>;
}

/**
 * A type that can be an array element or a struct field: a scalar, a fixed
 * array, or a struct without a flexible array member.
 *
 * @example
 * ```ts
 * import { type ElementType, u32 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: ElementType = u32;
 * assert.equal(t.kind, "int");
 * ```
 */
export type ElementType = IntType | PointerType | ArrayType | Struct;

/**
 * Any field type, a flexible array member included.
 *
 * @example
 * ```ts
 * import { type FieldType, flex, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: FieldType = flex(u8);
 * assert.equal(t.kind, "flex");
 * ```
 */
export type FieldType = ElementType | FlexType;

/**
 * A struct declaration: field names (the C member names) to field types, in C order.
 *
 * @example
 * ```ts
 * import { type Fields, i32, i16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const pollfd: Fields = { fd: i32, events: i16, revents: i16 };
 * assert.deepEqual(Object.keys(pollfd), ["fd", "events", "revents"]);
 * ```
 */
export type Fields = { readonly [name: string]: FieldType };

/**
 * The JavaScript value a field type decodes to: `number` for 8/16/32-bit
 * integers, `bigint` for 64-bit integers and pointers, `Uint8Array`/`Int8Array`
 * for arrays of u8/i8, arrays for other arrays, objects for structs.
 *
 * @example
 * ```ts
 * import { type Infer, struct, u16, i16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const sembuf = struct("sembuf", { sem_num: u16, sem_op: i16, sem_flg: i16 });
 * const op: Infer<typeof sembuf> = sembuf.decode(new Uint8Array(sembuf.size));
 * assert.equal(op.sem_op, 0);
 * ```
 */
export type Infer<T extends FieldType> = T extends IntType<infer N>
  ? (N extends SmallIntName ? number : bigint)
  : T extends PointerType ? bigint
  : T extends ArrayType<infer E> | FlexType<infer E>
    ? (E extends IntType<"u8"> ? Uint8Array : E extends IntType<"i8"> ? Int8Array : Infer<E>[])
  : T extends Struct<infer F> ? StructValue<F>
  : never;

/**
 * The JavaScript value a field type encodes from: like `Infer`, but 64-bit
 * integers also take safe-integer numbers, pointers take `null` for NULL, and
 * arrays of u8/i8 also take plain number arrays.
 *
 * @example
 * ```ts
 * import { type InferInput, long, flex, struct, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const msgbuf = struct("msgbuf", { mtype: long, mtext: flex(u8) });
 * const msg: InferInput<typeof msgbuf> = { mtype: 1, mtext: [104, 105] };
 * assert.equal(msgbuf.encode(msg).length, 10);
 * ```
 */
export type InferInput<T extends FieldType> = T extends IntType<infer N>
  ? (N extends SmallIntName ? number : number | bigint)
  : T extends PointerType ? bigint | null
  : T extends ArrayType<infer E> | FlexType<infer E> ? (
      E extends IntType<"u8"> ? Uint8Array | readonly number[]
        : E extends IntType<"i8"> ? Int8Array | readonly number[]
        : readonly InferInput<E>[]
    )
  : T extends Struct<infer F> ? StructInput<F>
  : never;

/**
 * The decoded object of a struct declaration.
 *
 * @example
 * ```ts
 * import { struct, type StructValue, type U32, u32 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const in_addr = struct("in_addr", { s_addr: u32 });
 * const v: StructValue<{ s_addr: U32 }> = in_addr.decode(new Uint8Array([127, 0, 0, 1]));
 * assert.equal(v.s_addr, 0x0100007f);
 * ```
 */
export type StructValue<F extends Fields> = { -readonly [K in keyof F]: Infer<F[K]> };

/**
 * The object a struct declaration encodes from.
 *
 * @example
 * ```ts
 * import { type Long, long, struct, type StructInput } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const v: StructInput<{ tv_sec: Long; tv_nsec: Long }> = { tv_sec: 1, tv_nsec: 5n };
 * const timespec = struct("timespec", { tv_sec: long, tv_nsec: long });
 * assert.deepEqual(timespec.decode(timespec.encode(v)), { tv_sec: 1n, tv_nsec: 5n });
 * ```
 */
export type StructInput<F extends Fields> = { readonly [K in keyof F]: InferInput<F[K]> };

/**
 * The field types this layer made (its constants, `array()`, `flex()`,
 * `struct()`). Only these are accepted: a hand-built object could claim a
 * size its codec does not write, and corrupt the next field.
 */
const madeTypes = new WeakSet<object>();

/** Records `t` as a field type of this layer (frozen); returns it. */
export function made<T extends object>(t: T): T {
  madeTypes.add(Object.freeze(t));
  return t;
}

/** Whether `t` is a field type this layer made. */
export function isFieldType(t: unknown): t is FieldType {
  return typeof t === "object" && t !== null && madeTypes.has(t);
}

function int<N extends IntName>(name: N, size: number, signed: boolean): IntType<N> {
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  return made({ kind: "int", name, size, align: size, signed, min, max });
}

/**
 * `uint8_t`, `unsigned char`.
 *
 * @example
 * ```ts
 * import { type U8, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: U8 = u8;
 * assert.equal(t.size, 1);
 * ```
 */
export type U8 = IntType<"u8">;
/**
 * `uint16_t`, `unsigned short`.
 *
 * @example
 * ```ts
 * import { type U16, u16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: U16 = u16;
 * assert.equal(t.size, 2);
 * ```
 */
export type U16 = IntType<"u16">;
/**
 * `uint32_t`, `unsigned int`.
 *
 * @example
 * ```ts
 * import { type U32, u32 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: U32 = u32;
 * assert.equal(t.size, 4);
 * ```
 */
export type U32 = IntType<"u32">;
/**
 * `uint64_t`.
 *
 * @example
 * ```ts
 * import { type U64, u64 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: U64 = u64;
 * assert.equal(t.size, 8);
 * ```
 */
export type U64 = IntType<"u64">;
/**
 * `int8_t`, `signed char`.
 *
 * @example
 * ```ts
 * import { type I8, i8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: I8 = i8;
 * assert.equal(t.size, 1);
 * ```
 */
export type I8 = IntType<"i8">;
/**
 * `int16_t`, `short`.
 *
 * @example
 * ```ts
 * import { type I16, i16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: I16 = i16;
 * assert.equal(t.size, 2);
 * ```
 */
export type I16 = IntType<"i16">;
/**
 * `int32_t`, `int`.
 *
 * @example
 * ```ts
 * import { type I32, i32 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: I32 = i32;
 * assert.equal(t.size, 4);
 * ```
 */
export type I32 = IntType<"i32">;
/**
 * `int64_t`.
 *
 * @example
 * ```ts
 * import { type I64, i64 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: I64 = i64;
 * assert.equal(t.size, 8);
 * ```
 */
export type I64 = IntType<"i64">;
/**
 * `long` (64 bits on LP64), also `time_t`.
 *
 * @example
 * ```ts
 * import { type Long, long } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: Long = long;
 * assert.equal(t.size, 8);
 * ```
 */
export type Long = IntType<"long">;
/**
 * `unsigned long` (64 bits on LP64).
 *
 * @example
 * ```ts
 * import { type ULong, ulong } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: ULong = ulong;
 * assert.equal(t.size, 8);
 * ```
 */
export type ULong = IntType<"ulong">;
/**
 * `size_t` (64 bits on LP64).
 *
 * @example
 * ```ts
 * import { type SizeT, size_t } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const t: SizeT = size_t;
 * assert.equal(t.size, 8);
 * ```
 */
export type SizeT = IntType<"size_t">;

/**
 * `uint8_t`: a number in 0..255.
 *
 * @example
 * ```ts
 * import { struct, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual(struct("s", { b: u8 }).encode({ b: 255 }), new Uint8Array([255]));
 * ```
 */
export const u8: U8 = int("u8", 1, false);
/**
 * `uint16_t`: a number in 0..65535.
 *
 * @example
 * ```ts
 * import { struct, u16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("s", { n: u16 }).size, 2);
 * ```
 */
export const u16: U16 = int("u16", 2, false);
/**
 * `uint32_t`: a number in 0..4294967295.
 *
 * @example
 * ```ts
 * import { struct, u32 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("s", { n: u32 }).size, 4);
 * ```
 */
export const u32: U32 = int("u32", 4, false);
/**
 * `uint64_t`: decodes to a bigint; encodes from a bigint or a safe-integer number.
 *
 * @example
 * ```ts
 * import { struct, u64 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const s = struct("s", { n: u64 });
 * assert.equal(s.decode(s.encode({ n: 2n ** 64n - 1n })).n, 18446744073709551615n);
 * ```
 */
export const u64: U64 = int("u64", 8, false);
/**
 * `int8_t`: a number in -128..127.
 *
 * @example
 * ```ts
 * import { i8, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual(struct("s", { c: i8 }).encode({ c: -1 }), new Uint8Array([255]));
 * ```
 */
export const i8: I8 = int("i8", 1, true);
/**
 * `int16_t` (`short`): a number in -32768..32767.
 *
 * @example
 * ```ts
 * import { i16, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("s", { n: i16 }).size, 2);
 * ```
 */
export const i16: I16 = int("i16", 2, true);
/**
 * `int32_t` (`int`, `pid_t`): a number in -2147483648..2147483647.
 *
 * @example
 * ```ts
 * import { i32, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("s", { fd: i32 }).size, 4);
 * ```
 */
export const i32: I32 = int("i32", 4, true);
/**
 * `int64_t`: decodes to a bigint; encodes from a bigint or a safe-integer number.
 *
 * @example
 * ```ts
 * import { i64, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const s = struct("s", { n: i64 });
 * assert.equal(s.decode(s.encode({ n: -1 })).n, -1n);
 * ```
 */
export const i64: I64 = int("i64", 8, true);
/**
 * `long` (also `time_t`, `ssize_t`): 64-bit signed on LP64.
 *
 * @example
 * ```ts
 * import { long, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("timespec", { tv_sec: long, tv_nsec: long }).size, 16);
 * ```
 */
export const long: Long = int("long", 8, true);
/**
 * `unsigned long`: 64-bit unsigned on LP64.
 *
 * @example
 * ```ts
 * import { struct, ulong } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("s", { n: ulong }).align, 8);
 * ```
 */
export const ulong: ULong = int("ulong", 8, false);
/**
 * `size_t`: 64-bit unsigned on LP64.
 *
 * @example
 * ```ts
 * import { pointer, size_t, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(struct("iovec", { iov_base: pointer, iov_len: size_t }).size, 16);
 * ```
 */
export const size_t: SizeT = int("size_t", 8, false);

/**
 * A data pointer (8 bytes on LP64): decodes to its address as a bigint; encodes
 * from a bigint address or `null`. A Deno pointer object converts with
 * `Deno.UnsafePointer.value(p)`, which needs `--allow-ffi`, so the caller does it.
 *
 * @example
 * ```ts
 * import { pointer, size_t, struct } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const iovec = struct("iovec", { iov_base: pointer, iov_len: size_t });
 * assert.equal(iovec.decode(iovec.encode({ iov_base: null, iov_len: 0 })).iov_base, 0n);
 * ```
 */
export const pointer: PointerType = made({
  kind: "pointer",
  name: "pointer",
  size: 8,
  align: 8,
});

function checkElement(element: ElementType, what: string): void {
  if (!isFieldType(element)) throw new TypeError(`${what}: the element is ${NOT_A_FIELD_TYPE}`);
  const kind = (element as FieldType).kind;
  if (kind === "flex") throw new TypeError(`${what}: a flexible array cannot be an element`);
  if (kind === "struct" && hasFlex(element as Struct)) {
    throw new TypeError(`${what}: struct ${element.name} ends in a flexible array`);
  }
}

/** What a value that is not a field type of this layer gets told. */
export const NOT_A_FIELD_TYPE =
  "not a field type of this layer (build types with its constants, array(), flex() and struct())";

/** Whether a struct ends in a flexible array member. */
function hasFlex(s: Struct): boolean {
  const types = Object.values(s.fields);
  return types.length > 0 && types[types.length - 1].kind === "flex";
}

/**
 * A fixed array `T name[length]`. An array of u8 decodes to a `Uint8Array`
 * copy, of i8 to an `Int8Array` copy, of anything else to a JavaScript array;
 * encoding requires exactly `length` elements.
 *
 * @param element Element type: a scalar, an array or a struct.
 * @param length Number of elements, a positive integer.
 * @returns The array field type.
 * @throws {TypeError} `element` is not a valid element type.
 * @throws {RangeError} `length` is not a positive safe integer, or the array would
 *   be more bytes than a number holds exactly.
 *
 * @example
 * ```ts
 * import { array, struct, u8, u16 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const sockaddr_un = struct("sockaddr_un", { sun_family: u16, sun_path: array(u8, 108) });
 * assert.equal(sockaddr_un.size, 110);
 * ```
 */
export function array<E extends ElementType>(element: E, length: number): ArrayType<E> {
  checkElement(element, "array()");
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new RangeError(`array(): length must be a positive integer, got ${String(length)}`);
  }
  if (!Number.isSafeInteger(element.size * length)) {
    throw new RangeError(
      `array(): ${length} elements of ${element.size} bytes are more than a number holds exactly`,
    );
  }
  return made({
    kind: "array",
    name: `${element.name}[${length}]`,
    element,
    length,
    size: element.size * length,
    align: element.align,
  });
}

/**
 * A flexible array member `T name[]`, allowed only as the last field. Encoding
 * takes any number of elements; decoding takes every whole element left in the
 * source. `Struct.sizeFor(n)` gives the bytes needed for `n` elements.
 *
 * @param element Element type: a scalar, an array or a struct.
 * @returns The flexible array field type.
 * @throws {TypeError} `element` is not a valid element type.
 *
 * @example
 * ```ts
 * import { flex, long, struct, u8 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const msgbuf = struct("msgbuf", { mtype: long, mtext: flex(u8) });
 * assert.deepEqual([msgbuf.size, msgbuf.sizeFor(100)], [8, 108]);
 * ```
 */
export function flex<E extends ElementType>(element: E): FlexType<E> {
  checkElement(element, "flex()");
  return made({
    kind: "flex",
    name: `${element.name}[]`,
    element,
    size: 0,
    align: element.align,
  });
}
