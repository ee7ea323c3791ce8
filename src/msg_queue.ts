/**
 * System V message queues: `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)`,
 * with the typed `msgbuf` of the struct layer.
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";
import { clearErrno, errno, libc } from "../ffi/libc.ts";
import { C, ERRNO } from "../ffi/platform.ts";
import { layouts } from "../ffi/struct/layouts.ts";
import { closedError, errorFromCode, lastError } from "./errors.ts";
import { type PathLike, pathText } from "./_path.ts";
import { procSysInt } from "./_proc.ts";
import {
  AGAIN,
  checkWaitOptions,
  deadlineOf,
  Spinner,
  untilDone,
  type WaitOptions,
} from "./_wait.ts";
import { bytesOf, checkMode } from "./_check.ts";

/** The type of a message: a C `long`, positive when sending. */
export type MessageType = number | bigint;

/** A message taken from a queue. */
export interface Message {
  /** Its type; a `number` when it fits one safely, else a `bigint`. */
  type: MessageType;
  /** Its bytes (a copy the caller owns). */
  data: Uint8Array;
}

/** Options of {@link MessageQueue.open}. */
export interface MessageQueueOptions {
  /** Create the queue if it does not exist (`IPC_CREAT`). Default `false`. */
  create?: boolean;
  /** With `create`: fail with `AlreadyExists` if it exists (`IPC_EXCL`). */
  exclusive?: boolean;
  /** Permission bits of a new queue. Default `0o600`: owner only. */
  mode?: number;
}

/** Options of {@link MessageQueue.send} and {@link MessageQueue.sendSync}. */
export interface SendOptions extends WaitOptions {
  /** The message type, an integer ≥ 1 (default 1). */
  type?: MessageType;
  /** Wait while the queue is full (default `true`); `false` throws `WouldBlock` instead. */
  wait?: boolean;
}

/** Options of {@link MessageQueue.receive} and {@link MessageQueue.receiveSync}. */
export interface ReceiveOptions extends WaitOptions {
  /**
   * Which message: `0` (default) the first one; `n > 0` the first of type `n`
   * (with `except`, the first of any other type); `n < 0` the first of the
   * lowest type ≤ |n|, which makes types priorities.
   */
  type?: MessageType;
  /** Take the first message whose type is *not* `type` (`MSG_EXCEPT`; needs `type > 0`). */
  except?: boolean;
  /**
   * Truncate a message longer than `maxSize` (`MSG_NOERROR`). Without it such a
   * message is refused with `E2BIG` and stays in the queue.
   */
  noError?: boolean;
  /** The largest message to accept, in bytes. Default: the kernel's `msgmax`. */
  maxSize?: number;
  /** Wait for a message (default `true`); `false` throws `WouldBlock` when there is none. */
  wait?: boolean;
}

/** What `msgctl(IPC_STAT)` reports about a queue. */
export interface MessageQueueStat {
  /** The queue's key (0 for a private queue). */
  key: number;
  /** Messages in the queue now. */
  messages: number;
  /** Bytes in the queue now. */
  bytes: number;
  /** The most bytes the queue holds (`msg_qbytes`). */
  maxBytes: number;
  /** Pid of the last `msgsnd`, 0 if none. */
  lastSendPid: number;
  /** Pid of the last `msgrcv`, 0 if none. */
  lastReceivePid: number;
  /** Time of the last `msgsnd`, or `null`. */
  lastSend: Date | null;
  /** Time of the last `msgrcv`, or `null`. */
  lastReceive: Date | null;
  /** Time of the last change (creation or `IPC_SET`). */
  lastChange: Date;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Creator's user id. */
  creatorUid: number;
  /** Creator's group id. */
  creatorGid: number;
  /** Permission bits. */
  mode: number;
}

const LONG_MAX = 2n ** 63n - 1n;
const MTYPE = 8; // sizeof(long): where mtext starts in a msgbuf

/** The kernel's limit `kernel.<name>`, or a RangeError-friendly fallback. */
function kernelLimit(name: "msgmax" | "msgmnb"): number {
  return procSysInt(`kernel/${name}`) ?? (name === "msgmax" ? 8192 : 16384);
}

/** msgmax as last read: re-read only when a message looks too large for it. */
let msgmaxCached = -1;
function msgmaxAtLeast(size: number): number {
  if (msgmaxCached < 0 || size > msgmaxCached) msgmaxCached = kernelLimit("msgmax");
  return msgmaxCached;
}

/** A C `long` from a number or bigint, range-checked. */
function longOf(value: unknown, what: string, min: bigint): bigint {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) v = BigInt(value);
  else throw new TypeError(`${what} must be an integer (number or bigint), got ${String(value)}`);
  if (v < min || v > LONG_MAX) throw new RangeError(`${what} must be ${min}..2^63-1, got ${v}`);
  return v;
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;
function typeOut(v: bigint): MessageType {
  return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v;
}

function timeOf(seconds: bigint): Date | null {
  return seconds === 0n ? null : new Date(Number(seconds) * 1000);
}

/**
 * A System V message queue. Messages carry a type (a C `long` ≥ 1) that
 * receivers select by: exactly, by priority (lowest type first), or by
 * exclusion. The queue outlives every process until {@link MessageQueue.remove}.
 *
 * Wraps `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)` and `ftok(3)`.
 * Needs `--allow-ffi`.
 *
 * @example Parent and child, as in the classic tutorial
 * ```ts ignore
 * import { MessageQueue, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using q = MessageQueue.fromId(Number(Deno.args[1]));
 *   const { data } = await q.receive({ type: 1 });
 *   console.log(`Child process received: ${new TextDecoder().decode(data)}`);
 * } else {
 *   using q = MessageQueue.open("private");
 *   try {
 *     const child = spawn(import.meta.url, { args: ["child", String(q.id)] });
 *     await q.send("Hello from parent process", { type: 1 });
 *     await child.status;
 *   } finally {
 *     q.remove();
 *   }
 * }
 * ```
 */
export class MessageQueue implements Disposable {
  /** The queue id (`msqid`). */
  readonly id: number;
  /** The key it was opened by (0 for `"private"` or {@link MessageQueue.fromId}). */
  readonly key: number;
  #closed = false;
  #sendBuf = new Uint8Array(MTYPE + 256);
  #sendView = new DataView(this.#sendBuf.buffer);
  #recvBuf = new Uint8Array(0);
  #recvView = new DataView(this.#recvBuf.buffer);
  #sendSpinner = new Spinner();
  #recvSpinner = new Spinner();
  #waits = new Set<AbortController>();
  #maxBytes = -1;

  /** Whether the id has named a queue for this handle: a later EINVAL then means it was removed. */
  #known: boolean;

  private constructor(id: number, key: number, known: boolean) {
    this.id = id;
    this.key = key;
    this.#known = known;
  }

  /**
   * Opens (or with `create`, creates) the queue of `key` (`msgget(2)`).
   *
   * Needs `--allow-ffi`.
   *
   * @param key a key (a 32-bit integer, e.g. from {@link MessageQueue.ftok}) or
   *   `"private"` for a new queue only this process knows the id of (`IPC_PRIVATE`)
   * @param options `create`, `exclusive`, `mode` (default 0600)
   * @returns the queue
   * @throws {TypeError} when `key` is neither a 32-bit integer nor `"private"`
   * @throws {RangeError} for key 0 (that is `IPC_PRIVATE`: pass `"private"`), or a `mode` outside 0..0o777
   * @throws {Deno.errors.NotFound} no queue has that key and `create` is not set
   * @throws {Deno.errors.AlreadyExists} with `create` and `exclusive`, when it exists
   * @throws {Deno.errors.PermissionDenied} when the mode denies this user
   * @throws {IpcError} ENOSPC when the system has `kernel.msgmni` queues already
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * q.sendSync("hi", { type: 3 });
   * console.log(q.receiveSync().type); // 3
   * q.remove();
   * ```
   */
  static open(key: number | "private", options: MessageQueueOptions = {}): MessageQueue {
    const k = key === "private" ? C.IPC_PRIVATE : key;
    if (typeof k !== "number" || !Number.isInteger(k) || k < -(2 ** 31) || k >= 2 ** 32) {
      throw new TypeError(`key must be a 32-bit integer or "private", got ${String(key)}`);
    }
    // msgget(0) is IPC_PRIVATE: it would create a new queue even without `create`.
    if (key === 0) {
      throw new RangeError('key 0 is IPC_PRIVATE: pass "private" for a new private queue');
    }
    const mode = checkMode(options.mode);
    const flags = mode | (key === "private" || options.create ? C.IPC_CREAT : 0) |
      (options.exclusive ? C.IPC_EXCL : 0);
    const key32 = k | 0;
    const id = libc.msgget(key32, flags);
    if (id < 0) throw lastError("msgget", { key: key32 });
    return new MessageQueue(id, key === "private" ? 0 : key32, true);
  }

  /**
   * Uses an existing queue by its id (e.g. one a parent passed on), checking it
   * exists with `msgctl(IPC_STAT)`, which needs read permission on the queue.
   *
   * Wraps `msgctl(2)`. Needs `--allow-ffi`.
   *
   * @param id the queue id
   * @returns the queue
   * @throws {TypeError} when `id` is not an integer 0..2^31-1
   * @throws {IpcError} EINVAL when no queue has that id
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * using same = MessageQueue.fromId(q.id);
   * console.log(same.stat().messages); // 0
   * q.remove();
   * ```
   */
  static fromId(id: number): MessageQueue {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new TypeError(`id must be a non-negative 32-bit integer, got ${id}`);
    }
    const q = new MessageQueue(id, 0, false);
    q.stat();
    q.#known = true;
    return q;
  }

  /**
   * Derives a key from an existing file and a project id (`ftok(3)`): processes
   * that agree on both get the same queue. The key is built from the file's
   * device and inode numbers, so a file deleted and created again may give another key.
   *
   * Needs `--allow-ffi`.
   *
   * @param path an existing file
   * @param projId 1..255 (only the low 8 bits count, and 0 is not allowed)
   * @returns the key
   * @throws {TypeError} for an empty path, a path with a NUL, or a URL that is not `file:`
   * @throws {RangeError} when `projId` is not an integer 1..255
   * @throws {Deno.errors.NotFound} when `path` does not exist
   * @throws {Deno.errors.PermissionDenied} when a directory on the way to `path` is not searchable
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * const key = MessageQueue.ftok("/", 65);
   * console.log(typeof key); // "number"
   * ```
   */
  static ftok(path: PathLike, projId: number): number {
    const p = pathText(path);
    if (!Number.isInteger(projId) || projId < 1 || projId > 255) {
      throw new RangeError(`projId must be an integer 1..255, got ${projId}`);
    }
    clearErrno();
    const key = libc.ftok(cString(p, "path"), projId);
    // -1 is also a valid key (projId ≥ 128): only errno tells a failure.
    if (key === -1 && errno() !== 0) throw lastError("ftok", { path: p });
    return key;
  }

  #check(): void {
    if (this.#closed) throw closedError(`message queue ${this.id}`);
  }

  #error(syscall: string, code = errno()): Error {
    // A queue removed while we waited by polling (or before this call) is EINVAL
    // to every call; only a caller asleep in the kernel sees EIDRM. Say EIDRM
    // whenever the id that named this handle's queue names none any more.
    if (code === ERRNO.EINVAL && this.#known && this.#gone()) code = ERRNO.EIDRM;
    return errorFromCode(code, syscall, { id: this.id });
  }

  #gone(): boolean {
    return libc.msgctl(this.id, C.IPC_STAT, new Uint8Array(layouts.msqid_ds.size)) < 0;
  }

  /** Lays `data` out as a msgbuf in the send buffer; returns its mtext size. */
  #prepareSend(data: Uint8Array | string, options: SendOptions | undefined): number {
    this.#check();
    const bytes = bytesOf(data);
    const type = longOf(options?.type ?? 1, "type", 1n);
    const msgmax = msgmaxAtLeast(bytes.byteLength);
    if (bytes.byteLength > msgmax) {
      throw new RangeError(
        `message of ${bytes.byteLength} bytes exceeds the kernel's msgmax (${msgmax} bytes, /proc/sys/kernel/msgmax)`,
      );
    }
    if (bytes.byteLength > this.#queueBytes(bytes.byteLength)) {
      throw new RangeError(
        `message of ${bytes.byteLength} bytes can never fit: the queue holds ${this.#maxBytes} bytes (setMaxBytes)`,
      );
    }
    if (this.#sendBuf.byteLength < MTYPE + bytes.byteLength) {
      this.#sendBuf = new Uint8Array(
        MTYPE + Math.max(bytes.byteLength, 2 * this.#sendBuf.byteLength),
      );
      this.#sendView = new DataView(this.#sendBuf.buffer);
    }
    this.#sendView.setBigInt64(0, type, true);
    this.#sendBuf.set(bytes, MTYPE);
    return bytes.byteLength;
  }

  /** The queue's capacity, refreshed when a message looks too large for what we knew. */
  #queueBytes(size: number): number {
    if (this.#maxBytes < 0 || size > this.#maxBytes) {
      const buf = new Uint8Array(layouts.msqid_ds.size);
      // A sender may lack read permission (IPC_STAT): then the kernel alone decides.
      if (libc.msgctl(this.id, C.IPC_STAT, buf) < 0) return Infinity;
      this.#maxBytes = Number(layouts.msqid_ds.decode(buf).msg_qbytes);
    }
    return this.#maxBytes;
  }

  #trySend(buf: Uint8Array, size: number): void | typeof AGAIN {
    for (;;) {
      if (libc.msgsnd(this.id, buf, size, C.IPC_NOWAIT) === 0) return;
      const code = errno();
      if (code === ERRNO.EAGAIN) return AGAIN;
      if (code !== ERRNO.EINTR) throw this.#error("msgsnd", code);
    }
  }

  /**
   * Sends a message (`msgsnd(2)`), waiting without blocking the event loop while the queue is full.
   * An aborted `signal` rejects with its reason.
   *
   * Waiting spins briefly, then polls with sleeps that grow to 10 ms (see
   * {@link MessageQueue.receive}). Before the first send, and when a message is
   * larger than the capacity last read, the capacity is read with
   * `msgctl(IPC_STAT)`, which needs read permission on the queue.
   *
   * Needs `--allow-ffi`.
   *
   * @param data the bytes, or a string sent as UTF-8
   * @param options `type` (default 1), `wait`, `signal`, `timeout`
   * @returns a promise that resolves once the message is in the queue
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string, `type` is not an integer, or `signal` not an AbortSignal
   * @throws {RangeError} when the message exceeds `msgmax` or can never fit the queue, `type` is outside 1..2^63-1, or `timeout` is not a number ≥ 0
   * @throws {Deno.errors.WouldBlock} with `wait: false` when the queue is full
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   * @throws {Deno.errors.PermissionDenied} when this user may not write the queue (or read its capacity)
   * @throws {IpcError} EIDRM when the queue is removed meanwhile (EINVAL from `msgctl` when it
   *   was removed before its capacity was read)
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * await q.send(new Uint8Array([1, 2, 3]), { type: 7 });
   * q.remove();
   * ```
   */
  send(data: Uint8Array | string, options?: SendOptions): Promise<void> {
    try {
      checkWaitOptions(options);
      if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
      const size = this.#prepareSend(data, options);
      if (this.#trySend(this.#sendBuf, size) !== AGAIN) return Promise.resolve();
      if (options?.wait === false) throw this.#error("msgsnd", ERRNO.EAGAIN);
      // The shared send buffer belongs to the next call: a waiting send keeps its own copy.
      const own = this.#sendBuf.slice(0, MTYPE + size);
      return this.#waiting(
        options,
        (signal, deadline) =>
          untilDone(() => this.#trySend(own, size), signal, deadline, this.#sendSpinner, true),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Sends a message, blocking the thread while the queue is full (the kernel
   * wakes it at once when there is room, or when the queue is removed). The
   * capacity is read first as for {@link MessageQueue.send}.
   *
   * Wraps `msgsnd(2)`. Needs `--allow-ffi`.
   *
   * @param data the bytes, or a string sent as UTF-8
   * @param options `type` (default 1), `wait`
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string, or `type` is not an integer
   * @throws {RangeError} when the message exceeds `msgmax` or can never fit the queue, or `type` is outside 1..2^63-1
   * @throws {Deno.errors.WouldBlock} with `wait: false` when the queue is full
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {Deno.errors.PermissionDenied} when this user may not write the queue (or read its capacity)
   * @throws {IpcError} EIDRM when the queue is removed (EINVAL from `msgctl` when it was removed
   *   before its capacity was read)
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * q.sendSync("hello", { type: 2 });
   * q.remove();
   * ```
   */
  sendSync(data: Uint8Array | string, options?: Omit<SendOptions, "signal" | "timeout">): void {
    const size = this.#prepareSend(data, options);
    const flags = options?.wait === false ? C.IPC_NOWAIT : 0;
    while (libc.msgsnd(this.id, this.#sendBuf, size, flags) !== 0) {
      const code = errno();
      if (code !== ERRNO.EINTR) throw this.#error("msgsnd", code);
    }
  }

  #receiveArgs(options: ReceiveOptions | undefined): { type: bigint; flags: number; max: number } {
    this.#check();
    const type = longOf(options?.type ?? 0, "type", -LONG_MAX);
    const max = options?.maxSize ?? msgmaxAtLeast(0);
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff - MTYPE) {
      throw new RangeError(`maxSize must be an integer 0..${0x7fffffff - MTYPE}, got ${max}`);
    }
    if (options?.except && type <= 0n) throw new RangeError("except needs a type > 0");
    let flags = 0;
    if (options?.except) flags |= C.MSG_EXCEPT;
    if (options?.noError) flags |= C.MSG_NOERROR;
    // No message exceeds msgmax: a larger maxSize needs no larger buffer.
    const size = Math.min(max, msgmaxAtLeast(max));
    if (this.#recvBuf.byteLength < MTYPE + size) {
      this.#recvBuf = new Uint8Array(MTYPE + size);
      this.#recvView = new DataView(this.#recvBuf.buffer);
    }
    return { type, flags, max: size };
  }

  #tryReceive(type: bigint, flags: number, max: number): Message | typeof AGAIN {
    for (;;) {
      const n = libc.msgrcv(this.id, this.#recvBuf, max, type, flags | C.IPC_NOWAIT);
      if (n >= 0) return this.#message(n);
      const code = errno();
      if (code === ERRNO.ENOMSG) return AGAIN;
      if (code !== ERRNO.EINTR) throw this.#error("msgrcv", code);
    }
  }

  #message(n: number): Message {
    return {
      type: typeOut(this.#recvView.getBigInt64(0, true)),
      data: this.#recvBuf.slice(MTYPE, MTYPE + n),
    };
  }

  /**
   * Takes a message (`msgrcv(2)`), waiting without blocking the event loop
   * until one of the wanted type arrives.
   *
   * Waiting first spins briefly, then polls with sleeps that grow to 10 ms:
   * `msgrcv` has no file descriptor to wait on, and a blocked `msgrcv` on a pool
   * thread could not be cancelled. For the lowest latency on a long wait, call
   * {@link MessageQueue.receiveSync} in a Worker. An aborted `signal` rejects
   * with its reason.
   *
   * Needs `--allow-ffi`.
   *
   * @param options `type`, `except`, `noError`, `maxSize`, `wait`, `signal`, `timeout`
   * @returns the message: its type and a copy of its bytes
   * @throws {TypeError} when `type` is not an integer, or `signal` not an AbortSignal
   * @throws {RangeError} when `type` is out of the C `long` range, `maxSize` is not an integer
   *   0..2^31-9, `except` comes without a `type` > 0, or `timeout` is not a number ≥ 0
   * @throws {IpcError} E2BIG when the message exceeds `maxSize` (it stays in the queue)
   * @throws {IpcError} EIDRM when the queue is removed meanwhile
   * @throws {Deno.errors.WouldBlock} with `wait: false` when there is none
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example Types as priorities: the lowest type ≤ 10 first
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * q.sendSync("low", { type: 9 });
   * q.sendSync("urgent", { type: 1 });
   * const first = await q.receive({ type: -10, timeout: 1000 });
   * console.log(new TextDecoder().decode(first.data)); // "urgent"
   * q.remove();
   * ```
   */
  receive(options?: ReceiveOptions): Promise<Message> {
    try {
      checkWaitOptions(options);
      if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
      const { type, flags, max } = this.#receiveArgs(options);
      const r = this.#recvSpinner.first(() => this.#tryReceive(type, flags, max));
      if (r !== AGAIN) return Promise.resolve(r);
      if (options?.wait === false) throw this.#error("msgrcv", ERRNO.ENOMSG);
      return this.#waiting(
        options,
        (signal, deadline) =>
          untilDone(
            () => this.#tryReceive(type, flags, max),
            signal,
            deadline,
            this.#recvSpinner,
            true,
          ),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Takes a message, blocking the thread until one of the wanted type arrives
   * (the kernel wakes it at once, also when the queue is removed).
   *
   * Wraps `msgrcv(2)`. Needs `--allow-ffi`.
   *
   * @param options `type`, `except`, `noError`, `maxSize`, `wait`
   * @returns the message
   * @throws {TypeError} when `type` is not an integer
   * @throws {RangeError} when `type` is out of the C `long` range, `maxSize` is not an integer
   *   0..2^31-9, or `except` comes without a `type` > 0
   * @throws {Deno.errors.WouldBlock} with `wait: false` when there is none
   * @throws {IpcError} E2BIG when the message exceeds `maxSize` (it stays in the queue)
   * @throws {IpcError} EIDRM when the queue is removed
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * q.sendSync("a", { type: 5 });
   * q.sendSync("b", { type: 6 });
   * console.log(q.receiveSync({ type: 6 }).type); // 6
   * console.log(q.receiveSync({ type: 6, wait: false, except: true }).type); // 5
   * q.remove();
   * ```
   */
  receiveSync(options?: Omit<ReceiveOptions, "signal" | "timeout">): Message {
    const { type, flags, max } = this.#receiveArgs(options);
    const r = this.#recvSpinner.first(() => this.#tryReceive(type, flags, max));
    if (r !== AGAIN) return r;
    if (options?.wait === false) throw this.#error("msgrcv", ERRNO.ENOMSG);
    // A peer on another CPU often answers within µs: spin briefly before the kernel puts us to sleep.
    const start = performance.now();
    const spun = this.#recvSpinner.spin(() => this.#tryReceive(type, flags, max));
    if (spun !== AGAIN) return spun;
    for (;;) {
      const n = libc.msgrcv(this.id, this.#recvBuf, max, type, flags);
      if (n >= 0) {
        this.#recvSpinner.learn(performance.now() - start);
        return this.#message(n);
      }
      const code = errno();
      if (code !== ERRNO.EINTR) throw this.#error("msgrcv", code);
    }
  }

  /** Runs a wait that `close()` can cancel. */
  async #waiting<T>(
    options: WaitOptions | undefined,
    wait: (signal: AbortSignal, deadline: number | undefined) => Promise<T>,
  ): Promise<T> {
    const local = new AbortController();
    const outer = options?.signal;
    const forward = () => local.abort(outer!.reason);
    outer?.addEventListener("abort", forward, { once: true });
    this.#waits.add(local);
    try {
      return await wait(local.signal, deadlineOf(options));
    } finally {
      this.#waits.delete(local);
      outer?.removeEventListener("abort", forward);
    }
  }

  /**
   * Receives messages one after another as an async iterator; it ends when the
   * handle is closed (and stops when the loop breaks).
   *
   * Wraps `msgrcv(2)`. Needs `--allow-ffi`.
   *
   * @param options as for {@link MessageQueue.receive}, for every message
   * @returns the messages
   * @throws {Error} what {@link MessageQueue.receive} throws, from the step that meets it;
   *   `BadResource` after `close()` ends the iteration instead
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * for (const t of [1, 2, 3]) q.sendSync(`#${t}`, { type: t });
   * for await (const m of q.messages()) {
   *   if (m.type === 3) break;
   * }
   * q.remove();
   * ```
   */
  async *messages(options?: ReceiveOptions): AsyncGenerator<Message, void, undefined> {
    for (;;) {
      try {
        yield await this.receive(options);
      } catch (e) {
        if (this.#closed && e instanceof Deno.errors.BadResource) return;
        throw e;
      }
    }
  }

  /**
   * The queue's state (`msgctl(IPC_STAT)`).
   *
   * Needs `--allow-ffi`.
   *
   * @returns counts, limits, last sender and receiver, owner and mode
   * @throws {IpcError} EINVAL/EIDRM when the queue no longer exists
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * q.sendSync("x");
   * const st = q.stat();
   * console.log(st.messages, st.bytes, st.lastSendPid === Deno.pid); // 1 1 true
   * q.remove();
   * ```
   */
  stat(): MessageQueueStat {
    this.#check();
    const ds = this.#statRaw();
    const perm = ds.msg_perm;
    this.#maxBytes = Number(ds.msg_qbytes);
    return {
      key: perm.__key,
      messages: Number(ds.msg_qnum),
      bytes: Number(ds.__msg_cbytes),
      maxBytes: this.#maxBytes,
      lastSendPid: ds.msg_lspid,
      lastReceivePid: ds.msg_lrpid,
      lastSend: timeOf(ds.msg_stime),
      lastReceive: timeOf(ds.msg_rtime),
      lastChange: timeOf(ds.msg_ctime) ?? new Date(0),
      uid: perm.uid,
      gid: perm.gid,
      creatorUid: perm.cuid,
      creatorGid: perm.cgid,
      mode: perm.mode & 0o777,
    };
  }

  #statRaw(): ReturnType<typeof layouts.msqid_ds.decode> {
    const buf = new Uint8Array(layouts.msqid_ds.size);
    if (libc.msgctl(this.id, C.IPC_STAT, buf) < 0) throw this.#error("msgctl");
    return layouts.msqid_ds.decode(buf);
  }

  /**
   * Sets how many bytes the queue holds (`msgctl(IPC_SET)` of `msg_qbytes`,
   * after `IPC_STAT` to keep the other fields).
   *
   * Needs `--allow-ffi`.
   *
   * @param bytes the new capacity
   * @throws {RangeError} when `bytes` is not a positive integer, or above the kernel's `msgmnb` without `CAP_SYS_RESOURCE`
   * @throws {Deno.errors.PermissionDenied} when this user may not read or change the queue
   * @throws {IpcError} EINVAL when the queue no longer exists
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * using q = MessageQueue.open("private");
   * q.setMaxBytes(4096);
   * console.log(q.stat().maxBytes); // 4096
   * q.remove();
   * ```
   */
  setMaxBytes(bytes: number): void {
    this.#check();
    if (!Number.isSafeInteger(bytes) || bytes < 1) {
      throw new RangeError(`bytes must be a positive integer, got ${bytes}`);
    }
    const ds = this.#statRaw();
    const buf = layouts.msqid_ds.encode({ ...ds, msg_qbytes: BigInt(bytes) });
    if (libc.msgctl(this.id, C.IPC_SET, buf) < 0) {
      const code = errno();
      // Above msgmnb the kernel wants CAP_SYS_RESOURCE (which even root may lack);
      // EPERM also means "not the owner": setting the capacity it has tells which.
      const msgmnb = kernelLimit("msgmnb");
      if (
        code === ERRNO.EPERM && bytes > msgmnb &&
        libc.msgctl(this.id, C.IPC_SET, layouts.msqid_ds.encode(ds)) === 0
      ) {
        throw new RangeError(
          `${bytes} bytes exceeds the kernel's msgmnb (${msgmnb} bytes, /proc/sys/kernel/msgmnb) and this process lacks CAP_SYS_RESOURCE`,
        );
      }
      throw this.#error("msgctl", code);
    }
    this.#maxBytes = bytes;
  }

  /**
   * Destroys the queue (`msgctl(IPC_RMID)`): its messages are gone and every
   * process waiting on it wakes with `EIDRM`. This handle is closed too.
   *
   * Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.PermissionDenied} when this user may not remove it (neither its owner nor its creator)
   * @throws {IpcError} EINVAL when the queue no longer exists
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * const q = MessageQueue.open("private");
   * q.remove();
   * ```
   */
  remove(): void {
    this.#check();
    if (libc.msgctl(this.id, C.IPC_RMID, new Uint8Array(0)) < 0) throw this.#error("msgctl");
    this.close();
  }

  /**
   * Closes this handle (the queue itself lives on: see {@link MessageQueue.remove});
   * pending waits reject with `BadResource`. Closing twice does nothing. No
   * system call: a System V queue id is not a descriptor.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * const q = MessageQueue.open("private");
   * const id = q.id;
   * const pending = q.receive();
   * q.close();
   * try {
   *   await pending;
   * } catch (e) {
   *   console.log(e instanceof Deno.errors.BadResource); // true
   * }
   * MessageQueue.fromId(id).remove(); // the queue outlived the handle
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason = closedError(`message queue ${this.id}`);
    for (const w of this.#waits) w.abort(reason);
  }

  /**
   * Closes this handle (`using`); the queue lives on. See {@link MessageQueue.close}.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * let id: number;
   * {
   *   using q = MessageQueue.open("private");
   *   id = q.id;
   * } // closed here
   * MessageQueue.fromId(id).remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
