/**
 * System V message queues: `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)`,
 * with the typed `msgbuf` of the struct layer.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, E, errorOf, failed, lastErrno, ok } from "../_sys.ts";
import { closedError } from "../errors.ts";
import {
  addressOf,
  bytesOf,
  checkBoolean,
  checkBuffer,
  checkInteger,
  checkOptions,
  ownBuffer,
} from "../_check.ts";
import { copyBytes } from "../_copy.ts";
import { keepLanded, KEPT_MAX, landedCopy, landedView, landingArea } from "../_landing.ts";
import type { PathLike } from "../_path.ts";
import {
  checkId,
  ftok,
  getError,
  getFlags,
  keyOf,
  ownershipOf,
  setOwnershipOf,
  type SysvOwnership,
  type SysvOwnershipChange,
  timeOf,
} from "../_sysv.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  blockingCall,
  callSource,
  checkWaitOptions,
  lazySource,
  NO_THREAD,
  type Operation,
  rejectedNow,
  releaseIdle,
  type Source,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  WaitRegistry,
  waitSync,
} from "../_wait/mod.ts";
import {
  kernelLimit,
  longAt,
  longOf,
  type MessageType,
  msgmaxAtLeast,
  msgmaxNow,
  setLong,
  TYPE_MIN,
} from "./_sysv_values.ts";

export type { MessageType } from "./_sysv_values.ts";
export type { SysvOwnership, SysvOwnershipChange } from "../_sysv.ts";

/**
 * A message taken from a queue.
 *
 * @example
 * ```ts
 * import { type Message, MessageQueue } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * q.sendSync("hello", { type: 7 });
 * const message: Message = q.receiveSync();
 * assert.deepEqual([message.type, new TextDecoder().decode(message.data)], [7, "hello"]);
 * q.remove();
 * ```
 */
export interface Message {
  /** Its type; a `number` when it fits one safely, else a `bigint`. */
  type: MessageType;
  /**
   * Its bytes, which no later receive writes. Small messages' bytes share one
   * `ArrayBuffer` (see {@link MessageQueue.receive}): `data.slice()` gives
   * them a buffer of their own.
   */
  data: Uint8Array<ArrayBuffer>;
}

/**
 * The TypeError of a {@link MessageQueue.receiveInto} whose buffer was
 * detached or shrunk below the message while the receive waited: the message
 * the kernel took by then is its `received`, never lost.
 *
 * @example A buffer detached while the receive waits
 * ```ts
 * import { MessageQueue, type ReceivedMessageError } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * const buffer = new Uint8Array(64);
 * const pending = q.receiveInto(buffer); // the queue is empty: it waits
 * buffer.buffer.transfer(); // detached: the message has nowhere to go
 * q.sendSync("precious");
 * await assert.rejects(pending, (e) =>
 *   e instanceof TypeError &&
 *   new TextDecoder().decode((e as ReceivedMessageError).received.data) === "precious");
 * q.remove();
 * ```
 */
export interface ReceivedMessageError extends TypeError {
  /** The message taken, with its type and its own bytes. */
  readonly received: Message;
}

/**
 * What {@link MessageQueue.receiveInto} took: the message's type and size; its bytes are in
 * the caller's buffer.
 *
 * @example
 * ```ts
 * import { MessageQueue, type MessageInfo } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * q.sendSync("hello", { type: 2 });
 * const buffer = new Uint8Array(64);
 * const info: MessageInfo = q.receiveIntoSync(buffer);
 * assert.deepEqual(info, { type: 2, size: 5 });
 * assert.equal(new TextDecoder().decode(buffer.subarray(0, info.size)), "hello");
 * q.remove();
 * ```
 */
export interface MessageInfo {
  /** Its type; a `number` when it fits one safely, else a `bigint`. */
  type: MessageType;
  /** How many bytes it has, at the start of the buffer. */
  size: number;
}

/**
 * Options of {@link MessageQueue.open}.
 *
 * @example A queue by key: none until one is created
 * ```ts
 * import { MessageQueue, type MessageQueueOpenOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const key = MessageQueue.ftok(dir, 1);
 * assert.throws(() => MessageQueue.open(key), Deno.errors.NotFound); // create defaults to false
 * const options: MessageQueueOpenOptions = { create: true, exclusive: true, mode: 0o640 };
 * using q = MessageQueue.open(key, options);
 * assert.throws(() => MessageQueue.open(key, options), Deno.errors.AlreadyExists);
 * assert.equal(q.stat().mode, 0o640);
 * q.remove();
 * Deno.removeSync(dir);
 * ```
 */
export interface MessageQueueOpenOptions {
  /** Create the queue if it does not exist (`IPC_CREAT`). Default `false`. */
  create?: boolean;
  /** With `create`: fail with `AlreadyExists` if it exists (`IPC_EXCL`). */
  exclusive?: boolean;
  /** Permission bits of a new queue. Default `0o600`: owner only. Opening an existing queue asks for none. */
  mode?: number;
}

/**
 * What to send: the message type.
 *
 * @example A receiver picks messages by their type
 * ```ts
 * import { MessageQueue } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * q.sendSync("for anyone"); // type 1
 * q.sendSync("for the type-2 reader", { type: 2 });
 * const { data } = q.receiveSync({ type: 2 });
 * assert.equal(new TextDecoder().decode(data), "for the type-2 reader");
 * q.remove();
 * ```
 */
export interface MessageQueueSendOptions {
  /** The message type, an integer ≥ 1 (default 1). */
  type?: MessageType;
}

/**
 * Which message to take, and how large it may be.
 *
 * @example Too long for `maxSize`: refused, unless `noError` cuts it
 * ```ts
 * import { MessageQueue, type SystemError } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * q.sendSync("abcdef");
 * assert.throws(() => q.tryReceive({ maxSize: 3 }), (e) => (e as SystemError).code === "E2BIG");
 * const { data } = q.tryReceive({ maxSize: 3, noError: true }); // it was still there
 * assert.equal(new TextDecoder().decode(data), "abc");
 * q.remove();
 * ```
 */
export interface MessageQueueReceiveOptions {
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
   * message is refused with `E2BIG` and stays in the queue. The kernel does not
   * say that it cut: a result of exactly `maxSize` bytes may have been longer.
   */
  noError?: boolean;
  /**
   * The largest message to accept, in bytes. Default: the kernel's `msgmax`
   * ({@link MessageQueue.receive}); the buffer's length ({@link MessageQueue.receiveInto}).
   */
  maxSize?: number;
}

/**
 * What `msgctl(IPC_STAT)` reports about a queue. Times are whole seconds from the
 * kernel's coarse clock, which may still read the previous second for a tick
 * (a few ms) after `Date.now()` has entered the next.
 *
 * @example
 * ```ts
 * import { MessageQueue, type MessageQueueStat } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * q.sendSync("hello");
 * const st: MessageQueueStat = q.stat();
 * assert.deepEqual([st.messages, st.bytes, st.lastSendPid], [1, 5, Deno.pid]);
 * assert.deepEqual([st.lastReceive, st.uid], [null, Deno.uid()]);
 * q.remove();
 * ```
 */
export interface MessageQueueStat extends SysvOwnership {
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
}

const MSGBUF = LAYOUTS.msgbuf;
const MSQID_DS = LAYOUTS.msqid_ds;
/** Where `mtext` starts in a `msgbuf` (after the `long mtype`). */
const TEXT = MSGBUF.offsets.mtext;
const TYPE = MSGBUF.offsets.mtype;
/** Where `msg_qnum` (an unsigned long) is in a `msqid_ds`. */
const QNUM = MSQID_DS.offsets.msg_qnum;
const ENOMSG = E.ENOMSG;

/** The source of operations that only the sync and try forms run: they block in the call itself. */
const BLOCKS_ONLY: Source<never> = { park: () => NO_THREAD, block: () => AGAIN };

/** A receive as the engine runs it: which message, into what, and how its result is made. */
interface Selection {
  type: bigint;
  flags: number;
  max: number;
}

/**
 * A System V message queue. Messages carry a type (a C `long` ≥ 1) that
 * receivers select by: exactly, by priority (lowest type first), or by
 * exclusion. The queue outlives every process until {@link MessageQueue.remove}.
 *
 * Every blocking operation has the three forms of the library: `send()` /
 * `receive()` return promises and never block the event loop, `sendSync()` /
 * `receiveSync()` block the thread, `trySend()` / `tryReceive()` never wait.
 * An async wait that outlasts a short spin parks the `msgsnd`/`msgrcv` call
 * itself on one of Deno's pool threads (at most 4 at once with the library's
 * other parked calls; more poll without a thread until one frees), so it
 * wakes as soon as the kernel has a message; an abort, a timeout or
 * `close()` ends it at once with a signal to that thread, and a message it
 * took meanwhile is delivered, never lost.
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
export class MessageQueue implements Disposable, AsyncIterable<Message> {
  /** The queue id (`msqid`). */
  readonly id: number;
  /** The key it was opened by (0 for `"private"` or {@link MessageQueue.fromId}). */
  readonly key: number;
  #closed = false;
  #sendBuf = new Uint8Array(TEXT + 256);
  #sendView = new DataView(this.#sendBuf.buffer);
  /** A buffer a parked receive landed in, kept for the next one (8 KiB cost µs to allocate). */
  #spare?: Uint8Array;
  #spareHeld?: WeakRef<Uint8Array>;
  /** The poll clock's tick of the last look at the queue's message count, and what it found. */
  #lookedAt = NaN;
  #holds = true;
  /** The buffer of the `msgctl(IPC_STAT)` calls made internally, and a view of it. */
  #stat?: { bytes: Uint8Array; view: DataView };
  /**
   * The sync and try forms, and the async forms' first try, end before any
   * other code runs: they share one operation object per direction, whose
   * message and selection are these fields, so their hot path allocates
   * nothing. An async call that has to wait goes on with an operation of its
   * own (`forWait`).
   */
  #sendSize = 0;
  #selection: Selection = { type: 0n, flags: 0, max: 0 };
  #target?: Uint8Array;
  #lastKey: Selection & { key: string } = { type: 0n, flags: 0, max: -1, key: "" };
  readonly #sharedSend: Operation<void>;
  readonly #sharedReceive: Operation<Message | MessageInfo>;
  readonly #waits = new WaitRegistry();
  readonly #send: WaitContext = {
    spinner: new Spinner(),
    registry: this.#waits,
    keepsAlive: true,
  };
  readonly #receive: WaitContext = { spinner: new Spinner(), registry: this.#waits };
  readonly #subject: { id: number };
  #maxBytes = -1;
  /** Whether the capacity was read again since the last send found the queue full. */
  #fitRead = false;

  /** Whether the id has named a queue for this handle: a later EINVAL then means it was removed. */
  #known: boolean;

  private constructor(id: number, key: number, known: boolean) {
    this.id = id;
    this.key = key;
    this.#known = known;
    this.#subject = { id };
    this.#sharedSend = {
      syscall: "msgsnd",
      subject: this.#subject,
      attempt: () => this.#trySend(this.#sendBuf, this.#sendSize),
      source: BLOCKS_ONLY,
      block: (deadline) => this.#blockSend(deadline),
      forWait: () => this.#sendOp(),
    };
    this.#sharedReceive = {
      syscall: "msgrcv",
      subject: this.#subject,
      again: ENOMSG,
      attempt: () => this.#tryReceive(this.#selection, this.#result),
      source: BLOCKS_ONLY,
      block: (deadline) => this.#blockReceive(deadline),
      forWait: () => {
        const target = this.#target;
        return this.#receiveOp<Message | MessageInfo>(
          this.#selection,
          target === undefined ? this.#toMessage : this.#intoBuffer(target),
        );
      },
    };
  }

  /**
   * Opens (or with `create`, creates) the queue of `key` (`msgget(2)`).
   * Opening an existing queue asks for no permission bits, as `msgget(key, 0)`
   * does: a user with only read access opens it, and finds out at the first
   * send. With `create`, an existing queue is opened as C's
   * `msgget(key, IPC_CREAT | mode)` opens it: the bits of `mode` are asked for.
   *
   * Needs `--allow-ffi`.
   *
   * @param key a key (a 32-bit integer, e.g. from {@link MessageQueue.ftok}) or
   *   `"private"` for a new queue only this process knows the id of (`IPC_PRIVATE`)
   * @param options `create`, `exclusive`, `mode` (default 0600)
   * @returns the queue
   * @throws {TypeError} when `key` is neither a number nor `"private"`, `options` is not an
   *   object, `mode` is not a number, `create` or `exclusive` is not a boolean, or `exclusive` is
   *   set without `create`
   * @throws {RangeError} for a `key` that is not a 32-bit integer (-2^31..2^32-1) or is 0 (that is
   *   `IPC_PRIVATE`: pass `"private"`), or a `mode` outside 0..0o777
   * @throws {Deno.errors.NotFound} no queue has that key and `create` is not set
   * @throws {Deno.errors.AlreadyExists} with `create` and `exclusive`, when it exists
   * @throws {Deno.errors.PermissionDenied} when the mode denies this user
   * @throws {IpcError} ENOSPC when the system has `kernel.msgmni` queues already
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("hi", { type: 3 });
   * assert.equal(q.receiveSync().type, 3);
   * q.remove();
   * ```
   */
  static open(key: number | "private", options: MessageQueueOpenOptions = {}): MessageQueue {
    checkOptions(options);
    const key32 = keyOf(key, "queue");
    const id = ok(
      libc.msgget(key32, getFlags(key, options)),
      "msgget",
      (code) => getError(code, "msgget", { key: key32 }),
    );
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
   * @throws {TypeError} when `id` is not a number
   * @throws {RangeError} when `id` is not an integer 0..2^31-1
   * @throws {IpcError} EINVAL when no queue has that id
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * using same = MessageQueue.fromId(q.id);
   * assert.equal(same.stat().messages, 0);
   * q.remove();
   * ```
   */
  static fromId(id: number): MessageQueue {
    const q = new MessageQueue(checkId(id), 0, false);
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
   * @throws {TypeError} for an empty path, a path with a NUL, a URL that is not `file:`, or a
   *   `projId` that is not a number
   * @throws {RangeError} when `projId` is not an integer 1..255
   * @throws {Deno.errors.NotFound} when `path` does not exist
   * @throws {Deno.errors.PermissionDenied} when a directory on the way to `path` is not searchable
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * assert.equal(MessageQueue.ftok("/", 65), MessageQueue.ftok("/", 65));
   * ```
   */
  static ftok(path: PathLike, projId: number): number {
    return ftok(path, projId);
  }

  /**
   * Whether `close()` (or `remove()`) has been called on this handle.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const q = MessageQueue.open("private");
   * q.remove();
   * assert.equal(q.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /** The id, for an operation about to call `syscall`; BadResource (EBADF) after `close()`. */
  #idFor(syscall: string): number {
    if (this.#closed) throw closedError(`message queue ${this.id}`, syscall, this.#subject);
    return this.id;
  }

  /**
   * The errors of this queue's calls: a queue removed while we waited (or
   * before this call) is EINVAL to every call but one asleep in the kernel,
   * which sees EIDRM. Say EIDRM whenever the id that named this handle's queue
   * names none any more.
   */
  readonly #about = (code: number, syscall: string): Error => {
    // EINVAL: the queue may be gone (one IPC_STAT tells).
    const gone = code === E.EINVAL && this.#gone();
    if (gone && this.#known) code = E.EIDRM;
    const e = errorOf(code, syscall, this.#subject);
    // On a queue that exists, msgsnd's EINVAL means msgmax was lowered since it was read.
    if (code === E.EINVAL && syscall === "msgsnd" && !gone) {
      const max = msgmaxNow();
      return Object.assign(
        new RangeError(
          `message exceeds the kernel's msgmax (${max} bytes, /proc/sys/kernel/msgmax) (${e.message})`,
        ),
        e,
        { name: "RangeError" }, // e's own name is the system error's
      );
    }
    return e;
  };

  /**
   * Whether `e`, from a receive without `maxSize` that took up to `max` bytes
   * (msgmax as last read then), is an E2BIG that a raised msgmax explains:
   * then the receive is tried again, up to the new msgmax; the message stayed
   * queued. Against the receive's own `max`: another call of this process may
   * have read the new msgmax since.
   */
  #msgmaxRaised(
    e: unknown,
    options: MessageQueueReceiveOptions | undefined,
    max: number,
  ): boolean {
    if (options?.maxSize !== undefined || (e as { code?: unknown })?.code !== "E2BIG") {
      return false;
    }
    return msgmaxNow() > max;
  }

  /** Whether the id names no queue now; one this user may not look at (EACCES) is there. */
  #gone(): boolean {
    if (this.#statNow() !== undefined) return false;
    const code = lastErrno();
    return code === E.EINVAL || code === E.EIDRM;
  }

  /**
   * `msgctl(IPC_STAT)` into a buffer kept for the next look, read before any
   * other call; undefined when the queue cannot be looked at (removed, or no
   * read permission).
   */
  #statNow(): { bytes: Uint8Array; view: DataView } | undefined {
    const stat = this.#stat ??= (() => {
      const bytes = new Uint8Array(MSQID_DS.size);
      return { bytes, view: new DataView(bytes.buffer) };
    })();
    return libc.msgctl(this.id, C.IPC_STAT, stat.bytes) < 0 ? undefined : stat;
  }

  // ------------------------------------------------------------- sending

  /** Lays `data` out as a msgbuf in the send buffer; returns its mtext size. */
  #prepareSend(data: Uint8Array | string, options: MessageQueueSendOptions | undefined): number {
    this.#idFor("msgsnd");
    const bytes = bytesOf(data);
    const { type: given } = checkOptions(options);
    const type = longOf(given === undefined ? 1 : given, "type", 1n);
    const msgmax = msgmaxAtLeast(bytes.byteLength);
    if (bytes.byteLength > msgmax) {
      throw new RangeError(
        `message of ${bytes.byteLength} bytes exceeds the kernel's msgmax (${msgmax} bytes, /proc/sys/kernel/msgmax)`,
      );
    }
    this.#checkFits(bytes.byteLength);
    this.#fitRead = false;
    if (this.#sendBuf.byteLength < TEXT + bytes.byteLength) {
      this.#sendBuf = new Uint8Array(
        TEXT + Math.max(bytes.byteLength, 2 * this.#sendBuf.byteLength),
      );
      this.#sendView = new DataView(this.#sendBuf.buffer);
    }
    setLong(this.#sendView, TYPE, type);
    copyBytes(this.#sendBuf, TEXT, bytes, 0, bytes.byteLength);
    return bytes.byteLength;
  }

  /** RangeError when a message of `size` bytes exceeds the queue's capacity, which no send would end. */
  #checkFits(size: number): void {
    if (size > this.#queueBytes(size)) {
      throw new RangeError(
        `message of ${size} bytes can never fit: the queue holds ${this.#maxBytes} bytes (setMaxBytes)`,
      );
    }
  }

  /**
   * After a send found the queue full: the capacity read again, once per
   * send, since another handle or process may have lowered it below the
   * message (the kernel would let the send wait for good).
   */
  #checkStillFits(size: number): void {
    if (this.#fitRead) return;
    this.#fitRead = true;
    this.#maxBytes = -1;
    this.#checkFits(size);
  }

  /** The queue's capacity, refreshed when a message looks too large for what we knew. */
  #queueBytes(size: number): number {
    if (this.#maxBytes < 0 || size > this.#maxBytes) {
      // A sender may lack read permission (IPC_STAT): then the kernel alone decides.
      const stat = this.#statNow();
      if (stat === undefined) return Infinity;
      this.#maxBytes = Number(MSQID_DS.decode(stat.bytes).msg_qbytes);
    }
    return this.#maxBytes;
  }

  /**
   * The send of the message laid out in the send buffer, as an operation of
   * the engine for a send that has to wait: the shared send buffer belongs to
   * the next call, so it sends a copy of its own (whose address also tells the
   * parked call's thread apart).
   */
  #sendOp(): Operation<void> {
    const size = this.#sendSize;
    const buf = ownBuffer(TEXT + size);
    buf.set(this.#sendBuf.subarray(0, TEXT + size));
    const source = () =>
      callSource({
        syscall: "msgsnd",
        about: this.#about,
        start: () => libc.msgsnd_parked(this.id, buf, size, 0),
        run: () => libc.msgsnd(this.id, buf, size, 0),
        done: () => undefined,
        key: `msgsnd ${this.id} ${size}`,
        thread: () => ({ syscall: C.SYS_msgsnd, arg: 1, value: addressOf(buf) }),
      });
    return {
      syscall: "msgsnd",
      subject: this.#subject,
      attempt: () => this.#trySend(buf, size),
      source: lazySource(source),
    };
  }

  /** One send without waiting. Written out, not through a helper taking a closure: the hot path. */
  #trySend(buf: Uint8Array, size: number): void | typeof AGAIN {
    const id = this.#idFor("msgsnd");
    while (libc.msgsnd(id, buf, size, C.IPC_NOWAIT) < 0) {
      if (failed("msgsnd", this.#about) !== AGAIN) continue;
      this.#checkStillFits(size);
      return AGAIN;
    }
  }

  /** The sync form's blocking send of the message in the send buffer (interrupted at the deadline). */
  #blockSend(deadline: number): void | typeof AGAIN {
    const id = this.#idFor("msgsnd");
    const buf = this.#sendBuf;
    const size = this.#sendSize;
    const r = blockingCall(deadline, () => libc.msgsnd(id, buf, size, 0), "msgsnd", this.#about);
    return r === AGAIN ? AGAIN : undefined;
  }

  /**
   * Sends a message (`msgsnd(2)`), waiting without blocking the event loop
   * while the queue is full. An aborted `signal` rejects with its reason.
   *
   * Before the first send, and when a message is larger than the capacity
   * last read, the capacity is read with `msgctl(IPC_STAT)`, which needs read
   * permission on the queue (without it, the kernel alone decides).
   *
   * Needs `--allow-ffi`.
   *
   * @param data the bytes, or a string sent as UTF-8
   * @param options `type` (default 1), `signal`, `timeout`
   * @returns a promise that resolves once the message is in the queue
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string, `options` is not an object, `type` is neither a number nor a bigint, or `signal` not an AbortSignal
   * @throws {RangeError} when the message exceeds `msgmax` or can never fit the queue, `type` is not an integer 1..2^63-1, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   * @throws {Deno.errors.PermissionDenied} when this user may not write the queue
   * @throws {IpcError} EIDRM when the queue is removed meanwhile
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * await q.send(new Uint8Array([1, 2, 3]), { type: 7 });
   * assert.equal(q.stat().messages, 1);
   * q.remove();
   * ```
   */
  send(data: Uint8Array | string, options?: MessageQueueSendOptions & WaitOptions): Promise<void> {
    try {
      this.#sendSize = this.#prepareSend(data, options);
      return wait(this.#sharedSend, options, this.#send);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Sends a message, blocking the thread while the queue is full (the kernel
   * wakes it at once when there is room, or when the queue is removed), or
   * until `timeout` passes. The capacity is read first as for
   * {@link MessageQueue.send}.
   *
   * Wraps `msgsnd(2)`; a timeout interrupts it with a signal to this thread.
   * Needs `--allow-ffi`.
   *
   * @param data the bytes, or a string sent as UTF-8
   * @param options `type` (default 1), `timeout`
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string, `options` is not an object, or `type` is neither a number nor a bigint
   * @throws {RangeError} when the message exceeds `msgmax` or can never fit the queue, `type` is not an integer 1..2^63-1, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {Deno.errors.PermissionDenied} when this user may not write the queue
   * @throws {IpcError} EIDRM when the queue is removed
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("hello", { type: 2, timeout: 1000 });
   * assert.equal(q.stat().messages, 1);
   * q.remove();
   * ```
   */
  sendSync(
    data: Uint8Array | string,
    options?: MessageQueueSendOptions & SyncWaitOptions,
  ): void {
    this.#sendSize = this.#prepareSend(data, options);
    waitSync(this.#sharedSend, options, this.#send);
  }

  /**
   * Sends a message if the queue has room now, without waiting.
   *
   * Wraps `msgsnd(2)` with `IPC_NOWAIT`. Needs `--allow-ffi`.
   *
   * @param data the bytes, or a string sent as UTF-8
   * @param options `type` (default 1)
   * @throws {Deno.errors.WouldBlock} when the queue is full
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string, `options` is not an object, or `type` is neither a number nor a bigint
   * @throws {RangeError} when the message exceeds `msgmax` or can never fit the queue, or `type` is not an integer 1..2^63-1
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {Deno.errors.PermissionDenied} when this user may not write the queue
   * @throws {IpcError} EIDRM when the queue has been removed
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.setMaxBytes(4);
   * q.trySend("full");
   * assert.throws(() => q.trySend("more"), Deno.errors.WouldBlock);
   * q.remove();
   * ```
   */
  trySend(data: Uint8Array | string, options?: MessageQueueSendOptions): void {
    this.#sendSize = this.#prepareSend(data, options);
    tryNow(this.#sharedSend);
  }

  /**
   * Puts back a message that an iteration's receive took after the iteration
   * was left, where no one would see it: at the end of the queue, with its
   * type, through the id (a handle closed meanwhile does not lose it); a
   * queue full by then takes it once it has room, through a handle of its
   * own (sent as `send()` sends: it keeps the process alive until then).
   * False where it cannot (no write permission, the queue removed): the
   * iteration's `next()` then gets it.
   */
  #putBack({ type, data }: Message): boolean {
    const buf = ownBuffer(TEXT + data.byteLength);
    setLong(new DataView(buf.buffer), TYPE, type);
    buf.set(data, TEXT);
    if (libc.msgsnd(this.id, buf, data.byteLength, C.IPC_NOWAIT) === 0) return true;
    if (lastErrno() !== E.EAGAIN) return false;
    let own: MessageQueue;
    try {
      own = MessageQueue.fromId(this.id);
    } catch {
      return false;
    }
    own.send(data, { type }).catch(() => {}).finally(() => own.close());
    return true;
  }

  // ----------------------------------------------------------- receiving

  /** Checks a receive's options and makes them the selection of the shared receive. */
  #select(options: MessageQueueReceiveOptions | undefined, limit?: number): void {
    this.#idFor("msgrcv");
    const o = checkOptions(options);
    const type = longOf(o.type === undefined ? 0 : o.type, "type", TYPE_MIN);
    const max = checkInteger(
      o.maxSize === undefined ? limit ?? msgmaxAtLeast(0) : o.maxSize,
      "maxSize",
      0,
      0x7fffffff - TEXT,
    );
    if (limit !== undefined && max > limit) {
      throw new RangeError(`maxSize (${max}) exceeds the buffer (${limit} bytes)`);
    }
    const except = checkBoolean(o.except, "except");
    const noError = checkBoolean(o.noError, "noError");
    if (except && type <= 0) throw new RangeError("except needs a type > 0");
    let flags = 0;
    if (except) flags |= C.MSG_EXCEPT;
    if (noError) flags |= C.MSG_NOERROR;
    // maxSize is msgrcv's msgsz, as in C, even past msgmax: a message sent
    // before an administrator lowered msgmax is larger than msgmax is now.
    const into = this.#selection;
    into.type = BigInt(type);
    into.flags = flags;
    into.max = max;
  }

  /**
   * The receive of a message as an operation of the engine; `make` turns the
   * msgbuf of `n` bytes of text that landed in `buf` into the result.
   */
  #receiveOp<T>(
    { type, flags, max }: Selection,
    make: (buf: Uint8Array, n: number) => T,
  ): Operation<T> {
    // A parked receive lands in a buffer of its own: two may be pending at once,
    // and its address tells the parked call's thread apart.
    let own: Uint8Array | undefined;
    let landed: Uint8Array | undefined;
    const ownBuf = () => own ??= this.#takeBuffer(TEXT + max);
    const syscall = "msgrcv";
    const source = () =>
      callSource({
        syscall,
        about: this.#about,
        start: () => libc.msgrcv_parked(this.id, ownBuf(), max, type, flags),
        run: () => libc.msgrcv(this.id, landed = landingArea(TEXT + max), max, type, flags),
        done: (n) => {
          if (own === undefined) return make(landed!, n);
          // A message keeps its bytes: they move to where messages land. A copy into the
          // caller's buffer reads them here. Either way they are out before the next parked
          // receive lands in this buffer.
          const result = make(make === this.#toMessage ? landedCopy(own, TEXT + n) : own, n);
          if (own.byteLength <= KEPT_MAX) this.#spare = own;
          else this.#spareHeld = new WeakRef(own);
          own = undefined;
          return result;
        },
        key: this.#receiveKey(type, flags, max),
        thread: () => ({ syscall: C.SYS_msgrcv, arg: 1, value: addressOf(ownBuf()) }),
      });
    return {
      syscall,
      subject: this.#subject,
      again: ENOMSG,
      attempt: () => this.#tryReceive({ type, flags, max }, make),
      source: lazySource(source),
      mayBeReady: (now) => this.#holdsMessages(now),
    };
  }

  /**
   * The key of parked receives of one selection, the last one's kept: a new
   * string each time (a bigint in it) costs its building and its hashing.
   */
  #receiveKey(type: bigint, flags: number, max: number): string {
    const last = this.#lastKey;
    if (last.type !== type || last.flags !== flags || last.max !== max) {
      this.#lastKey = { type, flags, max, key: `msgrcv ${this.id} ${type} ${flags} ${max}` };
    }
    return this.#lastKey.key;
  }

  /**
   * Whether the queue holds any message, looked at once per poll-clock tick
   * `now` (`msgctl(IPC_STAT)`) for all the receives polling it; true when it
   * cannot be looked at (the receive's own try then meets the error).
   */
  #holdsMessages(now: number): boolean {
    if (now !== this.#lookedAt) {
      this.#lookedAt = now;
      const stat = this.#statNow();
      this.#holds = stat === undefined || stat.view.getBigUint64(QNUM, true) > 0n;
    }
    return this.#holds;
  }

  /** The type of the msgbuf in `buf`. */
  #typeIn(buf: Uint8Array): MessageType {
    return longAt(landedView(buf), buf.byteOffset + TYPE);
  }

  /** One receive without waiting, where messages land (`_landing.ts`). Written out: the hot path. */
  #tryReceive<T>(
    { type, flags, max }: Selection,
    make: (buf: Uint8Array, n: number) => T,
  ): T | typeof AGAIN {
    const id = this.#idFor("msgrcv");
    const buf = landingArea(TEXT + max);
    for (;;) {
      const n = libc.msgrcv(id, buf, max, type, flags | C.IPC_NOWAIT);
      if (n >= 0) return make(buf, n);
      if (failed("msgrcv", this.#about, ENOMSG) === AGAIN) return AGAIN;
    }
  }

  /** The sync form's blocking receive, where messages land (interrupted at the deadline). */
  #blockReceive(deadline: number): Message | MessageInfo | typeof AGAIN {
    const id = this.#idFor("msgrcv");
    const { type, flags, max } = this.#selection;
    const buf = landingArea(TEXT + max);
    const receive = () => libc.msgrcv(id, buf, max, type, flags);
    const n = blockingCall(deadline, receive, "msgrcv", this.#about);
    return n === AGAIN ? AGAIN : this.#result(buf, n);
  }

  /** The shared receive's result: a message, or its type and size once copied into the target. */
  #result = (buf: Uint8Array, n: number): Message | MessageInfo =>
    this.#target === undefined ? this.#toMessage(buf, n) : this.#copyInto(this.#target, buf, n);

  /**
   * Copies the text of the msgbuf in `buf` into `target`. A target detached
   * or shrunk while the receive waited (its size was checked at the call) has no room
   * for the message taken: it is handed back on the TypeError, never lost.
   */
  #copyInto(target: Uint8Array, buf: Uint8Array, n: number): MessageInfo {
    if (target.byteLength < n) {
      const received = this.#toMessage(buf, n);
      throw Object.assign(
        new TypeError(
          `buffer was detached or shrunk while the receive waited (${target.byteLength} bytes now): ` +
            `the message it took (type ${received.type}, ${n} bytes) is this error's \`received\``,
        ),
        { received },
      );
    }
    copyBytes(target, 0, buf, TEXT, n);
    return { type: this.#typeIn(buf), size: n };
  }

  /** A buffer of its own for a parked receive: the spare one when it is large enough. */
  #takeBuffer(size: number): Uint8Array {
    const spare = this.#spare;
    if (spare !== undefined && spare.byteLength >= size) {
      this.#spare = undefined;
      return spare;
    }
    // One over KEPT_MAX, held weakly: receives in a row reuse it, yet it does not outlive them.
    const held = this.#spareHeld?.deref();
    if (held !== undefined && held.byteLength >= size) {
      this.#spareHeld = undefined;
      return held;
    }
    return ownBuffer(size);
  }

  #toMessage = (buf: Uint8Array, n: number): Message => ({
    type: this.#typeIn(buf),
    data: keepLanded(buf, TEXT, n),
  });

  #intoBuffer(target: Uint8Array): (buf: Uint8Array, n: number) => MessageInfo {
    return (buf, n) => this.#copyInto(target, buf, n);
  }

  /**
   * Takes a message (`msgrcv(2)`), waiting without blocking the event loop
   * until one of the wanted type arrives. An aborted `signal` rejects with its
   * reason; a message the parked call took before the abort landed is
   * delivered instead, never lost.
   *
   * A message's bytes are where the kernel wrote them: a view of a buffer
   * that small messages share (64 KiB; a new `ArrayBuffer` per message would
   * cost Deno about as much as the system call). No later receive writes
   * there; `data.slice()` gives bytes with a buffer of their own, to
   * transfer it or to post them to a Worker (a structured clone copies the
   * whole buffer). {@link MessageQueue.receiveInto} takes a message into a
   * buffer the caller keeps.
   *
   * Needs `--allow-ffi`.
   *
   * @param options `type`, `except`, `noError`, `maxSize`, `signal`, `timeout`
   * @returns the message: its type and its bytes
   * @throws {TypeError} when `options` is not an object, `type` is neither a number nor a
   *   bigint, `maxSize` is not a number, `except` or `noError` is not a boolean, or `signal` is not
   *   an AbortSignal
   * @throws {RangeError} when `type` is not an integer in the C `long` range, `maxSize` is not an integer
   *   0..2^31-9, `except` comes without a `type` > 0, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {IpcError} E2BIG when the message exceeds `maxSize` (it stays in the queue)
   * @throws {IpcError} EIDRM when the queue is removed meanwhile
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example Types as priorities: the lowest type ≤ 10 first
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("low", { type: 9 });
   * q.sendSync("urgent", { type: 1 });
   * const first = await q.receive({ type: -10, timeout: 1000 });
   * assert.equal(new TextDecoder().decode(first.data), "urgent");
   * q.remove();
   * ```
   */
  receive(options?: MessageQueueReceiveOptions & WaitOptions): Promise<Message> {
    try {
      this.#select(options);
      this.#target = undefined;
      const max = this.#selection.max;
      const received = wait(this.#sharedReceive, options, this.#receive, (e) => {
        if (this.#msgmaxRaised(e, options, max)) return this.receive(options);
        throw e;
      });
      return received as Promise<Message>;
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Takes a message, blocking the thread until one of the wanted type arrives
   * (the kernel wakes it at once, also when the queue is removed), or
   * `timeout` passes.
   *
   * A message's bytes are where the kernel wrote them: a view of a buffer
   * that small messages share (64 KiB; a new `ArrayBuffer` per message would
   * cost Deno about as much as the system call). No later receive writes
   * there; `data.slice()` gives bytes with a buffer of their own, to
   * transfer it or to post them to a Worker (a structured clone copies the
   * whole buffer). {@link MessageQueue.receiveIntoSync} takes a message into a
   * buffer the caller keeps.
   *
   * Wraps `msgrcv(2)`; a timeout interrupts it with a signal to this thread.
   * Needs `--allow-ffi`.
   *
   * @param options `type`, `except`, `noError`, `maxSize`, `timeout`
   * @returns the message
   * @throws {TypeError} when `options` is not an object, `type` is neither a number nor a
   *   bigint, `maxSize` is not a number, or `except` or `noError` is not a boolean
   * @throws {RangeError} when `type` is not an integer in the C `long` range, `maxSize` is not an integer
   *   0..2^31-9, `except` comes without a `type` > 0, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {IpcError} E2BIG when the message exceeds `maxSize` (it stays in the queue)
   * @throws {IpcError} EIDRM when the queue is removed
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("a", { type: 5 });
   * assert.equal(q.receiveSync({ type: 5 }).type, 5);
   * assert.throws(() => q.receiveSync({ timeout: 10 }), Deno.errors.TimedOut);
   * q.remove();
   * ```
   */
  receiveSync(options?: MessageQueueReceiveOptions & SyncWaitOptions): Message {
    this.#select(options);
    this.#target = undefined;
    const max = this.#selection.max;
    try {
      return waitSync(this.#sharedReceive, options, this.#receive) as Message;
    } catch (e) {
      if (this.#msgmaxRaised(e, options, max)) return this.receiveSync(options);
      throw e;
    }
  }

  /**
   * Takes a message if one of the wanted type is there now, without waiting.
   *
   * Wraps `msgrcv(2)` with `IPC_NOWAIT`. Needs `--allow-ffi`.
   *
   * @param options `type`, `except`, `noError`, `maxSize`
   * @returns the message
   * @throws {Deno.errors.WouldBlock} when there is none
   * @throws {TypeError} when `options` is not an object, `type` is neither a number nor a
   *   bigint, `maxSize` is not a number, or `except` or `noError` is not a boolean
   * @throws {RangeError} when `type` is not an integer in the C `long` range, `maxSize` is not an integer
   *   0..2^31-9, or `except` comes without a `type` > 0
   * @throws {IpcError} E2BIG when the message exceeds `maxSize` (it stays in the queue)
   * @throws {IpcError} EIDRM when the queue has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("a", { type: 5 });
   * q.sendSync("b", { type: 6 });
   * assert.equal(q.tryReceive({ type: 5, except: true }).type, 6);
   * assert.throws(() => q.tryReceive({ type: 6 }), Deno.errors.WouldBlock);
   * q.remove();
   * ```
   */
  tryReceive(options?: MessageQueueReceiveOptions): Message {
    this.#select(options);
    this.#target = undefined;
    const max = this.#selection.max;
    try {
      return tryNow(this.#sharedReceive) as Message;
    } catch (e) {
      if (this.#msgmaxRaised(e, options, max)) return this.tryReceive(options);
      throw e;
    }
  }

  /**
   * Takes a message into `buffer`, without allocating: the kernel writes the
   * type before the bytes, so they land in the queue's own buffer and are
   * copied once into `buffer`. A message longer than `buffer` (or `maxSize`)
   * is refused with E2BIG and stays in the queue, unless `noError` cuts it.
   *
   * Needs `--allow-ffi`.
   *
   * @param buffer where the bytes go
   * @param options as for {@link MessageQueue.receive}; `maxSize` defaults to `buffer.length`
   * @returns the message's type and size
   * @throws {TypeError} when `buffer` is not a Uint8Array or is detached; when it is
   *   detached or shrunk while the receive waits, the message taken is on the error's `received`
   *   (a {@link ReceivedMessageError})
   * @throws {RangeError} when `maxSize` exceeds `buffer.length`; and as {@link MessageQueue.receive}
   * @throws {IpcError} E2BIG when the message is longer than `buffer` (it stays in the queue)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("ping", { type: 4 });
   * const buf = new Uint8Array(64);
   * const { type, size } = await q.receiveInto(buf);
   * assert.deepEqual([type, new TextDecoder().decode(buf.subarray(0, size))], [4, "ping"]);
   * q.remove();
   * ```
   */
  receiveInto(
    buffer: Uint8Array,
    options?: MessageQueueReceiveOptions & WaitOptions,
  ): Promise<MessageInfo> {
    try {
      checkBuffer(buffer);
      this.#select(options, buffer.length);
      this.#target = buffer;
      return wait(this.#sharedReceive, options, this.#receive) as Promise<MessageInfo>;
    } catch (e) {
      return rejectedNow(e);
    } finally {
      this.#target = undefined;
    }
  }

  /**
   * The blocking form of {@link MessageQueue.receiveInto}.
   *
   * Wraps `msgrcv(2)`. Needs `--allow-ffi`.
   *
   * @param buffer where the bytes go
   * @param options as for {@link MessageQueue.receiveSync}; `maxSize` defaults to `buffer.length`
   * @returns the message's type and size
   * @throws {TypeError} when `buffer` is not a Uint8Array or is detached
   * @throws {IpcError} E2BIG when the message is longer than `buffer` (it stays in the queue)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("ping");
   * assert.equal(q.receiveIntoSync(new Uint8Array(16)).size, 4);
   * q.remove();
   * ```
   */
  receiveIntoSync(
    buffer: Uint8Array,
    options?: MessageQueueReceiveOptions & SyncWaitOptions,
  ): MessageInfo {
    checkBuffer(buffer);
    this.#select(options, buffer.length);
    this.#target = buffer;
    try {
      return waitSync(this.#sharedReceive, options, this.#receive) as MessageInfo;
    } finally {
      this.#target = undefined;
    }
  }

  /**
   * The non-waiting form of {@link MessageQueue.receiveInto}.
   *
   * Wraps `msgrcv(2)` with `IPC_NOWAIT`. Needs `--allow-ffi`.
   *
   * @param buffer where the bytes go
   * @param options as for {@link MessageQueue.tryReceive}; `maxSize` defaults to `buffer.length`
   * @returns the message's type and size
   * @throws {Deno.errors.WouldBlock} when there is none
   * @throws {TypeError} when `buffer` is not a Uint8Array or is detached
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * assert.throws(() => q.tryReceiveInto(new Uint8Array(16)), Deno.errors.WouldBlock);
   * q.remove();
   * ```
   */
  tryReceiveInto(buffer: Uint8Array, options?: MessageQueueReceiveOptions): MessageInfo {
    checkBuffer(buffer);
    this.#select(options, buffer.length);
    this.#target = buffer;
    try {
      return tryNow(this.#sharedReceive) as MessageInfo;
    } finally {
      this.#target = undefined;
    }
  }

  /**
   * Receives messages one after another as an async iterator; it ends when the
   * handle is closed, and when the loop breaks or the iterator's `return()` is
   * called (a `ReadableStream.from(q)` cancelled, ...), which cancels the
   * receive in progress and settles once it has ended. A message its
   * `msgrcv` had taken already goes back to the end of the queue, with its
   * type (once there is room, where the queue is full by then; where this
   * user may not write the queue, the `next()` that was waiting gets it).
   *
   * Wraps `msgrcv(2)`. Needs `--allow-ffi`.
   *
   * @param options as for {@link MessageQueue.receive}, for every message
   * @returns the messages
   * @throws {TypeError} at once, for options of the wrong type {@link MessageQueue.receive} refuses
   * @throws {RangeError} at once, for options out of range {@link MessageQueue.receive} refuses
   * @throws {Error} what {@link MessageQueue.receive} throws, from the step that meets it;
   *   `BadResource` after `close()` ends the iteration instead
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * for (const t of [1, 2, 3]) q.sendSync(`#${t}`, { type: t });
   * const types = [];
   * for await (const m of q.messages({ type: -2 })) {
   *   types.push(m.type);
   *   if (types.length === 2) break;
   * }
   * assert.deepEqual(types, [1, 2]);
   * q.remove();
   * ```
   */
  messages(
    options?: MessageQueueReceiveOptions & Pick<WaitOptions, "signal">,
  ): AsyncGenerator<Message, void, undefined> {
    checkWaitOptions(options);
    if (!this.closed) this.#select(options);
    return untilClosed(
      this,
      (signal) => this.receive({ ...options, signal }),
      { signal: options?.signal, giveBack: (m) => this.#putBack(m) },
    );
  }

  /**
   * Every message, in queue order, until the handle is closed:
   * `for await (const m of queue)`; the same as {@link MessageQueue.messages}.
   *
   * Wraps `msgrcv(2)`. Needs `--allow-ffi`.
   *
   * @returns the messages
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("only");
   * for await (const m of q) {
   *   assert.equal(new TextDecoder().decode(m.data), "only");
   *   break;
   * }
   * q.remove();
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    return this.messages();
  }

  // ---------------------------------------------------------- management

  /**
   * The queue's state (`msgctl(IPC_STAT)`).
   *
   * Needs `--allow-ffi`.
   *
   * @returns counts, limits, last sender and receiver, owner and mode
   * @throws {IpcError} EIDRM (or EINVAL for an id never known) when the queue no longer exists
   * @throws {Deno.errors.PermissionDenied} when this user may not read the queue
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.sendSync("x");
   * const st = q.stat();
   * assert.deepEqual([st.messages, st.bytes, st.lastSendPid], [1, 1, Deno.pid]);
   * q.remove();
   * ```
   */
  stat(): MessageQueueStat {
    const ds = this.#statRaw();
    const perm = ds.msg_perm;
    this.#maxBytes = Number(ds.msg_qbytes);
    return {
      ...ownershipOf(perm),
      messages: Number(ds.msg_qnum),
      bytes: Number(ds.__msg_cbytes),
      maxBytes: this.#maxBytes,
      lastSendPid: ds.msg_lspid,
      lastReceivePid: ds.msg_lrpid,
      lastSend: timeOf(ds.msg_stime),
      lastReceive: timeOf(ds.msg_rtime),
      lastChange: timeOf(ds.msg_ctime) ?? new Date(0),
    };
  }

  #statRaw(): ReturnType<typeof MSQID_DS.decode> {
    const buf = new Uint8Array(MSQID_DS.size);
    ok(libc.msgctl(this.#idFor("msgctl"), C.IPC_STAT, buf), "msgctl", this.#about);
    return MSQID_DS.decode(buf);
  }

  /**
   * Sets how many bytes the queue holds (`msgctl(IPC_SET)` of `msg_qbytes`,
   * after `IPC_STAT` to keep the other fields). A later send of a message
   * larger than that is a RangeError; one already waiting for room, here or
   * in another process, waits on as C's does (the kernel keeps it asleep),
   * until its timeout, an abort or the queue's removal.
   *
   * Needs `--allow-ffi`.
   *
   * @param bytes the new capacity
   * @throws {TypeError} when `bytes` is not a number
   * @throws {RangeError} when `bytes` is not an integer 1..2^31-1, or above the kernel's `msgmnb` without `CAP_SYS_RESOURCE`
   * @throws {Deno.errors.PermissionDenied} when this user may not read or change the queue
   * @throws {IpcError} EIDRM when the queue no longer exists
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.setMaxBytes(4096);
   * assert.equal(q.stat().maxBytes, 4096);
   * q.remove();
   * ```
   */
  setMaxBytes(bytes: number): void {
    this.#idFor("msgctl");
    // The kernel takes the capacity as an int (msgctl_down): 2^32 would arrive as 0.
    checkInteger(bytes, "bytes", 1, 0x7fffffff);
    const ds = this.#statRaw();
    const buf = MSQID_DS.encode({ ...ds, msg_qbytes: BigInt(bytes) });
    if (libc.msgctl(this.id, C.IPC_SET, buf) < 0) {
      const code = lastErrno();
      // Above msgmnb the kernel wants CAP_SYS_RESOURCE (which even root may lack);
      // EPERM also means "not the owner": setting the capacity it has tells which.
      const msgmnb = kernelLimit("msgmnb");
      if (
        code === E.EPERM && bytes > msgmnb &&
        libc.msgctl(this.id, C.IPC_SET, MSQID_DS.encode(ds)) === 0
      ) {
        throw new RangeError(
          `${bytes} bytes exceeds the kernel's msgmnb (${msgmnb} bytes, /proc/sys/kernel/msgmnb) and this process lacks CAP_SYS_RESOURCE`,
        );
      }
      throw this.#about(code, "msgctl");
    }
    this.#maxBytes = bytes;
  }

  /**
   * Changes the queue's owner (`uid`, `gid`) or permission bits (`mode`),
   * as sysv_ipc's `uid`/`gid`/`mode` setters and C's `msgctl(IPC_SET)` after
   * `IPC_STAT` do: the fields given are set, the others (and the capacity,
   * which `IPC_SET` writes too) stay as they are; the creator stays the
   * creator. Only the owner, the creator or a process with `CAP_SYS_ADMIN`
   * may do it, and they may give the queue to any user. A queue whose
   * capacity is above the kernel's `msgmnb` (raised by a process with
   * `CAP_SYS_RESOURCE`, or `msgmnb` lowered since) can be changed only by a
   * process with `CAP_SYS_RESOURCE`, whatever the change: the kernel checks
   * the capacity of every `IPC_SET` (lower it first with
   * {@link MessageQueue.setMaxBytes}).
   *
   * Wraps `msgctl(2)` (`IPC_STAT`, then `IPC_SET`). Needs `--allow-ffi`.
   *
   * @param change `uid`, `gid` (0..2^32-2) and `mode` (0..0o777), each optional
   * @throws {TypeError} when `change` is not an object, has another key (`owner`, `perms`),
   *   or a field is not a number
   * @throws {RangeError} when `uid` or `gid` is not an integer 0..2^32-2 (2^32-1 is
   *   `(uid_t)-1`), or `mode` not one 0..0o777
   * @throws {Deno.errors.PermissionDenied} EACCES when this user may not read the queue; EPERM
   *   when it is neither the owner nor the creator (and lacks `CAP_SYS_ADMIN`), or the queue's
   *   capacity is above `msgmnb` and it lacks `CAP_SYS_RESOURCE`: the message says which
   * @throws {IpcError} EINVAL when `uid` or `gid` has no mapping in this user namespace; EIDRM
   *   when the queue has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.setOwnership({ mode: 0o660 }); // the owner's group may use it too
   * const st = q.stat();
   * assert.deepEqual([st.mode, st.uid, st.creatorUid], [0o660, Deno.uid(), Deno.uid()]);
   * q.remove();
   * ```
   */
  setOwnership(change: SysvOwnershipChange): void {
    this.#idFor("msgctl");
    setOwnershipOf(change, {
      stat: () => this.#statRaw(),
      perm: (ds) => ds.msg_perm,
      set: (ds) => libc.msgctl(this.id, C.IPC_SET, MSQID_DS.encode(ds)),
      error: (code) => this.#about(code, "msgctl"),
      refused: (ds) => {
        const msgmnb = kernelLimit("msgmnb");
        return ds.msg_qbytes > BigInt(msgmnb)
          ? `its capacity, ${ds.msg_qbytes} bytes, is above the kernel's msgmnb (${msgmnb} ` +
            "bytes, /proc/sys/kernel/msgmnb): the kernel refuses any IPC_SET of such a queue " +
            "to a process without CAP_SYS_RESOURCE"
          : undefined;
      },
    });
  }

  /**
   * Destroys the queue (`msgctl(IPC_RMID)`): its messages are gone and every
   * process waiting on it wakes with `EIDRM`. This handle is closed too.
   *
   * Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.PermissionDenied} when this user may not remove it (neither its owner nor its creator)
   * @throws {IpcError} EIDRM when the queue no longer exists
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const q = MessageQueue.open("private");
   * q.remove();
   * assert.throws(() => MessageQueue.fromId(q.id), { code: "EINVAL" });
   * ```
   */
  remove(): void {
    ok(libc.msgctl(this.#idFor("msgctl"), C.IPC_RMID, null), "msgctl", this.#about);
    this.close();
  }

  /**
   * Lets this process exit while a receive on this handle is pending, like `Deno.Conn.unref()`.
   * Sends keep it alive whatever this says, so that no message is lost when a script ends.
   * While the process runs for other reasons, an unref'd wait still completes: it polls without
   * a thread, within 10 ms for its first quarter second, then within 50 ms. Applies to pending
   * waits too.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * const got = q.receive();
   * q.unref(); // the receive goes on, but no longer keeps the process alive
   * q.sendSync("late");
   * q.ref(); // it keeps the process alive again while it is awaited below
   * assert.equal(new TextDecoder().decode((await got).data), "late");
   * q.remove();
   * ```
   */
  unref(): void {
    this.#waits.ref = false;
  }

  /**
   * Undoes {@link MessageQueue.unref}: pending and later waits keep the process
   * alive again (the default).
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using q = MessageQueue.open("private");
   * q.unref();
   * q.ref();
   * const got = q.receive();
   * await q.send("x");
   * assert.equal(new TextDecoder().decode((await got).data), "x");
   * q.remove();
   * ```
   */
  ref(): void {
    this.#waits.ref = true;
  }

  /**
   * Closes this handle (the queue itself lives on: see {@link MessageQueue.remove});
   * pending waits reject with `BadResource` (`EBADF`), each with an error of
   * its own. Closing twice does nothing. No system call: a System V queue id
   * is not a descriptor.
   *
   * @example
   * ```ts
   * import { MessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const q = MessageQueue.open("private");
   * const pending = q.receive();
   * q.close();
   * await assert.rejects(pending, { name: "BadResource", code: "EBADF", id: q.id });
   * MessageQueue.fromId(q.id).remove(); // the queue outlived the handle
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.cancelAll((syscall) =>
      closedError(`message queue ${this.id}`, syscall, this.#subject)
    );
    releaseIdle();
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
