/**
 * A view's own buffer, offset and length, through the built-in getters: an
 * own property of the object, or a subclass's getter, can redefine what
 * `view.buffer`, `view.byteOffset` or `view.length` say, never what these
 * return. (The address, through `Deno.UnsafePointer.of`, says the same at ten
 * times the cost.)
 */

/** `%TypedArray%.prototype`, which every typed array's chain ends in. */
export const TYPED_ARRAY: object = Object.getPrototypeOf(Uint8Array.prototype);

const builtIn = <T>(proto: object, name: string) =>
  Object.getOwnPropertyDescriptor(proto, name)!.get! as (this: ArrayBufferView) => T;
const BUFFER = {
  typed: builtIn<ArrayBufferLike>(TYPED_ARRAY, "buffer"),
  data: builtIn<ArrayBufferLike>(DataView.prototype, "buffer"),
};
const OFFSET = {
  typed: builtIn<number>(TYPED_ARRAY, "byteOffset"),
  data: builtIn<number>(DataView.prototype, "byteOffset"),
};
const LENGTH = builtIn<number>(TYPED_ARRAY, "length");
const AT = (TYPED_ARRAY as { at(i: number): unknown }).at;

/** The buffer `view` is over. */
export const bufferOf = (view: ArrayBufferView): ArrayBufferLike =>
  (view instanceof DataView ? BUFFER.data : BUFFER.typed).call(view);

/** Where `view` starts in its buffer. */
export const byteOffsetOf = (view: ArrayBufferView): number =>
  (view instanceof DataView ? OFFSET.data : OFFSET.typed).call(view);

/** A typed array's element count: 0 once its buffer is detached. */
export const lengthOf = (view: ArrayBufferView): number => LENGTH.call(view);

/**
 * Whether a typed array can be read: `%TypedArray%.prototype.at` throws for
 * one over a detached buffer, or past the end of a resizable one that shrank.
 */
export function isReadable(view: ArrayBufferView): boolean {
  try {
    AT.call(view, 0);
    return true;
  } catch {
    return false;
  }
}
