/**
 * POSIX message queues (`mq_overview(7)`): `mq_open(3)`, `mq_send(3)`,
 * `mq_receive(3)`, `mq_getattr(3)`, `mq_unlink(3)`.
 *
 * On Linux a queue descriptor (`mqd_t`) is a file descriptor that `poll(2)`
 * reports readable while a message waits and writable while there is room, so
 * the waits go through the same epoll engine as pipes: every descriptor is
 * opened `O_NONBLOCK`, an operation is first tried without waiting, then after
 * a short spin, then when the engine reports the queue ready.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, attempt, E, failed, ok } from "../_sys.ts";
import { errorFromCode, type ErrorSubject } from "../errors.ts";
import {
  bytesOf,
  checkBoolean,
  checkBuffer,
  checkInteger,
  checkMode,
  checkOptions,
  checkUnchanged,
} from "../_check.ts";
import { keepLanded, landingArea } from "../_landing.ts";
import type { Access, SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  blockingCall,
  checkWaitOptions,
  fdSource,
  interruptible,
  type Operation,
  pollSync,
  READABLE,
  rejectedNow,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  waitSync,
  WRITABLE,
} from "../_wait/mod.ts";
import { FdHandle, waitsOf } from "../fd/handle.ts";
import { ownNonBlocking } from "../fd/_adopt.ts";
import { accessFlags, checkName, checkPriority, checkSize, openError } from "./_posix_checks.ts";
import { checkNotOwned } from "../_owned_fds.ts";
import type { SignalName } from "../signal/names.ts";
import {
  listen,
  notificationOf,
  type PosixMessageQueueNotificationOptions,
} from "./_notification.ts";

const MQ_ATTR = LAYOUTS.mq_attr;
const NO_BYTES = new Uint8Array(0);

/** Turns the `n` bytes a receive put into `buf` into its result. */
type Make<T> = (buf: Uint8Array, n: number) => T;

/**
 * Options of {@link PosixMessageQueue.open}.
 *
 * @example A queue of one message at most
 * ```ts
 * import { PosixMessageQueue, type PosixMessageQueueOpenOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-open-options`;
 * const options: PosixMessageQueueOpenOptions = { create: true, maxMessages: 1, messageSize: 8 };
 * using q = PosixMessageQueue.open(name, options);
 * PosixMessageQueue.unlink(name);
 * q.trySend("one");
 * assert.throws(() => q.trySend("two"), Deno.errors.WouldBlock); // full
 * ```
 */
export interface PosixMessageQueueOpenOptions {
  /** Create the queue if it does not exist (`O_CREAT`). Default `false`. */
  create?: boolean;
  /** With `create`: fail with `AlreadyExists` if the queue exists (`O_EXCL`). */
  exclusive?: boolean;
  /**
   * Permission bits of a queue this call creates, applied exactly (the umask
   * does not narrow them). Default `0o600`: owner only.
   */
  mode?: number;
  /**
   * Capacity in messages of a queue this call creates (`mq_maxmsg`). Default:
   * the kernel's, `/proc/sys/fs/mqueue/msg_default`. At most
   * `/proc/sys/fs/mqueue/msg_max` (10 by default) unless the process has
   * `CAP_SYS_RESOURCE`, which lifts that to 65536.
   */
  maxMessages?: number;
  /**
   * Largest message in bytes of a queue this call creates (`mq_msgsize`).
   * Default: `/proc/sys/fs/mqueue/msgsize_default`. At most
   * `/proc/sys/fs/mqueue/msgsize_max` (8192 by default) unless the process
   * has `CAP_SYS_RESOURCE`, which lifts that to 16 MiB.
   */
  messageSize?: number;
  /** `"read"` to receive, `"write"` to send, `"readwrite"` (default) for both. */
  access?: Access;
}

/**
 * What {@link PosixMessageQueue.attributes} reports (`struct mq_attr`).
 *
 * @example
 * ```ts
 * import { PosixMessageQueue, type PosixMessageQueueAttributes } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-attributes`;
 * using q = PosixMessageQueue.open(name, { create: true, maxMessages: 2, messageSize: 16 });
 * PosixMessageQueue.unlink(name);
 * q.trySend("one");
 * const attributes: PosixMessageQueueAttributes = q.attributes();
 * assert.deepEqual(attributes, {
 *   maxMessages: 2,
 *   messageSize: 16,
 *   currentMessages: 1,
 *   nonBlocking: true,
 * });
 * ```
 */
export interface PosixMessageQueueAttributes {
  /** Capacity in messages (`mq_maxmsg`). */
  maxMessages: number;
  /** Largest message in bytes (`mq_msgsize`). */
  messageSize: number;
  /** Messages in the queue now (`mq_curmsgs`). */
  currentMessages: number;
  /**
   * Whether this descriptor is non-blocking (`mq_flags & O_NONBLOCK`): true for
   * this library's handles, unless a process that shares the description (a
   * child it was handed to) cleared it; the try forms still never wait.
   */
  nonBlocking: boolean;
}

/**
 * A received message.
 *
 * @example
 * ```ts
 * import { PosixMessageQueue, type PosixMessage } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-message`;
 * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
 * PosixMessageQueue.unlink(name);
 * q.sendSync("hello", { priority: 3 });
 * const message: PosixMessage = q.receiveSync();
 * assert.deepEqual([new TextDecoder().decode(message.data), message.priority], ["hello", 3]);
 * ```
 */
export interface PosixMessage {
  /**
   * The bytes of the message, which no later receive writes. Small messages'
   * bytes share one `ArrayBuffer` (see {@link PosixMessageQueue.receive}):
   * `data.slice()` gives them a buffer of their own.
   */
  data: Uint8Array<ArrayBuffer>;
  /** Its priority, 0 (lowest) to 32767. */
  priority: number;
}

/**
 * What {@link PosixMessageQueue.receiveInto} took: its size and priority; its bytes are in the
 * caller's buffer.
 *
 * @example
 * ```ts
 * import { PosixMessageQueue, type PosixMessageInfo } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-message-info`;
 * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
 * PosixMessageQueue.unlink(name);
 * q.sendSync("hello", { priority: 3 });
 * const buffer = new Uint8Array(q.messageSize); // room for the largest message
 * const info: PosixMessageInfo = q.receiveIntoSync(buffer);
 * assert.deepEqual(info, { size: 5, priority: 3 });
 * ```
 */
export interface PosixMessageInfo {
  /** How many bytes it has, at the start of the buffer. */
  size: number;
  /** Its priority, 0 (lowest) to 32767. */
  priority: number;
}

/**
 * What to send: the message's priority.
 *
 * @example The higher priority is received first
 * ```ts
 * import { PosixMessageQueue } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-send-options`;
 * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
 * PosixMessageQueue.unlink(name);
 * q.sendSync("routine"); // priority 0
 * q.sendSync("urgent", { priority: 5 });
 * assert.equal(new TextDecoder().decode(q.receiveSync().data), "urgent");
 * ```
 */
export interface PosixMessageQueueSendOptions {
  /** 0 (default, lowest) to `MQ_PRIO_MAX - 1` (32767): higher priorities are received first. */
  priority?: number;
}

/**
 * The deadline of a try: the epoch, long past. A descriptor shares
 * `O_NONBLOCK` with the processes it was handed to, and one of them may clear
 * it; a try with a past deadline still returns at once (ETIMEDOUT then, where
 * a non-blocking one says EAGAIN).
 */
const LONG_PAST = new Uint8Array(LAYOUTS.timespec.size);
const WOULD_WAIT = [E.EAGAIN, E.ETIMEDOUT] as const;

/**
 * A POSIX message queue (`mq_overview(7)`): a kernel queue of messages with a
 * name like `"/jobs"`, which any process may open. Messages keep their
 * boundaries, have a priority (higher first; FIFO within one priority), and
 * are at most {@link PosixMessageQueue.messageSize} bytes; a full queue makes
 * senders wait, an empty one receivers.
 *
 * Every operation comes in three forms: `send`/`receive` return promises and
 * never block the event loop (`signal` and `timeout` cancel them),
 * `sendSync`/`receiveSync` block the thread, `trySend`/`tryReceive` never wait
 * (`Deno.errors.WouldBlock`). A queue outlives its processes until
 * {@link PosixMessageQueue.unlink} removes its name.
 *
 * Wraps `mq_open(3)`, `mq_send(3)`, `mq_receive(3)`, `mq_getattr(3)`,
 * `mq_unlink(3)`. Needs `--allow-ffi`.
 *
 * @example Send, then receive the highest priority first
 * ```ts
 * import { PosixMessageQueue } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-class`;
 * using q = PosixMessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 64 });
 * try {
 *   await q.send("low", { priority: 1 });
 *   await q.send("high", { priority: 9 });
 *   const { data, priority } = await q.receive();
 *   assert.equal(new TextDecoder().decode(data), "high");
 *   assert.equal(priority, 9);
 * } finally {
 *   PosixMessageQueue.unlink(name);
 * }
 * ```
 */
export class PosixMessageQueue extends FdHandle implements AsyncIterable<PosixMessage> {
  readonly #name: string | null;
  readonly #messageSize: number;
  readonly #canRead: boolean;
  readonly #canWrite: boolean;
  readonly #prio = new Uint32Array(new ArrayBuffer(4));
  readonly #prioBytes = new Uint8Array(this.#prio.buffer);
  readonly #send: WaitContext;
  readonly #receive: WaitContext;
  #readable?: ReturnType<typeof fdSource>;
  #writable?: ReturnType<typeof fdSource>;

  private constructor(fd: number, name: string | null, messageSize: number, flags: number) {
    super(fd);
    this.#name = name;
    this.#messageSize = messageSize;
    this.#canRead = (flags & 3) !== C.O_WRONLY;
    this.#canWrite = (flags & 3) !== C.O_RDONLY;
    this.#send = { spinner: new Spinner(), registry: waitsOf(this), keepsAlive: true };
    this.#receive = { spinner: new Spinner(), registry: waitsOf(this) };
  }

  /**
   * Opens a queue, creating it with `create: true`. The descriptor is
   * non-blocking and close-on-exec. A queue this call creates gets exactly
   * `mode` (default `0o600`) and the size asked for; an existing queue keeps
   * its own (see {@link PosixMessageQueue.attributes}).
   *
   * Every argument is checked before any system call. `maxMessages` and
   * `messageSize` may not exceed `/proc/sys/fs/mqueue/msg_max` and
   * `msgsize_max` (10 and 8192 by default) unless the process has
   * `CAP_SYS_RESOURCE` (being root is not enough where that capability is
   * withheld, as in many containers); then the kernel allows up to 65536
   * messages and 16 MiB. Whatever the limits, all the queues of one user may
   * hold at most `RLIMIT_MSGQUEUE` bytes (819200 by default: about nine queues
   * of the default 10 × 8 KiB), root included.
   *
   * Wraps `mq_open(3)` (and `fchmod(2)`, `mq_getattr(3)`). Needs `--allow-ffi`.
   *
   * @param name `"/"` followed by 1 to 255 bytes, none of them `"/"`
   * @param options `create`, `exclusive`, `mode`, `maxMessages`, `messageSize`, `access`
   * @returns the open queue; close it (or `using`) when done
   * @throws {TypeError} for a malformed name (no leading `"/"`, another `"/"`, a NUL), `options` that is not an object, a wrong option type, or `exclusive` without `create`
   * @throws {RangeError} for a name of the wrong length, or a `mode`, `maxMessages` or `messageSize` out of range (the message names the limit)
   * @throws {Deno.errors.NotFound} when the queue does not exist and `create` is not set
   * @throws {Deno.errors.AlreadyExists} when it exists and `exclusive` is set
   * @throws {Deno.errors.PermissionDenied} when its mode does not allow `access`
   * @throws {IpcError} EMFILE when out of descriptors or over `RLIMIT_MSGQUEUE`, ENOSPC when the system has `queues_max` queues
   *
   * @example Create exclusively, owner-only, small
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-open`;
   * const q = PosixMessageQueue.open(name, {
   *   create: true,
   *   exclusive: true,
   *   mode: 0o600,
   *   maxMessages: 8,
   *   messageSize: 256,
   * });
   * try {
   *   assert.deepEqual(q.attributes(), {
   *     maxMessages: 8,
   *     messageSize: 256,
   *     currentMessages: 0,
   *     nonBlocking: true,
   *   });
   * } finally {
   *   q.close();
   *   PosixMessageQueue.unlink(name);
   * }
   * ```
   */
  static open(name: string, options: PosixMessageQueueOpenOptions = {}): PosixMessageQueue {
    const c = checkName(name);
    checkOptions(options);
    const access = accessFlags(options.access);
    const create = checkBoolean(options.create, "create");
    const exclusive = checkBoolean(options.exclusive, "exclusive");
    if (exclusive && !create) throw new TypeError("exclusive needs create: true");
    const mode = checkMode(options.mode);
    // Checked even when the queue exists already: the caller meant it.
    const size = checkSize(options);
    const flags = access | C.O_NONBLOCK | C.O_CLOEXEC;
    const excl = C.O_CREAT | C.O_EXCL;

    let attr: Uint8Array | null = null;
    if (size !== undefined) {
      attr = MQ_ATTR.encode({
        mq_flags: 0,
        mq_maxmsg: size.maxMessages,
        mq_msgsize: size.messageSize,
        mq_curmsgs: 0,
        __pad: [0, 0, 0, 0],
      });
    }
    const opening = (code: number) => openError(code, name, undefined);
    const creating = (code: number) => openError(code, name, size);
    const openExisting = (again: number[]) =>
      attempt(() => libc.mq_open(c, flags, 0, null), "mq_open", opening, again);
    let fd: number | typeof AGAIN = AGAIN;
    let created = false;
    if (!create) fd = openExisting([]);
    // Create exclusively first: only a queue this call made gets its mode set.
    while (fd === AGAIN) {
      const exists = exclusive ? [] : [E.EEXIST];
      fd = attempt(() => libc.mq_open(c, flags | excl, mode, attr), "mq_open", creating, exists);
      created = fd !== AGAIN;
      // It exists: open it, unless it was unlinked in between (then create it again).
      if (fd === AGAIN) fd = openExisting([E.ENOENT]);
    }
    try {
      // mq_open applies the umask; the mode asked for is the mode wanted.
      if (created) ok(libc.fchmod(fd, mode), "fchmod", { path: name });
      const attrBuf = new Uint8Array(MQ_ATTR.size);
      ok(libc.mq_getattr(fd, attrBuf), "mq_getattr", { path: name });
      const messageSize = Number(MQ_ATTR.decode(attrBuf).mq_msgsize);
      return new PosixMessageQueue(fd, name, messageSize, flags);
    } catch (e) {
      libc.mq_close(fd);
      if (created) libc.mq_unlink(c);
      throw e;
    }
  }

  /**
   * Adopts the descriptor of a queue, typically the one a parent handed over
   * (`spawn(module, { fds: { 3: queue } })`): the handle owns it from then on
   * and makes it close-on-exec. A blocking descriptor gets a non-blocking open
   * file description of its own (the one it shares with others stays as it
   * is), reopened through `/proc/self/fd`; where the queue's mode does not let
   * this process open it (a child that dropped privileges), the handle uses
   * the blocking description it was given, without changing its mode, as C
   * would. When this throws, the descriptor is left as it was, still the caller's.
   *
   * Wraps `fcntl(2)` and `mq_getattr(3)`. Needs `--allow-ffi`.
   *
   * @param fd an open descriptor of a POSIX message queue
   * @returns the queue; its {@link PosixMessageQueue.name} is `""`, its
   *   {@link PosixMessageQueue.access} that of the descriptor
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is not a number, or not a POSIX message queue
   * @throws {RangeError} when `fd` is not an integer 0..2^31-1
   * @throws {Deno.errors.BadResource} when `fd` is not open (EBADF)
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const libc = Deno.dlopen("libc.so.6", { dup: { parameters: ["i32"], result: "i32" } });
   * const name = `/libc-ipc-doc-${Deno.pid}-fromfd`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
   * PosixMessageQueue.unlink(name);
   * // A descriptor from elsewhere; in a child, the fd 3 that spawn handed over.
   * using same = PosixMessageQueue.fromFd(libc.symbols.dup(q.fd));
   * libc.close();
   * q.sendSync("hi");
   * assert.equal(new TextDecoder().decode(same.receiveSync().data), "hi");
   * assert.equal(same.name, "");
   * ```
   */
  static fromFd(fd: number): PosixMessageQueue {
    fd = checkInteger(fd, "PosixMessageQueue.fromFd: fd", 0, 0x7fffffff);
    checkNotOwned(fd, "PosixMessageQueue.fromFd");
    const flags = ok(libc.fcntl(fd, C.F_GETFL, 0), "fcntl", { fd });
    const attrBuf = new Uint8Array(MQ_ATTR.size);
    if (libc.mq_getattr(fd, attrBuf) < 0) {
      // EBADF from an open descriptor: it is something else.
      throw new TypeError(`PosixMessageQueue.fromFd: fd ${fd} is not a POSIX message queue`);
    }
    const messageSize = Number(MQ_ATTR.decode(attrBuf).mq_msgsize);
    // Where it cannot have a description of its own, it keeps the blocking one it was
    // given, as C would: every try has a deadline long past, so none waits on it.
    if ((flags & C.O_NONBLOCK) !== 0 || !ownNonBlocking(fd, flags)) {
      ok(libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC), "fcntl", { fd });
    }
    return new PosixMessageQueue(fd, null, messageSize, flags | C.O_NONBLOCK);
  }

  /**
   * Removes a queue's name (`mq_unlink(3)`). Processes that have it open keep
   * using it; the queue is destroyed when the last one closes it.
   *
   * Needs `--allow-ffi`.
   *
   * @param name the queue's name, as given to {@link PosixMessageQueue.open}
   * @throws {TypeError} for a malformed name
   * @throws {RangeError} for a name of the wrong length
   * @throws {Deno.errors.NotFound} when no queue has that name
   * @throws {Deno.errors.PermissionDenied} when the caller may not remove it
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-unlink`;
   * PosixMessageQueue.open(name, { create: true, messageSize: 16 }).close();
   * PosixMessageQueue.unlink(name);
   * assert.throws(() => PosixMessageQueue.unlink(name), Deno.errors.NotFound);
   * ```
   */
  static unlink(name: string): void {
    const c = checkName(name);
    ok(libc.mq_unlink(c), "mq_unlink", { path: name });
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    // Not this.fd, whose getter throws once closed with an error that names `what`.
    return this.#name === null
      ? `message queue fd ${this.subject.fd}`
      : `message queue '${this.#name}'`;
  }

  /** What its errors name besides its descriptor: the queue's name. */
  protected override describe(): ErrorSubject {
    return this.#name === null ? {} : { path: this.#name };
  }

  /**
   * The queue's name, as given to {@link PosixMessageQueue.open}; `""` for one
   * adopted with {@link PosixMessageQueue.fromFd}, which has no name here.
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-name`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
   * PosixMessageQueue.unlink(name);
   * assert.equal(q.name, name);
   * ```
   */
  get name(): string {
    return this.#name ?? "";
  }
  /**
   * What it was opened for: `"readwrite"` (the default), `"read"` or `"write"`.
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-access`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16, access: "write" });
   * PosixMessageQueue.unlink(name);
   * assert.equal(q.access, "write");
   * ```
   */
  get access(): Access {
    return this.#canRead ? (this.#canWrite ? "readwrite" : "read") : "write";
  }

  /**
   * The largest message this queue takes, in bytes (`mq_msgsize`, fixed when it was created).
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-size`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 100 });
   * PosixMessageQueue.unlink(name);
   * assert.equal(q.messageSize, 100);
   * ```
   */
  get messageSize(): number {
    return this.#messageSize;
  }

  /**
   * The queue's attributes now (`mq_getattr(3)`). Needs `--allow-ffi`.
   *
   * @returns capacity, message size, messages waiting, and the descriptor's non-blocking flag
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-attr`;
   * using q = PosixMessageQueue.open(name, { create: true, maxMessages: 3, messageSize: 32 });
   * PosixMessageQueue.unlink(name);
   * q.trySend("one");
   * assert.equal(q.attributes().currentMessages, 1);
   * ```
   */
  attributes(): PosixMessageQueueAttributes {
    const buf = new Uint8Array(MQ_ATTR.size);
    ok(libc.mq_getattr(this.fdFor("mq_getattr"), buf), "mq_getattr", this.subject);
    const a = MQ_ATTR.decode(buf);
    return {
      maxMessages: Number(a.mq_maxmsg),
      messageSize: Number(a.mq_msgsize),
      currentMessages: Number(a.mq_curmsgs),
      nonBlocking: (Number(a.mq_flags) & C.O_NONBLOCK) !== 0,
    };
  }

  // -------------------------------------------------------- notification

  /**
   * Asks the kernel to send `signal` to this process when a message comes to
   * the queue while it is empty (`mq_notify(3)` with `SIGEV_SIGNAL`), once:
   * the request ends when the signal is sent, and is asked again to hear of
   * the next message. A message that a receive already waiting in
   * `mq_receive` (a sync form of this library, in any process) takes sends
   * no signal. One process at a time may ask, per queue.
   *
   * Two ways to hear it. A signal blocked in every thread (a program started
   * with `spawn(..., { blockSignals })` or `relaunchWithSignalsBlocked`) is
   * read with {@link signals}, which gives `code` SI_MESGQ (-3), `value`, and
   * the pid and uid of the message's sender. Any other needs `listener`
   * (without one, the signal's default action would end the process: refused
   * before any call), called at each delivery of that signal, whatever sent
   * it, until {@link PosixMessageQueue.cancelNotification}, `close()` or the
   * next request. The library hears the signal through one
   * `Deno.addSignalListener` of its own, added at the first such request and
   * kept for the life of the process (in Deno, a signal that comes as its last
   * listener is removed ends the process): from then on, that signal no
   * longer has its default action here, which is why SIGINT, SIGTERM, SIGHUP,
   * SIGQUIT and the stop signals (SIGTSTP, SIGTTIN, SIGTTOU) are refused with
   * a listener (as is SIGUSR1, at which Deno
   * opens its inspector), and why a Worker may not ask with one. Listeners
   * of one signal hear each other's deliveries: give each queue a signal of
   * its own. A listener that throws is reported (`reportError`): the program
   * ends as at an uncaught exception unless a global "error" listener calls
   * `preventDefault()`. A listener keeps the program alive no more than
   * `Deno.addSignalListener` does: one with nothing else to wait for ends.
   *
   * The kernel ends the request, without a signal, when this process closes
   * **any** descriptor of the queue: `close()` of this or another handle of
   * it, the copies that `spawn(..., { fds })`, `sendFds` and `fromFd` close,
   * even a read of its file under /dev/mqueue. Hand the queue over first,
   * then ask. A child does not inherit the request. The listener is called
   * with no argument: `value` is for a reader of the signal (`signals()`),
   * and a listener tells its queue by the signal it gave it.
   *
   * Wraps `mq_notify(3)`. Needs `--allow-ffi`.
   *
   * @param signal a name like `"SIGUSR2"` or `"SIGRTMIN+1"`, or a number
   * @param options `value`, the 32-bit integer the signal carries (default 0); `listener`
   * @throws {TypeError} for an unknown signal name, a value that is not a number, a listener
   *   that is not a function, a listener for a signal that is blocked (it would never hear it),
   *   a signal `Deno.addSignalListener` does not take, or an unknown option
   * @throws {RangeError} for a bad signal number or value, SIGKILL or SIGSTOP, or the library's
   *   own signals (SIGRTMAX, SIGRTMAX-1)
   * @throws {Deno.errors.NotSupported} for a signal that is not blocked, without a listener, or
   *   with one for SIGUSR1, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN or SIGTTOU, or
   *   in a Worker
   * @throws {Deno.errors.Busy} when a process (this one too) has asked already (`EBUSY`)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example Hear of the first message
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-notify`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
   * PosixMessageQueue.unlink(name);
   * const heard = Promise.withResolvers<void>();
   * q.requestNotification("SIGUSR2", { listener: () => heard.resolve() });
   * q.trySend("hello"); // to the empty queue: the signal goes
   * // A signal listener keeps the program alive for nothing: a timer does, meanwhile.
   * const alive = setTimeout(() => {}, 10_000);
   * await heard.promise;
   * clearTimeout(alive);
   * assert.equal(new TextDecoder().decode(q.tryReceive().data), "hello");
   * ```
   */
  requestNotification(
    signal: SignalName | number,
    options?: PosixMessageQueueNotificationOptions,
  ): void {
    const fd = this.fdFor("mq_notify");
    const { event, name, listener } = notificationOf(signal, options);
    // Listening first: the signal may come as soon as the kernel has the request.
    const unlisten = listener === undefined ? undefined : listen(name, listener);
    try {
      ok(libc.mq_notify(fd, event), "mq_notify", this.#notifyError);
    } catch (e) {
      // Busy: the request that stands keeps its listener.
      unlisten?.();
      throw e;
    }
    // One the kernel ended without a word (a descriptor of the queue closed), or heard.
    this.#unlisten?.();
    this.#unlisten = unlisten;
  }

  /**
   * Ends this process's request of {@link PosixMessageQueue.requestNotification}
   * (`mq_notify(3)` with NULL) and removes its listener; nothing when it has
   * none (another process's request stays). Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * const name = `/libc-ipc-doc-${Deno.pid}-unnotify`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
   * PosixMessageQueue.unlink(name);
   * q.requestNotification("SIGUSR2", { listener: () => {} });
   * q.cancelNotification();
   * q.requestNotification("SIGUSR2", { listener: () => {} }); // no longer Busy
   * q.cancelNotification();
   * ```
   */
  cancelNotification(): void {
    ok(libc.mq_notify(this.fdFor("mq_notify"), null), "mq_notify", this.subject);
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  /**
   * Closes the queue's descriptor, which ends this process's request of
   * {@link PosixMessageQueue.requestNotification} (its listener is removed);
   * see {@link FdHandle.close}. Idempotent.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-close`;
   * const q = PosixMessageQueue.open(name, { create: true, messageSize: 16 });
   * PosixMessageQueue.unlink(name);
   * q.close();
   * assert.equal(q.closed, true);
   * ```
   */
  override close(): void {
    super.close();
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  /** Removes the listener of this handle's request. */
  #unlisten?: () => void;

  /** EBUSY says who holds the queue's one request. */
  #notifyError = (code: number, syscall: string): Error =>
    errorFromCode(
      code,
      syscall,
      this.subject,
      code === E.EBUSY ? "a process (this one too) has asked for notification already" : undefined,
    );

  // ------------------------------------------------------------- sending

  /** Checks a send before any syscall; returns the bytes. */
  #checkSend(data: Uint8Array | string): Uint8Array {
    const bytes = bytesOf(data);
    if (!this.#canWrite) {
      throw new TypeError(`${this.what} was opened with access "read": it cannot send`);
    }
    if (bytes.byteLength > this.#messageSize) {
      throw new RangeError(
        `message is ${bytes.byteLength} bytes; the queue's limit (messageSize) is ${this.#messageSize}`,
      );
    }
    return bytes;
  }

  /** The send of `bytes` as an operation of its own, for a send that has to wait. */
  #sendOp(bytes: Uint8Array, prio: number): Operation<void> {
    const length = bytes.byteLength;
    return {
      syscall: "mq_send",
      subject: this.subject,
      attempt: () => {
        checkUnchanged(bytes, length);
        return this.#trySend(bytes, prio);
      },
      source: this.#writable ??= fdSource(this.fdFor("mq_send"), WRITABLE),
    };
  }

  /** One send without waiting. Written out, not through a helper taking a closure: the hot path. */
  #trySend(bytes: Uint8Array, priority: number): void | typeof AGAIN {
    const fd = this.fdFor("mq_send");
    while (libc.mq_timedsend(fd, bytes, bytes.byteLength, priority, LONG_PAST) < 0) {
      if (failed("mq_send", this.subject, WOULD_WAIT) === AGAIN) return AGAIN;
    }
  }

  /**
   * The sync and try forms, and the async forms' first try, end before any
   * other code runs: they share one operation object per direction, whose
   * message or target are these fields, so their hot path allocates nothing.
   * An async call that has to wait goes on with an operation of its own
   * (`forWait`).
   */
  #sendBytes: Uint8Array = NO_BYTES;
  #sendPriority = 0;
  #target?: Uint8Array;
  #sharedSend?: Operation<void>;
  #sharedReceive?: Operation<PosixMessage | PosixMessageInfo>;

  #shareSend(data: Uint8Array | string, priority: number | undefined): Operation<void> {
    this.#sendBytes = this.#checkSend(data);
    this.#sendPriority = checkPriority(priority);
    return this.#sharedSend ??= {
      syscall: "mq_send",
      subject: this.subject,
      attempt: () => this.#trySend(this.#sendBytes, this.#sendPriority),
      source: this.#writable ??= fdSource(this.fdFor("mq_send"), WRITABLE),
      forWait: () => this.#sendOp(this.#sendBytes, this.#sendPriority),
    };
  }

  /**
   * Sends a message, waiting while the queue is full, without blocking the
   * event loop.
   *
   * Wraps `mq_send(3)`. Needs `--allow-ffi`.
   *
   * @param data the message: bytes, or a string sent as UTF-8; at most {@link PosixMessageQueue.messageSize} bytes
   * @param options `priority` (0..32767, default 0), `signal` to cancel, `timeout` in milliseconds
   * @returns a promise that resolves once the message is in the queue
   * @throws {RangeError} when the message is larger than `messageSize`, the priority is out of range, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {TypeError} when `data` is neither bytes nor a string, `options` is not an object, `priority` is not a number, `signal` is not an AbortSignal, or the queue was opened with access `"read"`; when `data`'s buffer is detached or resized while the send waits (nothing is sent)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the queue is (or gets) closed
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-send`;
   * using q = PosixMessageQueue.open(name, { create: true, maxMessages: 1, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * await q.send("first");
   * // full: nobody receives
   * await assert.rejects(q.send("second", { timeout: 10 }), Deno.errors.TimedOut);
   * ```
   */
  send(
    data: Uint8Array | string,
    options?: PosixMessageQueueSendOptions & WaitOptions,
  ): Promise<void> {
    try {
      return wait(this.#shareSend(data, checkOptions(options).priority), options, this.#send);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Sends a message, blocking the thread while the queue is full.
   *
   * Wraps `mq_send(3)`. Needs `--allow-ffi`.
   *
   * @param data the message: bytes, or a string sent as UTF-8; at most {@link PosixMessageQueue.messageSize} bytes
   * @param options `priority` (0..32767, default 0), `timeout` in milliseconds
   * @throws {RangeError} when the message is larger than `messageSize`, the priority is out of range, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {TypeError} when `data` is neither bytes nor a string, `options` is not an object, `priority` is not a number, or the queue was opened with access `"read"`
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-sendsync`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * q.sendSync(new Uint8Array([1, 2, 3]), { priority: 5 });
   * assert.deepEqual(q.receiveSync(), { data: new Uint8Array([1, 2, 3]), priority: 5 });
   * ```
   */
  sendSync(
    data: Uint8Array | string,
    options?: PosixMessageQueueSendOptions & SyncWaitOptions,
  ): void {
    waitSync(this.#shareSend(data, checkOptions(options).priority), options, this.#send);
  }

  /**
   * Sends a message if there is room now, without waiting.
   *
   * Wraps `mq_send(3)`. Needs `--allow-ffi`.
   *
   * @param data the message: bytes, or a string sent as UTF-8; at most {@link PosixMessageQueue.messageSize} bytes
   * @param options `priority` (0..32767, default 0)
   * @throws {Deno.errors.WouldBlock} when the queue is full
   * @throws {RangeError} when the message is larger than `messageSize`, or the priority is out of range
   * @throws {TypeError} when `data` is neither bytes nor a string, `options` is not an object, `priority` is not a number, or the queue was opened with access `"read"`
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-trysend`;
   * using q = PosixMessageQueue.open(name, { create: true, maxMessages: 1, messageSize: 8 });
   * PosixMessageQueue.unlink(name);
   * q.trySend("a");
   * assert.throws(() => q.trySend("b"), Deno.errors.WouldBlock); // full
   * ```
   */
  trySend(data: Uint8Array | string, options?: PosixMessageQueueSendOptions): void {
    tryNow(this.#shareSend(data, checkOptions(options).priority));
  }

  // ----------------------------------------------------------- receiving

  #checkReceive(): void {
    if (!this.#canRead) {
      throw new TypeError(`${this.what} was opened with access "write": it cannot receive`);
    }
  }

  /**
   * The receive of a message into the buffer `where` gives at each try (at
   * least `messageSize` bytes, as mq_receive(3) wants) as an operation of the
   * waiting engine; `make` turns the `n` bytes received into `buf` into the
   * result.
   */
  #receiveOp<T>(where: () => Uint8Array, make: Make<T>): Operation<T> {
    this.#checkReceive();
    return {
      syscall: "mq_receive",
      subject: this.subject,
      attempt: () => this.#tryReceive(where(), make),
      source: this.#readable ??= fdSource(this.fdFor("mq_receive"), READABLE),
      block: (deadline) => this.#blockReceive(where(), make, deadline),
    };
  }

  /** One receive without waiting. Written out: the hot path. */
  #tryReceive<T>(buf: Uint8Array, make: Make<T>): T | typeof AGAIN {
    const fd = this.fdFor("mq_receive");
    for (;;) {
      const n = libc.mq_timedreceive(fd, buf, buf.byteLength, this.#prioBytes, LONG_PAST);
      if (n >= 0) return make(buf, n);
      if (failed("mq_receive", this.subject, WOULD_WAIT) === AGAIN) return AGAIN;
    }
  }

  /**
   * A receive on a blocking description: it waits and receives in one call
   * (interrupted at the deadline); `poll(2)` where there is none, or no alarm.
   */
  #blockReceive<T>(buf: Uint8Array, make: Make<T>, deadline: number): T | typeof AGAIN {
    const fd = this.blockingFd("mq_receive");
    if (fd < 0 || !interruptible(deadline)) {
      return pollSync(this.fdFor("mq_receive"), READABLE, deadline);
    }
    const receive = () => libc.mq_receive(fd, buf, buf.byteLength, this.#prioBytes);
    const n = blockingCall(deadline, receive, "mq_receive", this.subject);
    return n === AGAIN ? AGAIN : make(buf, n);
  }

  /** The shared receive: into the target when there is one, else where messages land. */
  #shareReceive(target: Uint8Array | undefined): Operation<PosixMessage | PosixMessageInfo> {
    this.#checkReceive();
    this.#target = target;
    return this.#sharedReceive ??= {
      syscall: "mq_receive",
      subject: this.subject,
      attempt: () => this.#tryReceive(this.#target ?? this.#landing(), this.#sharedResult),
      source: this.#readable ??= fdSource(this.fdFor("mq_receive"), READABLE),
      block: (deadline) =>
        this.#blockReceive(this.#target ?? this.#landing(), this.#sharedResult, deadline),
      forWait: () => this.#target === undefined ? this.#messageOp() : this.#intoOp(this.#target),
    };
  }

  #sharedResult = (buf: Uint8Array, n: number): PosixMessage | PosixMessageInfo =>
    this.#target === undefined ? this.#toMessage(buf, n) : this.#toInfo(buf, n);

  /** Where a message lands (see `_landing.ts`): mq_receive(3) wants room for the largest one. */
  #landing = (): Uint8Array => landingArea(this.#messageSize);

  #toMessage = (buf: Uint8Array, n: number): PosixMessage => ({
    data: keepLanded(buf, 0, n),
    priority: this.#prio[0],
  });

  #toInfo = (_: Uint8Array, n: number): PosixMessageInfo => ({ size: n, priority: this.#prio[0] });

  /** A receive of a message of its own, for an async call that has to wait. */
  #messageOp(): Operation<PosixMessage> {
    return this.#receiveOp(this.#landing, this.#toMessage);
  }

  /**
   * A receive straight into the caller's buffer (checked by the call), which
   * each try checks again: detached or shrunk below `messageSize` while the
   * receive waited, it is a TypeError, and the message stays queued.
   */
  #intoOp(buffer: Uint8Array): Operation<PosixMessageInfo> {
    const op = this.#receiveOp(() => buffer, this.#toInfo);
    return {
      ...op,
      // Not checkingBuffer(), which refuses any shrink: here room for the largest message is enough.
      attempt: () => {
        checkBuffer(buffer);
        if (buffer.byteLength < this.#messageSize) {
          throw new TypeError(
            `buffer was shrunk while the receive waited (${buffer.byteLength} bytes now; ` +
              `mq_receive needs ${this.#messageSize}): the message stays queued`,
          );
        }
        return op.attempt();
      },
    };
  }

  /** A caller's buffer to receive into: mq_receive(3) wants room for the largest message. */
  #checkTarget(buffer: Uint8Array): Uint8Array {
    checkBuffer(buffer);
    if (buffer.byteLength < this.#messageSize) {
      throw new RangeError(
        `buffer has ${buffer.byteLength} bytes; mq_receive needs room for the queue's largest message (messageSize: ${this.#messageSize})`,
      );
    }
    return buffer;
  }

  /**
   * Receives the oldest message of the highest priority, waiting while the
   * queue is empty, without blocking the event loop.
   *
   * A message's bytes are where the kernel wrote them: a view of a buffer
   * that small messages share (64 KiB; a new `ArrayBuffer` per message would
   * cost Deno about as much as the system call). No later receive writes
   * there; `data.slice()` gives bytes with a buffer of their own, to
   * transfer it or to post them to a Worker (a structured clone copies the
   * whole buffer). {@link PosixMessageQueue.receiveInto} takes a message into a
   * buffer the caller keeps.
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the message and its priority
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the queue is (or gets) closed
   * @throws {TypeError} when `signal` is not an AbortSignal, or the queue was opened with access `"write"`
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-receive`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * setTimeout(() => q.trySend("later"), 10);
   * const { data } = await q.receive({ timeout: 5000 });
   * assert.equal(new TextDecoder().decode(data), "later");
   * ```
   */
  receive(options?: WaitOptions): Promise<PosixMessage> {
    try {
      return wait(this.#shareReceive(undefined), options, this.#receive) as Promise<PosixMessage>;
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Receives the oldest message of the highest priority, blocking the thread
   * while the queue is empty.
   *
   * A message's bytes are where the kernel wrote them: a view of a buffer
   * that small messages share (64 KiB; a new `ArrayBuffer` per message would
   * cost Deno about as much as the system call). No later receive writes
   * there; `data.slice()` gives bytes with a buffer of their own, to
   * transfer it or to post them to a Worker (a structured clone copies the
   * whole buffer). {@link PosixMessageQueue.receiveIntoSync} takes a message into a
   * buffer the caller keeps.
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @param options `timeout` in milliseconds
   * @returns the message and its priority
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {TypeError} when the queue was opened with access `"write"`
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-receivesync`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * assert.throws(() => q.receiveSync({ timeout: 10 }), Deno.errors.TimedOut); // empty
   * ```
   */
  receiveSync(options?: SyncWaitOptions): PosixMessage {
    return waitSync(this.#shareReceive(undefined), options, this.#receive) as PosixMessage;
  }

  /**
   * Receives a message if one is waiting, without waiting.
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @returns the message and its priority
   * @throws {Deno.errors.WouldBlock} when the queue is empty
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {TypeError} when the queue was opened with access `"write"`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-tryreceive`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * assert.throws(() => q.tryReceive(), Deno.errors.WouldBlock); // empty
   * ```
   */
  tryReceive(): PosixMessage {
    return tryNow(this.#shareReceive(undefined)) as PosixMessage;
  }

  /**
   * Takes a message into `buffer`, without a copy: `mq_receive(3)` writes
   * into it directly. It must have room for the largest message the queue
   * takes ({@link PosixMessageQueue.messageSize}).
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @param buffer where the bytes go, at least `messageSize` bytes long
   * @param options `signal`, `timeout`
   * @returns the message's size and priority
   * @throws {TypeError} when `buffer` is not a Uint8Array or is detached, or the queue was opened with access `"write"`; when `buffer` is detached or shrunk below `messageSize` while the receive waits (the message stays queued)
   * @throws {RangeError} when `buffer` is shorter than `messageSize`
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the queue is (or gets) closed
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-into`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * q.trySend("hi", { priority: 2 });
   * const buf = new Uint8Array(q.messageSize);
   * assert.deepEqual(await q.receiveInto(buf), { size: 2, priority: 2 });
   * ```
   */
  receiveInto(buffer: Uint8Array, options?: WaitOptions): Promise<PosixMessageInfo> {
    try {
      const op = this.#shareReceive(this.#checkTarget(buffer));
      return wait(op, options, this.#receive) as Promise<PosixMessageInfo>;
    } catch (e) {
      return rejectedNow(e);
    } finally {
      this.#target = undefined;
    }
  }

  /**
   * The blocking form of {@link PosixMessageQueue.receiveInto}.
   *
   * Wraps `mq_receive(3)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param buffer where the bytes go, at least `messageSize` bytes long
   * @param options `timeout`
   * @returns the message's size and priority
   * @throws {RangeError} when `buffer` is shorter than `messageSize`
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-into-sync`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * q.trySend("hey");
   * assert.equal(q.receiveIntoSync(new Uint8Array(64)).size, 3);
   * ```
   */
  receiveIntoSync(buffer: Uint8Array, options?: SyncWaitOptions): PosixMessageInfo {
    const op = this.#shareReceive(this.#checkTarget(buffer));
    try {
      return waitSync(op, options, this.#receive) as PosixMessageInfo;
    } finally {
      this.#target = undefined;
    }
  }

  /**
   * The non-waiting form of {@link PosixMessageQueue.receiveInto}.
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @param buffer where the bytes go, at least `messageSize` bytes long
   * @returns the message's size and priority
   * @throws {Deno.errors.WouldBlock} when the queue is empty
   * @throws {RangeError} when `buffer` is shorter than `messageSize`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-try-into`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * assert.throws(() => q.tryReceiveInto(new Uint8Array(64)), Deno.errors.WouldBlock);
   * ```
   */
  tryReceiveInto(buffer: Uint8Array): PosixMessageInfo {
    const op = this.#shareReceive(this.#checkTarget(buffer));
    try {
      return tryNow(op) as PosixMessageInfo;
    } finally {
      this.#target = undefined;
    }
  }

  /**
   * The messages as they arrive, for `for await`: each step is a
   * {@link PosixMessageQueue.receive}. The iteration ends when the loop
   * breaks, and cleanly when the queue is closed (even while it waits);
   * `signal` ends it with `signal.reason`.
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @param options `signal` to stop waiting
   * @returns an async iterator of messages
   * @throws {TypeError} when `signal` is not an AbortSignal, or the queue was opened with access `"write"`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-messages`;
   * using q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * for (const word of ["a", "b", "stop"]) q.trySend(word);
   * const texts: string[] = [];
   * for await (const { data } of q.messages()) {
   *   const text = new TextDecoder().decode(data);
   *   if (text === "stop") break;
   *   texts.push(text);
   * }
   * assert.deepEqual(texts, ["a", "b"]);
   * ```
   */
  messages(options?: Pick<WaitOptions, "signal">): AsyncGenerator<PosixMessage, void, undefined> {
    this.#checkReceive();
    checkWaitOptions(options);
    return untilClosed(this, (signal) => this.receive({ signal }), { signal: options?.signal });
  }

  /**
   * `for await (const m of q)`: the same as {@link PosixMessageQueue.messages} without options.
   *
   * Wraps `mq_receive(3)`. Needs `--allow-ffi`.
   *
   * @returns an async iterator of messages
   * @throws {TypeError} when the queue was opened with access `"write"`
   *
   * @example
   * ```ts
   * import { PosixMessageQueue } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-iterate`;
   * const q = PosixMessageQueue.open(name, { create: true, messageSize: 64 });
   * PosixMessageQueue.unlink(name);
   * q.trySend("only");
   * setTimeout(() => q.close(), 20); // ends the loop below
   * const priorities: number[] = [];
   * for await (const m of q) priorities.push(m.priority);
   * assert.deepEqual(priorities, [0]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<PosixMessage, void, undefined> {
    return this.messages();
  }
}
