/**
 * The struct codec: C layout rules on hand-checked structs, decode(encode(v))
 * over thousands of generated values (seeded, so failures reproduce), and the
 * error class and message of every kind of bad input.
 */
import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  array,
  type ElementType,
  type FieldType,
  flex,
  i16,
  i32,
  i64,
  i8,
  type IntType,
  layouts,
  layoutsFor,
  long,
  pointer,
  size_t,
  type Struct,
  struct,
  u16,
  u32,
  u64,
  u8,
  ulong,
} from "@libc/ipc/struct";
import { freedInChild } from "./_kernel.ts";

/** mulberry32: a small seeded PRNG, so every run sees the same cases. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)];

/** Extremes of an integer type that tests must always reach. */
function extremes(t: IntType): bigint[] {
  const values = [t.min, t.max, 0n, 1n, -1n, t.min + 1n, t.max - 1n, 2n ** 53n, -(2n ** 53n)];
  return values.filter((v) => v >= t.min && v <= t.max);
}

function randomInt(r: Random, t: IntType): bigint {
  if (r() < 0.3) return pick(r, extremes(t));
  const word = (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
  const bits = t.size * 8;
  return t.signed ? BigInt.asIntN(bits, word) : BigInt.asUintN(bits, word);
}

/** A valid input for `t` and the value decode() must give back. */
interface Case {
  input: unknown;
  expected: unknown;
}

function generate(r: Random, t: FieldType): Case {
  switch (t.kind) {
    case "int": {
      const v = randomInt(r, t);
      if (t.size < 8) return { input: Number(v), expected: Number(v) };
      // 64-bit fields take safe-integer numbers too and always decode to bigint.
      const asNumber = v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n && r() < 0.4;
      return { input: asNumber ? Number(v) : v, expected: v };
    }
    case "pointer": {
      if (r() < 0.2) return { input: null, expected: 0n };
      const v = randomInt(r, u64);
      return { input: v, expected: v };
    }
    case "array":
    case "flex": {
      const n = t.kind === "array" ? t.length : Math.floor(r() * 7);
      const cases = Array.from({ length: n }, () => generate(r, t.element));
      const input = cases.map((c) => c.input);
      const expected = cases.map((c) => c.expected);
      const e = t.element;
      if (e.kind === "int" && e.name === "u8") {
        const bytes = new Uint8Array(expected as number[]);
        return { input: r() < 0.5 ? bytes : input, expected: bytes };
      }
      if (e.kind === "int" && e.name === "i8") {
        const bytes = new Int8Array(expected as number[]);
        return { input: r() < 0.5 ? bytes : input, expected: bytes };
      }
      return { input, expected };
    }
    case "struct": {
      const input: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (const [name, f] of Object.entries(t.fields)) {
        const c = generate(r, f);
        input[name] = c.input;
        expected[name] = c.expected;
      }
      return { input, expected };
    }
  }
}

const inner = struct("inner", { a: u8, b: i64, c: array(i8, 3) });
/** Every field kind, nested arrays of structs, and a flexible array of structs. */
const synthetic = struct("synthetic", {
  f_u8: u8,
  f_i8: i8,
  f_u16: u16,
  f_i16: i16,
  f_u32: u32,
  f_i32: i32,
  f_u64: u64,
  f_i64: i64,
  f_long: long,
  f_ulong: ulong,
  f_size: size_t,
  f_ptr: pointer,
  bytes: array(u8, 5),
  sbytes: array(i8, 3),
  words: array(u32, 3),
  bigs: array(i64, 2),
  ptrs: array(pointer, 2),
  one: inner,
  many: array(inner, 2),
  grid: array(array(u16, 3), 2),
  nested: array(array(inner, 2), 2),
  tail: flex(inner),
});
const flexBytes = struct("flex_bytes", { n: u16, data: flex(i16) });
const all: Struct[] = [...Object.values(layouts), synthetic, inner, flexBytes];

Deno.test("struct() follows the C layout rules", async (t) => {
  await t.step("{ u8, u32, u16 }: offsets 0, 4, 8, size 12, align 4", () => {
    const s = struct("s", { a: u8, b: u32, c: u16 });
    deepStrictEqual({ ...s.offsets }, { a: 0, b: 4, c: 8 });
    deepStrictEqual([s.size, s.align], [12, 4]);
  });
  await t.step("{ u8, u64 }: size 16, align 8", () => {
    const s = struct("s", { a: u8, b: u64 });
    deepStrictEqual([s.offsets.b, s.size, s.align], [8, 16, 8]);
  });
  await t.step("a nested struct aligns to its own alignment", () => {
    const pair = struct("pair", { x: u8, y: u16 });
    const s = struct("s", { a: u8, p: pair, b: u8 });
    deepStrictEqual([pair.size, pair.align], [4, 2]);
    deepStrictEqual({ ...s.offsets }, { a: 0, p: 2, b: 6 });
    deepStrictEqual([s.size, s.align], [8, 2]);
  });
  await t.step("arrays align to their element", () => {
    const s = struct("s", { a: u8, b: array(u16, 3), c: array(u8, 3), d: u32 });
    deepStrictEqual({ ...s.offsets }, { a: 0, b: 2, c: 8, d: 12 });
    deepStrictEqual([s.size, s.align], [16, 4]);
  });
  await t.step("a flexible array adds alignment but no size", () => {
    const s = struct("s", { n: u32, data: flex(u64) });
    deepStrictEqual([s.offsets.data, s.size, s.align], [8, 8, 8]);
    deepStrictEqual([s.sizeFor(0), s.sizeFor(3)], [8, 32]);
    const t2 = struct("t", { a: u64, b: u8, c: flex(u16) });
    deepStrictEqual([t2.offsets.c, t2.size, t2.sizeFor(1), t2.sizeFor(4)], [10, 16, 16, 18]);
  });
  await t.step("LP64 widths", () => {
    for (const f of [u64, i64, long, ulong, size_t, pointer]) {
      deepStrictEqual([f.size, f.align], [8, 8]);
    }
  });
  await t.step("options: typedef names and extra alignment", () => {
    equal(struct("s", { a: u8 }).cType, "struct s");
    equal(struct("s_t", { a: u8 }, { typedef: true }).cType, "s_t");
    const s = struct("s", { a: array(u8, 6) }, { align: 4 });
    deepStrictEqual([s.size, s.align], [8, 4]);
    throws(() => struct("s", { a: u8 }, { align: 3 }), RangeError);
  });
  await t.step("invalid declarations throw", () => {
    throws(() => struct("s", {}), TypeError);
    throws(() => struct("s", { a: flex(u8), b: u8 }), /s\.a: a flexible array must be the last/);
    const withFlex = struct("wf", { a: u8, b: flex(u8) });
    throws(() => struct("s", { x: withFlex }), TypeError);
    throws(() => array(withFlex, 2), TypeError);
    throws(() => flex(withFlex), TypeError);
    throws(() => array(flex(u8) as unknown as ElementType, 2), TypeError);
    throws(() => array(u8, 0), RangeError);
    throws(() => array(u8, 1.5), RangeError);
    throws(() => struct("s", { a: {} as FieldType }), TypeError);
    // As C: "flexible array member in a struct with no named members".
    throws(() => struct("s", { d: flex(u8) }), /s\.d: a flexible array needs a field before it/);
    // JavaScript callers, whom TypeScript does not check, get errors naming the struct.
    throws(() => struct("hdr", null as never), {
      name: "TypeError",
      message: "struct hdr: fields must be an object of field types",
    });
    throws(() => struct("hdr", { a: u8 }, null as never), {
      name: "TypeError",
      message: "struct hdr: options must be an object",
    });
    // A truthy non-boolean would have packed the struct silently (size 5 where C has 8).
    throws(() => struct("hdr", { a: u8, b: u32 }, { packed: "no" as never }), {
      name: "TypeError",
      message: "struct hdr: options.packed must be a boolean, got string",
    });
    throws(() => struct("hdr", { a: u8 }, { typedef: 1 as never }), /options\.typedef/);
  });
  await t.step("only the layer's own field types: a hand-built one could claim any size", () => {
    // A u32 that claims 2 bytes would have its 4 bytes overwrite the next field.
    const lying = { ...u32, size: 2, align: 2 } as typeof u32;
    const notOurs = /not a field type of this layer/;
    throws(() => struct("s", { a: lying, b: u16 }), notOurs);
    throws(() => array(lying, 2), notOurs);
    throws(() => flex(lying), notOurs);
    throws(() => struct("s", { a: { ...array(u8, 2) } as FieldType }), notOurs);
    throws(() => struct("s", { a: { ...struct("t", { x: u8 }) } as FieldType }), notOurs);
  });
});

Deno.test("decode(encode(v)) returns v", async (t) => {
  const r = prng(0x5eed);
  for (const s of all) {
    await t.step(`struct ${s.name}`, () => {
      const cases = s === synthetic ? 2000 : 400;
      for (let i = 0; i < cases; i++) {
        const { input, expected } = generate(r, s);
        const bytes = s.encode(input as never);
        deepStrictEqual(s.decode(bytes), expected);
      }
    });
  }
  await t.step("the extremes of every integer type", () => {
    const types = [u8, u16, u32, u64, i8, i16, i32, i64, long, ulong, size_t];
    for (const f of types) {
      const s = struct("x", { v: f });
      for (const v of extremes(f)) {
        const input = f.size < 8 ? Number(v) : v;
        deepStrictEqual(s.decode(s.encode({ v: input } as never)), { v: input });
      }
    }
    const big = struct("big", { a: u64, b: i64, p: pointer });
    const max = { a: 2n ** 64n - 1n, b: -(2n ** 63n), p: 2n ** 64n - 1n };
    deepStrictEqual(big.decode(big.encode(max)), max);
    deepStrictEqual(big.decode(big.encode({ a: 0, b: -1, p: null })), { a: 0n, b: -1n, p: 0n });
  });
  await t.step("safe-integer numbers encode like their bigint", () => {
    const s = struct("x", { a: i64, b: u64 });
    for (
      const n of [0, 1, -1, 2 ** 32, -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 123456789012]
    ) {
      const b = Math.abs(n);
      deepStrictEqual(s.encode({ a: n, b }), s.encode({ a: BigInt(n), b: BigInt(b) }));
    }
  });
});

Deno.test("encode() and decode() at an offset in a shared buffer", async (t) => {
  const { sembuf, msgbuf, msghdr } = layouts;
  await t.step("in place, returning the target", () => {
    const ops = new Uint8Array(sembuf.size * 3);
    const values = [0, 1, 2].map((i) => ({ sem_num: i, sem_op: i - 1, sem_flg: 0x1000 }));
    values.forEach((v, i) => equal(sembuf.encode(v, ops, i * sembuf.size), ops));
    values.forEach((v, i) => deepStrictEqual(sembuf.decode(ops, i * sembuf.size), v));
  });
  await t.step("through a subarray view", () => {
    const whole = new Uint8Array(64);
    const view = whole.subarray(10, 40);
    sembuf.encode({ sem_num: 7, sem_op: -7, sem_flg: 0 }, view, 2);
    deepStrictEqual(sembuf.decode(whole, 12), { sem_num: 7, sem_op: -7, sem_flg: 0 });
  });
  await t.step("padding is zeroed in a reused buffer", () => {
    const bytes = new Uint8Array(msghdr.size).fill(0xaa);
    msghdr.encode({
      msg_name: null,
      msg_namelen: 0,
      msg_iov: null,
      msg_iovlen: 0,
      msg_control: null,
      msg_controllen: 0,
      msg_flags: 0,
    }, bytes);
    deepStrictEqual(bytes, new Uint8Array(msghdr.size));
  });
  await t.step("a flexible array takes the whole elements left", () => {
    const bytes = msgbuf.encode({ mtype: 3n, mtext: [1, 2, 3] });
    equal(bytes.length, msgbuf.sizeFor(3));
    deepStrictEqual(msgbuf.decode(bytes.subarray(0, 9)).mtext, new Uint8Array([1]));
    deepStrictEqual(flexBytes.decode(new Uint8Array(7)).data, [0, 0]);
    deepStrictEqual(flexBytes.decode(new Uint8Array(2)).data, []);
  });
  await t.step("decoded byte arrays are copies", () => {
    const bytes = msgbuf.encode({ mtype: 1, mtext: [5] });
    const { mtext } = msgbuf.decode(bytes);
    bytes[8] = 6;
    equal(mtext[0], 5);
  });
});

/** Where a bad value goes: a path of member names and indices, and how errors name it. */
interface Site {
  path: (string | number)[];
  label: string;
  type: FieldType;
}

/** Every member of `t` (arrays: first and last element), depth first. */
function* sites(t: FieldType, path: (string | number)[] = [], label = ""): Generator<Site> {
  if (path.length > 0) yield { path, label, type: t };
  if (t.kind === "struct") {
    for (const [name, f] of Object.entries(t.fields)) {
      yield* sites(f, [...path, name], `${label}.${name}`);
    }
  } else if (t.kind === "array") {
    for (const i of new Set([0, t.length - 1])) {
      yield* sites(t.element, [...path, i], `${label}[${i}]`);
    }
  }
}

type ErrorClass = typeof TypeError | typeof RangeError;

/** Bad values for a member of type `t`, each with the error it must raise. */
function badValues(t: FieldType): [unknown, ErrorClass][] {
  const wrongTypes: [unknown, ErrorClass][] = [["1", TypeError], [true, TypeError], [
    {},
    TypeError,
  ]];
  switch (t.kind) {
    case "int": {
      const [lo, hi] = [Number(t.min), Number(t.max)];
      if (t.size < 8) {
        return [
          [hi + 1, RangeError],
          [lo - 1, RangeError],
          [0.5, RangeError],
          [NaN, RangeError],
          [Infinity, RangeError],
          [1n, TypeError],
          [null, TypeError],
          ...wrongTypes,
        ];
      }
      return [
        [t.max + 1n, RangeError],
        [t.min - 1n, RangeError],
        [2 ** 53, RangeError],
        [-(2 ** 60), RangeError],
        [1.5, RangeError],
        [null, TypeError],
        ...(t.signed ? [] : [[-1, RangeError], [-1n, RangeError]] as [unknown, ErrorClass][]),
        ...wrongTypes,
      ];
    }
    case "pointer":
      return [[-1n, RangeError], [2n ** 64n, RangeError], [5, TypeError], ...wrongTypes];
    case "array": {
      const tooLong = Array.from({ length: t.length + 1 }, () => 0);
      return [
        [tooLong, RangeError],
        [[], RangeError],
        [new Uint8Array(t.length + 1), RangeError],
        [
          "abc",
          TypeError,
        ],
        [5, TypeError],
        [{}, TypeError],
      ];
    }
    case "flex":
      return [["abc", TypeError], [5, TypeError], [{}, TypeError], [null, TypeError]];
    case "struct":
      return [[5, TypeError], [null, TypeError], ["x", TypeError]];
  }
}

/** A deep copy of `value` with `bad` at `path` (`undefined` deletes the member). */
function replaced(value: unknown, path: (string | number)[], bad: unknown): unknown {
  const [head, ...rest] = path;
  // A typed array would wrap the bad value silently: copy it into a plain array.
  const copy =
    (ArrayBuffer.isView(value)
      ? Array.from(value as Uint8Array)
      : Array.isArray(value)
      ? [...value]
      : { ...(value as object) }) as Record<string | number, unknown>;
  if (rest.length > 0) copy[head] = replaced(copy[head], rest, bad);
  else if (bad === undefined && !Array.isArray(copy)) delete copy[head];
  else copy[head] = bad;
  return copy;
}

Deno.test("encode() rejects every bad input, naming struct and member", async (t) => {
  const r = prng(42);
  let count = 0;
  const perStruct = new Map<string, number>();
  for (const s of all) {
    await t.step(`struct ${s.name}`, () => {
      const valid = generate(r, s).input;
      for (const site of sites(s)) {
        const bad: [unknown, ErrorClass][] = [...badValues(site.type)];
        if (typeof site.path.at(-1) === "string") bad.push([undefined, TypeError]);
        for (const [value, error] of bad) {
          const input = replaced(valid, site.path, value);
          const where = `${s.name}${site.label}`;
          throws(() => s.encode(input as never), (e: unknown) => {
            if (!(e instanceof error) || e.constructor !== error) {
              throw new Error(`${where} = ${String(value)}: expected ${error.name}, got ${e}`);
            }
            if (!e.message.startsWith(`${where}: `)) {
              throw new Error(`${where} = ${String(value)}: message ${e.message}`);
            }
            return true;
          });
          count++;
          perStruct.set(s.name, (perStruct.get(s.name) ?? 0) + 1);
        }
      }
    });
  }
  await t.step(`${count} bad inputs checked`, () => {
    // Every struct had bad values tried, at least one for each of its members.
    const short = all.filter((s) => !((perStruct.get(s.name) ?? 0) >= [...sites(s)].length));
    deepStrictEqual(short.map((s) => s.name), []);
    equal([...perStruct.values()].reduce((a, b) => a + b, 0), count);
  });
  await t.step("messages", () => {
    const { sembuf, msgbuf, sockaddr_in6 } = layouts;
    throws(
      () => sembuf.encode({ sem_num: 0, sem_op: 40000, sem_flg: 0 }),
      {
        name: "RangeError",
        message: "sembuf.sem_op: 40000 is out of range for i16 (-32768..32767)",
      },
    );
    throws(() => sembuf.encode({ sem_num: 0, sem_op: 1 } as never), {
      name: "TypeError",
      message: "sembuf.sem_flg: missing (i16)",
    });
    throws(() => msgbuf.encode({ mtype: 1, mtext: [0, 256] }), {
      message: "msgbuf.mtext[1]: 256 is out of range for u8 (0..255)",
    });
    throws(() => msgbuf.encode({ mtype: 2 ** 63, mtext: [] }), {
      message: "msgbuf.mtype: 9223372036854776000 is not a safe integer; pass a bigint for long",
    });
    throws(() => sockaddr_in6.encode(null as never), {
      name: "TypeError",
      message: "sockaddr_in6: expected an object, got null",
    });
    // No bigint can help a negative value into an unsigned field.
    throws(() => struct("v", { v: u64 }).encode({ v: -(2 ** 53) }), {
      name: "RangeError",
      message: "v.v: -9007199254740992 is out of range for u64 (0..18446744073709551615)",
    });
    throws(() => struct("v", { v: u64 }).encode({ v: 2 ** 70 }), /is out of range for u64/);
  });
  await t.step("a member named like an Object.prototype member is missing, not a function", () => {
    const s = struct("s", { toString: u32, valueOf: pointer });
    throws(() => s.encode({ valueOf: null } as never), {
      name: "TypeError",
      message: "s.toString: missing (u32)",
    });
    throws(() => s.encode({ toString: 1 } as never), {
      name: "TypeError",
      message: "s.valueOf: missing (pointer)",
    });
    throws(() => struct("f", { n: u32, valueOf: flex(u8) }).encode({ n: 1 } as never), {
      name: "TypeError",
      message: "f.valueOf: missing (u8[])",
    });
    deepStrictEqual(s.decode(s.encode({ toString: 7, valueOf: null })), {
      toString: 7,
      valueOf: 0n,
    });
  });
});

Deno.test("buffer bounds are checked, never truncated", async (t) => {
  const { sembuf, msgbuf } = layouts;
  const op = { sem_num: 1, sem_op: 1, sem_flg: 0 };
  await t.step("target too small", () => {
    throws(() => sembuf.encode(op, new Uint8Array(5)), {
      name: "RangeError",
      message: "sembuf: target too small: needs 6 bytes at offset 0, has 5",
    });
    throws(() => sembuf.encode(op, new Uint8Array(8), 3), RangeError);
    throws(
      () => msgbuf.encode({ mtype: 1, mtext: new Uint8Array(9) }, new Uint8Array(16)),
      RangeError,
    );
    sembuf.encode(op, new Uint8Array(8), 2);
  });
  await t.step("source too small", () => {
    throws(() => sembuf.decode(new Uint8Array(5)), {
      name: "RangeError",
      message: "sembuf: source too small: needs 6 bytes at offset 0, has 5",
    });
    throws(() => sembuf.decode(new Uint8Array(8), 3), RangeError);
    throws(() => msgbuf.decode(new Uint8Array(7)), RangeError);
  });
  await t.step("bad offsets and buffers", () => {
    for (const offset of [-1, 1.5, NaN]) {
      throws(() => sembuf.encode(op, new Uint8Array(16), offset), RangeError);
      throws(() => sembuf.decode(new Uint8Array(16), offset), RangeError);
    }
    throws(() => sembuf.encode(op, [] as never), TypeError);
    throws(() => sembuf.decode(new ArrayBuffer(8) as never), TypeError);
    // A view of a detached buffer reads as empty: a TypeError that says so, not "too small".
    const detached = new Uint8Array(8);
    detached.buffer.transfer();
    throws(() => sembuf.encode(op, detached), { name: "TypeError", message: /detached/ });
    throws(() => sembuf.decode(detached), { name: "TypeError", message: /detached/ });
  });
  await t.step("a resizable buffer that shrank: what is left is used, as any buffer", () => {
    const rab = new ArrayBuffer(16, { maxByteLength: 64 });
    const bytes = new Uint8Array(rab); // tracks the buffer's length
    sembuf.encode(op, bytes, 8);
    rab.resize(8);
    sembuf.encode(op, bytes);
    deepStrictEqual(sembuf.decode(bytes), op);
  });
  await t.step("decoded bytes are copies, from any Uint8Array (a Node Buffer too)", () => {
    const source = Buffer.from(msgbuf.encode({ mtype: 1, mtext: new Uint8Array([1, 2, 3]) }));
    const { mtext } = msgbuf.decode(source);
    source.fill(9);
    deepStrictEqual([mtext.constructor, [...mtext]], [Uint8Array, [1, 2, 3]]);
  });
  await t.step("an array or flexible array given as a view of a detached buffer", () => {
    const words = struct("words", { n: u32, w: flex(u32) });
    for (const gone of [new Uint32Array(2), new Uint8Array(4)]) {
      gone.buffer.transfer();
      // It read as no elements, and the message went without them.
      throws(() => words.encode({ n: 2, w: gone as never }), /words\.w: .*detached/);
      throws(() => msgbuf.encode({ mtype: 1, mtext: gone as never }), /detached/);
    }
  });
  await t.step("sizes and alignments past what a number holds exactly", () => {
    throws(() => array(array(u64, 2 ** 30), 2 ** 30), RangeError);
    throws(() => struct("a", { a: array(u8, 2 ** 52), b: array(u8, 2 ** 52) }), RangeError);
    for (const align of [3 * 2 ** 32, 2 ** 32 + 2 ** 31, 2 ** 31]) {
      throws(() => struct("a", { a: u8 }, { align }), RangeError, String(align));
    }
    equal(struct("a", { a: u8 }, { align: 2 ** 30 }).align, 2 ** 30);
  });
  await t.step("sizeFor()", () => {
    throws(() => msgbuf.sizeFor(-1), RangeError);
    throws(() => msgbuf.sizeFor(0.5), RangeError);
    throws(() => sembuf.sizeFor(1), TypeError);
    // More bytes than a number holds exactly: refused, never rounded.
    throws(() => msgbuf.sizeFor(Number.MAX_SAFE_INTEGER), RangeError);
    equal(sembuf.sizeFor(0), sembuf.size);
  });
});

Deno.test("encode() and decode() keep no large buffer of the caller alive", async () => {
  // A 64 MiB target, once encoded into and decoded from, then dropped, must be freed (a
  // DataView cached for it would keep it).
  const module = new URL("../ffi/struct/mod.ts", import.meta.url).href;
  const freed = await freedInChild(
    `import { struct, u32 } from "${module}"; const s = struct("header", { len: u32 });`,
    `const big = new Uint8Array(64 * 1024 * 1024);
     s.encode({ len: 4 }, big);
     s.decode(big);
     return big.buffer;`,
  );
  equal(freed, true);
});

Deno.test("layouts of an unsupported platform throw NotSupported when used", () => {
  const other = layoutsFor("plan9", "mips");
  throws(() => other.sembuf, Deno.errors.NotSupported);
  throws(() => other.msgbuf, /no struct layouts for plan9 mips/);
  equal(layoutsFor("linux", "x86_64").sembuf.size, 6);
});
