/**
 * What bench/compare/lag.ts and its receivers (lag_child.ts, lag.c,
 * python/lag.py) share. lag.c and lag.py repeat these numbers; keep them equal.
 *
 * Every receiver gets three descriptors from lag.ts:
 *
 * - fd 3, the control page (shared memory, {@link PAGE_SIZE} bytes): the int32
 *   at {@link COMMAND} says what a woken receiver does next; the futex rows'
 *   words are the int32s from {@link FUTEX_BASE} (one per row, by row
 *   number); the POSIX semaphore rows' `sem_t` start at byte {@link SEM_BASE},
 *   {@link SEM_SIZE} bytes apart (by row number).
 * - fd 4, the write end of the ack pipe, shared by every receiver: one
 *   {@link ACK_SIZE}-byte record per message, int64 row number then int64
 *   `CLOCK_MONOTONIC` ns at which its wait returned (0 when it says "ready").
 *   A record is smaller than `PIPE_BUF`, so the writes of two receivers never
 *   mix.
 * - fd 5, the channel, where the mechanism has a descriptor of its own (pipe,
 *   socket) made by lag.ts.
 *
 * @module
 */
import type { SignalName } from "../../mod.ts";

/** Bytes of the control page. */
export const PAGE_SIZE = 4096;
/** The int32 index of the command word. */
export const COMMAND = 0;
/** Commands: take a sample (ack the time), or make {@link WAITS} waits of their own and ack "ready". */
export const SAMPLE = 1;
export const MANY = 2;
/** The int32 index of row 0's futex word. */
export const FUTEX_BASE = 16;
/** The byte offset of row 0's `sem_t`, and the room of each. */
export const SEM_BASE = 1024;
export const SEM_SIZE = 32;
/** Bytes of an ack record. */
export const ACK_SIZE = 16;
/** A receiver that says nothing for this long has failed. */
export const ACK_TIMEOUT_MS = 20_000;
/** The pending waits of the many-waits figure. */
export const WAITS = 100;
/** The signal of the C, library and Python rows (real-time: it queues, and carries a value). */
export const SIGNAL: SignalName = "SIGRTMIN+1";
/** The signal of `Deno.addSignalListener`, which takes no real-time signal (not SIGUSR1: Deno's inspector). */
export const LISTENED = "SIGUSR2" as const;
