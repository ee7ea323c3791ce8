/**
 * What bench/compare/shm.ts, its Deno child (shm_child.ts) and its C program
 * (shm.c) share: the layout of the shared page, and the raw libc calls of
 * the "floor" rows (blocking futex, semop, sem_wait/sem_post through a plain
 * `Deno.dlopen`, as C makes them).
 *
 * The page: the int32 word GO (0); a `sem_t` at byte SEM (64) and another at
 * SEM + 32; the data of the copy rows from byte DATA (4096).
 *
 * @module
 */
import { LIBC_PATH } from "../../ffi/platform.ts";

/** Int32 index of the word the sender moves. */
export const GO = 0;
/** Byte offsets of two sem_t. */
export const SEM = 64;
export const SEM2 = 96;
/** Byte offset of the data of the copy rows. */
export const DATA = 4096;

const SYS_FUTEX = 202n;
const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;

const symbols = {
  futex: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "pointer", "pointer", "u32"],
    result: "i32",
  },
  semop: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sem_wait: { parameters: ["pointer"], result: "i32" },
  sem_post: { parameters: ["pointer"], result: "i32" },
} as const;

let raw: Deno.DynamicLibrary<typeof symbols>["symbols"] | undefined;
const lib = () => raw ??= Deno.dlopen(LIBC_PATH, symbols).symbols;

/** A pointer to `words[i]`. */
export function wordPointer(words: Int32Array, i: number): Deno.PointerObject {
  return Deno.UnsafePointer.offset(Deno.UnsafePointer.of(words)!, i * 4)!;
}

/** The blocking futex wait of C, on the word at `word` while it holds `value`. */
export function rawWait(word: Deno.PointerObject, value: number): void {
  lib().futex(SYS_FUTEX, word, FUTEX_WAIT, value, null, null, 0);
}

/** Wakes one waiter of the word at `word`. */
export function rawWake(word: Deno.PointerObject): void {
  lib().futex(SYS_FUTEX, word, FUTEX_WAKE, 1, null, null, 0);
}

const sembuf = new Int16Array(3);
const sembufBytes = new Uint8Array(sembuf.buffer);

/** A blocking semop of one member. */
export function rawSemop(id: number, index: number, delta: number): void {
  sembuf[0] = index;
  sembuf[1] = delta;
  sembuf[2] = 0;
  while (lib().semop(id, sembufBytes, 1) < 0) { /* EINTR */ }
}

/** sem_wait / sem_post on a sem_t at `pointer`. */
export function rawSemWait(pointer: Deno.PointerObject): void {
  while (lib().sem_wait(pointer) < 0) { /* EINTR */ }
}
export function rawSemPost(pointer: Deno.PointerObject): void {
  lib().sem_post(pointer);
}
