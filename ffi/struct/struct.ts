/**
 * `struct()`: computes a C layout (each field at its own alignment, the struct
 * aligned to its widest field, the size rounded up to that alignment) and
 * builds the encoder and decoder once, at declaration time, so that encoding a
 * value is one pass of precomputed accessors over a `DataView`.
 *
 * @module
 */
import type {
  ArrayType,
  ElementType,
  Fields,
  FlexType,
  IntType,
  Struct,
  StructInput,
  StructValue,
} from "./types.ts";
import { isFieldType, made, NOT_A_FIELD_TYPE } from "./types.ts";

/**
 * Options of `struct()`.
 *
 * @example
 * ```ts
 * import { struct, type StructOptions, u32 } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const options: StructOptions = { typedef: true };
 * assert.equal(struct("in_addr_t_box", { v: u32 }, options).cType, "in_addr_t_box");
 * ```
 */
export interface StructOptions {
  /** The C type is a typedef name (`foo_t`), not `struct <name>`. Default false. */
  readonly typedef?: boolean;
  /**
   * Minimum alignment, a power of two, for a C type more aligned than the
   * members declared here: a union member (glibc's `in6_addr`), or
   * `__attribute__((aligned(n)))`. Default: the largest member alignment.
   */
  readonly align?: number;
  /**
   * `__attribute__((packed))`: members follow each other with no padding and
   * the struct is byte-aligned (glibc's `epoll_event` on x86_64). Default false.
   */
  readonly packed?: boolean;
}

type Write = (view: DataView, bytes: Uint8Array, pos: number, value: unknown) => void;
type Read = (view: DataView, bytes: Uint8Array, pos: number) => unknown;
interface Codec {
  readonly write: Write;
  readonly read: Read;
}

/**
 * A bad input found below the top level. Each enclosing struct or array
 * prepends its member name or index to `path` on the way out, and `encode()`
 * turns it into a TypeError or RangeError naming the whole path, so codecs
 * need no per-call path strings.
 */
class Issue {
  path = "";
  constructor(readonly error: new (message: string) => Error, readonly detail: string) {}
}

function toError(e: unknown, name: string): unknown {
  return e instanceof Issue ? new e.error(`${name}${e.path}: ${e.detail}`) : e;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x === "object") {
    const proto = Object.getPrototypeOf(x);
    return proto === Object.prototype || proto === null ? "an object" : proto.constructor.name;
  }
  return typeof x;
}

function smallInt(x: unknown, t: IntType, lo: number, hi: number): number {
  if (typeof x === "number" && x >= lo && x <= hi && Number.isInteger(x)) return x;
  if (typeof x !== "number") {
    throw new Issue(TypeError, `expected a number for ${t.name}, got ${describe(x)}`);
  }
  if (!Number.isInteger(x)) throw new Issue(RangeError, `${x} is not an integer (${t.name})`);
  throw new Issue(RangeError, `${x} is out of range for ${t.name} (${lo}..${hi})`);
}

function bigInt(x: unknown, t: IntType): bigint | number {
  if (typeof x === "bigint") {
    if (x >= t.min && x <= t.max) return x;
    throw new Issue(RangeError, `${x} is out of range for ${t.name} (${t.min}..${t.max})`);
  }
  if (typeof x === "number") {
    if (Number.isSafeInteger(x) && (t.signed || x >= 0)) return x;
    if (!Number.isInteger(x)) throw new Issue(RangeError, `${x} is not an integer (${t.name})`);
    // A bigint helps only a value in the field's range.
    if (!Number.isSafeInteger(x) && x >= Number(t.min) && x <= Number(t.max)) {
      throw new Issue(RangeError, `${x} is not a safe integer; pass a bigint for ${t.name}`);
    }
    throw new Issue(RangeError, `${x} is out of range for ${t.name} (${t.min}..${t.max})`);
  }
  throw new Issue(TypeError, `expected a bigint or a number for ${t.name}, got ${describe(x)}`);
}

const TWO_32 = 4294967296;

/** Writes a safe integer as 64-bit two's complement without allocating a bigint. */
function setNumber64(view: DataView, pos: number, x: number): void {
  view.setUint32(pos, x >>> 0, true);
  view.setUint32(pos + 4, Math.floor(x / TWO_32) >>> 0, true);
}

function intCodec(t: IntType): Codec {
  const lo = Number(t.min), hi = Number(t.max);
  switch (t.name) {
    case "u8":
      return {
        write: (_v, b, p, x) => void (b[p] = smallInt(x, t, lo, hi)),
        read: (_v, b, p) => b[p],
      };
    case "i8":
      return {
        write: (v, _b, p, x) => v.setInt8(p, smallInt(x, t, lo, hi)),
        read: (v, _b, p) => v.getInt8(p),
      };
    case "u16":
      return {
        write: (v, _b, p, x) => v.setUint16(p, smallInt(x, t, lo, hi), true),
        read: (v, _b, p) => v.getUint16(p, true),
      };
    case "i16":
      return {
        write: (v, _b, p, x) => v.setInt16(p, smallInt(x, t, lo, hi), true),
        read: (v, _b, p) => v.getInt16(p, true),
      };
    case "u32":
      return {
        write: (v, _b, p, x) => v.setUint32(p, smallInt(x, t, lo, hi), true),
        read: (v, _b, p) => v.getUint32(p, true),
      };
    case "i32":
      return {
        write: (v, _b, p, x) => v.setInt32(p, smallInt(x, t, lo, hi), true),
        read: (v, _b, p) => v.getInt32(p, true),
      };
  }
  if (t.signed) {
    return {
      write: (v, _b, p, x) => {
        const n = bigInt(x, t);
        if (typeof n === "number") setNumber64(v, p, n);
        else v.setBigInt64(p, n, true);
      },
      read: (v, _b, p) => v.getBigInt64(p, true),
    };
  }
  return {
    write: (v, _b, p, x) => {
      const n = bigInt(x, t);
      if (typeof n === "number") setNumber64(v, p, n);
      else v.setBigUint64(p, n, true);
    },
    read: (v, _b, p) => v.getBigUint64(p, true),
  };
}

const MAX_ADDRESS = (1n << 64n) - 1n;

const pointerCodec: Codec = {
  write: (v, _b, p, x) => {
    if (x === null) {
      v.setUint32(p, 0, true);
      v.setUint32(p + 4, 0, true);
    } else if (typeof x === "bigint" && x >= 0n && x <= MAX_ADDRESS) {
      v.setBigUint64(p, x, true);
    } else if (typeof x === "bigint") {
      throw new Issue(RangeError, `${x} is out of range for pointer (0..${MAX_ADDRESS})`);
    } else {
      throw new Issue(
        TypeError,
        `expected a bigint address or null for pointer, got ${describe(x)}` +
          (typeof x === "object" ? " (convert with Deno.UnsafePointer.value())" : ""),
      );
    }
  },
  read: (v, _b, p) => v.getBigUint64(p, true),
};

/** The elements of an array input, or an Issue if it is not array-like. */
function listOf(x: unknown, t: ArrayType | FlexType): ArrayLike<unknown> {
  if (Array.isArray(x)) return x;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    // A detached view reads as no elements: its values would be lost without a word.
    if ((x.buffer as ArrayBuffer).detached) {
      throw new Issue(
        TypeError,
        `expected an array for ${t.name}, got a view of a detached buffer`,
      );
    }
    return x as unknown as ArrayLike<unknown>;
  }
  throw new Issue(TypeError, `expected an array for ${t.name}, got ${describe(x)}`);
}

/** Writes the elements of an array or flexible array whose length was checked. */
function elementsWriter(t: ArrayType | FlexType): (
  view: DataView,
  bytes: Uint8Array,
  pos: number,
  list: ArrayLike<unknown>,
) => void {
  const write = codecOf(t.element).write;
  const step = t.element.size;
  const byteName = t.element.kind === "int" && t.element.size === 1 ? t.element.name : "";
  return (view, bytes, pos, list) => {
    // Typed arrays of the element's own type hold only in-range values: copy them at once.
    if (byteName === "u8" && list instanceof Uint8Array) return bytes.set(list, pos);
    if (byteName === "i8" && list instanceof Int8Array) {
      return bytes.set(new Uint8Array(list.buffer, list.byteOffset, list.length), pos);
    }
    let i = 0;
    try {
      for (; i < list.length; i++) write(view, bytes, pos + i * step, list[i]);
    } catch (e) {
      if (e instanceof Issue) e.path = `[${i}]${e.path}`;
      throw e;
    }
  };
}

/** Reads `count` elements of an array or flexible array. */
function elementsReader(
  t: ArrayType | FlexType,
): (view: DataView, bytes: Uint8Array, pos: number, count: number) => unknown {
  const read = codecOf(t.element).read;
  const step = t.element.size;
  if (t.element.kind === "int" && t.element.name === "u8") {
    // A plain view's slice: a subclass's (Node's Buffer) may return a view, not a copy.
    return (_view, bytes, pos, count) =>
      new Uint8Array(bytes.buffer, bytes.byteOffset + pos, count).slice();
  }
  if (t.element.kind === "int" && t.element.name === "i8") {
    return (_view, bytes, pos, count) =>
      new Int8Array(bytes.buffer, bytes.byteOffset + pos, count).slice();
  }
  return (view, bytes, pos, count) => {
    const out = new Array(count);
    for (let i = 0; i < count; i++) out[i] = read(view, bytes, pos + i * step);
    return out;
  };
}

function arrayCodec(t: ArrayType): Codec {
  const n = t.length;
  const writeElements = elementsWriter(t);
  const readElements = elementsReader(t);
  return {
    write: (view, bytes, pos, x) => {
      const list = listOf(x, t);
      if (list.length !== n) {
        throw new Issue(RangeError, `expected ${n} elements for ${t.name}, got ${list.length}`);
      }
      writeElements(view, bytes, pos, list);
    },
    read: (view, bytes, pos) => readElements(view, bytes, pos, n),
  };
}

/** Codecs of declared structs; a WeakMap keeps them out of the public object. */
const structCodecs = new WeakMap<Struct, Codec>();

function codecOf(t: ElementType): Codec {
  switch (t.kind) {
    case "int":
      return intCodec(t);
    case "pointer":
      return pointerCodec;
    case "array":
      return arrayCodec(t);
    case "struct": {
      const codec = structCodecs.get(t);
      if (!codec) throw new TypeError(`${t.name} was not declared with struct()`);
      return codec;
    }
  }
}

/**
 * What a plain object inherits: a member named `toString` or `valueOf` that a
 * record lacks is missing, not a function.
 */
const INHERITED = Object.prototype as unknown as Record<string, unknown>;

/** Whether `x`, `record[name]`, is only what every object inherits under that name. */
function isInherited(record: object, name: string, x: unknown): boolean {
  return x === INHERITED[name] && !Object.hasOwn(record, name);
}

/** TypeErrors naming the struct, for JavaScript callers that TypeScript does not check. */
function checkDeclaration(name: string, fields: unknown, options: unknown): void {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new TypeError(`struct ${name}: fields must be an object of field types`);
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`struct ${name}: options must be an object`);
  }
  for (const key of ["typedef", "packed"] as const) {
    const value = (options as StructOptions)[key];
    if (value !== undefined && typeof value !== "boolean") {
      throw new TypeError(
        `struct ${name}: options.${key} must be a boolean, got ${describe(value)}`,
      );
    }
  }
}

const roundUp = (n: number, align: number): number => Math.ceil(n / align) * align;

function checkOffset(offset: number, name: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${name}: offset must be a non-negative integer, got ${String(offset)}`);
  }
}

/** One DataView cached for the last buffer seen: hot paths reuse one target. */
let lastBytes: Uint8Array | undefined;
let lastView: DataView = new DataView(new ArrayBuffer(0));
/**
 * The largest buffer the cache holds on to: a larger one (a segment of shared
 * memory, say) is held weakly, so that dropping it frees it.
 */
const CACHED_MAX = 64 * 1024;
let weakBytes: WeakRef<Uint8Array> | undefined;
let weakView: WeakRef<DataView> | undefined;

function viewOf(bytes: Uint8Array): DataView {
  if (bytes === lastBytes && lastView.byteLength === bytes.byteLength) return lastView;
  if (weakBytes !== undefined && weakBytes.deref() === bytes) {
    const view = weakView!.deref();
    if (view !== undefined && view.byteLength === bytes.byteLength) return view;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Not kept over a resizable buffer: shrunk, it would leave the kept view out of bounds,
  // whose every getter throws.
  if ((bytes.buffer as ArrayBuffer).resizable) return view;
  if (bytes.buffer.byteLength <= CACHED_MAX) {
    lastView = view;
    lastBytes = bytes;
  } else {
    weakBytes = new WeakRef(bytes);
    weakView = new WeakRef(view);
  }
  return view;
}

/**
 * Declares a C struct: computes `size`, `align` and the `offsets` of its fields
 * by the C rules, and returns its encoder and decoder. The returned struct is
 * itself a field type, for nesting and arrays of structs.
 *
 * @param name The C struct tag (or typedef name), used in error messages and by
 * the layout probe (`offsetof(struct <name>, field)`).
 * @param fields The members in C order, by their C names. A `flex()` member may
 * only be last.
 * @param options `typedef: true` when C names the type without `struct`;
 * `align` when C aligns the type more than its members.
 * @returns The frozen struct declaration.
 * @throws {TypeError} `fields` is not an object, `options` not an object or
 * its `typedef`/`packed` not booleans, a field type is invalid, a flexible
 * array is not last, or a nested struct ends in a flexible array.
 * @throws {RangeError} `options.align` is not a power of two up to 2^30, or the
 *   struct would be more bytes than a number holds exactly.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { i16, struct, u16 } from "@libc/ipc/struct";
 *
 * const sembuf = struct("sembuf", { sem_num: u16, sem_op: i16, sem_flg: i16 });
 * const bytes = sembuf.encode({ sem_num: 0, sem_op: -1, sem_flg: 0 });
 * deepStrictEqual(sembuf.decode(bytes), { sem_num: 0, sem_op: -1, sem_flg: 0 });
 *
 * // Encode many into one buffer, in place.
 * const ops = new Uint8Array(sembuf.size * 2);
 * sembuf.encode({ sem_num: 1, sem_op: 1, sem_flg: 0 }, ops, sembuf.size);
 * ```
 */
export function struct<F extends Fields>(
  name: string,
  fields: F,
  options: StructOptions = {},
): Struct<F> {
  if (typeof name !== "string" || name === "") throw new TypeError("struct(): name is required");
  checkDeclaration(name, fields, options);
  const names = Object.keys(fields);
  const types = names.map((n) => fields[n]);
  if (names.length === 0) throw new TypeError(`struct ${name}: a struct needs a field`);

  // Layout, by the C rules.
  const offsetList: number[] = [];
  let end = 0, align = 1;
  types.forEach((t, i) => {
    const where = `struct ${name}.${names[i]}`;
    if (!isFieldType(t)) throw new TypeError(`${where}: ${NOT_A_FIELD_TYPE}`);
    if (t.kind === "flex" && i !== types.length - 1) {
      throw new TypeError(`${where}: a flexible array must be the last field`);
    }
    if (t.kind === "flex" && i === 0) {
      // As in C: "flexible array member in a struct with no named members".
      throw new TypeError(`${where}: a flexible array needs a field before it`);
    }
    if (t.kind === "struct" && Object.values(t.fields).some((f) => f.kind === "flex")) {
      throw new TypeError(`${where}: struct ${t.name} ends in a flexible array`);
    }
    const offset = options.packed ? end : roundUp(end, t.align);
    offsetList.push(offset);
    end = offset + t.size;
    if (!Number.isSafeInteger(end)) {
      throw new RangeError(`${where}: the struct would be larger than a number holds exactly`);
    }
    if (!options.packed) align = Math.max(align, t.align);
  });
  if (options.align !== undefined) {
    const a = options.align;
    // At most 2^30: & works on 32 bits, so a larger value would pass as a power of two.
    if (!Number.isSafeInteger(a) || a < 1 || a > 2 ** 30 || (a & (a - 1)) !== 0) {
      throw new RangeError(
        `struct ${name}: align must be a power of two up to 2^30, got ${String(a)}`,
      );
    }
    align = Math.max(align, a);
  }
  const size = roundUp(end, align);
  const offsets = Object.freeze(Object.fromEntries(names.map((n, i) => [n, offsetList[i]])));

  const last = types[types.length - 1];
  const flexType = last.kind === "flex" ? last : undefined;
  const fixed = flexType ? names.length - 1 : names.length;
  const flexName = names[names.length - 1];
  const flexOffset = offsetList[names.length - 1];
  const step = flexType?.element.size ?? 0;

  // Padding between fields and at the end, zeroed on encode so no stale bytes leak.
  const gaps: number[] = [];
  let at = 0;
  for (let i = 0; i < fixed; i++) {
    if (offsetList[i] > at) gaps.push(at, offsetList[i]);
    at = offsetList[i] + types[i].size;
  }
  const fixedEnd = flexType ? flexOffset : size;
  if (fixedEnd > at) gaps.push(at, fixedEnd);

  const writers = types.slice(0, fixed).map((t) => codecOf(t as ElementType).write);
  // Members named like Object.prototype's (toString, valueOf): only theirs get the closer look.
  const inherited = names.map((n) => n in INHERITED);
  const readers = types.slice(0, fixed).map((t) => codecOf(t as ElementType).read);

  const write: Write = (view, bytes, pos, value) => {
    if (typeof value !== "object" || value === null) {
      throw new Issue(TypeError, `expected an object, got ${describe(value)}`);
    }
    const record = value as Record<string, unknown>;
    let i = 0;
    try {
      for (; i < fixed; i++) {
        const x = record[names[i]];
        if (x === undefined || (inherited[i] && isInherited(record, names[i], x))) {
          throw new Issue(TypeError, `missing (${types[i].name})`);
        }
        writers[i](view, bytes, pos + offsetList[i], x);
      }
    } catch (e) {
      if (e instanceof Issue) e.path = `.${names[i]}${e.path}`;
      throw e;
    }
    for (let g = 0; g < gaps.length; g += 2) bytes.fill(0, pos + gaps[g], pos + gaps[g + 1]);
  };
  const read: Read = (view, bytes, pos) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < fixed; i++) out[names[i]] = readers[i](view, bytes, pos + offsetList[i]);
    return out;
  };

  const writeFlex = flexType && elementsWriter(flexType);
  const readFlex = flexType && elementsReader(flexType);
  const sizeFor = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`${name}.sizeFor(): n must be a non-negative integer, got ${String(n)}`);
    }
    if (!flexType && n > 0) throw new TypeError(`${name} has no flexible array member`);
    const bytes = flexOffset + n * step;
    if (!Number.isSafeInteger(bytes)) {
      throw new RangeError(
        `${name}.sizeFor(): ${n} elements are more bytes than a number holds exactly`,
      );
    }
    return Math.max(size, bytes);
  };

  const self: Struct<F> = made({
    kind: "struct" as const,
    name,
    cType: options.typedef ? name : `struct ${name}`,
    fields: Object.freeze({ ...fields }),
    size,
    align,
    offsets: offsets as Struct<F>["offsets"],
    sizeFor,
    encode(value: StructInput<F>, target?: Uint8Array, offset = 0): Uint8Array {
      checkOffset(offset, name);
      try {
        let list: ArrayLike<unknown> | undefined;
        let need = size;
        if (writeFlex) {
          if (typeof value !== "object" || value === null) {
            throw new Issue(TypeError, `expected an object, got ${describe(value)}`);
          }
          const x = (value as Record<string, unknown>)[flexName];
          try {
            if (x === undefined || isInherited(value as object, flexName, x)) {
              throw new Issue(TypeError, `missing (${last.name})`);
            }
            list = listOf(x, flexType);
          } catch (e) {
            if (e instanceof Issue) e.path = `.${flexName}${e.path}`;
            throw e;
          }
          need = Math.max(size, flexOffset + list.length * step);
        }
        if (target === undefined) target = new Uint8Array(offset + need);
        else if (!(target instanceof Uint8Array)) {
          throw new TypeError(`${name}: target must be a Uint8Array, got ${describe(target)}`);
        } else if (target.byteLength - offset < need) {
          detachedCheck(target, name, "target");
          throw new RangeError(
            `${name}: target too small: needs ${need} bytes at offset ${offset}, has ${target.byteLength}`,
          );
        }
        const view = viewOf(target);
        write(view, target, offset, value);
        if (writeFlex && list) {
          try {
            writeFlex(view, target, offset + flexOffset, list);
          } catch (e) {
            if (e instanceof Issue) e.path = `.${flexName}${e.path}`;
            throw e;
          }
          const written = offset + flexOffset + list.length * step;
          if (offset + need > written) target.fill(0, written, offset + need);
        }
        return target;
      } catch (e) {
        throw toError(e, name);
      }
    },
    decode(source: Uint8Array, offset = 0): StructValue<F> {
      if (!(source instanceof Uint8Array)) {
        throw new TypeError(`${name}: source must be a Uint8Array, got ${describe(source)}`);
      }
      checkOffset(offset, name);
      const available = source.byteLength - offset;
      if (available < size) {
        detachedCheck(source, name, "source");
        throw new RangeError(
          `${name}: source too small: needs ${size} bytes at offset ${offset}, has ${source.byteLength}`,
        );
      }
      const view = viewOf(source);
      const out = read(view, source, offset) as Record<string, unknown>;
      if (readFlex) {
        const count = Math.floor((available - flexOffset) / step);
        out[flexName] = readFlex(view, source, offset + flexOffset, count);
      }
      return out as StructValue<F>;
    },
  });
  structCodecs.set(self as Struct, { write, read });
  return self;
}

/** A TypeError for a view of a detached buffer, which reads as empty (rather than "too small"). */
function detachedCheck(bytes: Uint8Array, name: string, what: string): void {
  if ((bytes.buffer as ArrayBuffer).detached === true) {
    throw new TypeError(`${name}: ${what} is a view of a detached ArrayBuffer`);
  }
}
