/**
 * What System V objects share (queues, segments, semaphore sets): keys,
 * `ftok(3)`, the flags of `*get`, and times.
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";
import { libc } from "../ffi/libc.ts";
import { C } from "../ffi/platform.ts";
import { checkBoolean, checkInteger, checkMode, checkOptions, onlyKnown, shown } from "./_check.ts";
import { type PathLike, pathText } from "./_path.ts";
import { E, lastErrno, okValue } from "./_sys.ts";
import { errorFromCode, type ErrorSubject } from "./errors.ts";
import { procText } from "./_proc.ts";

/** A key, or `"private"` for a new object only this process knows the id of (`IPC_PRIVATE`). */
export type SysvKey = number | "private";

/**
 * How a System V object is opened.
 *
 * @example Create a semaphore set by key, once
 * ```ts
 * import { SemaphoreSet, type SysvOpenOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const key = SemaphoreSet.ftok(dir, 1);
 * const options: SysvOpenOptions = { create: true, exclusive: true, mode: 0o640 };
 * using set = SemaphoreSet.open(key, { ...options, count: 1 });
 * assert.throws(() => SemaphoreSet.open(key, { ...options, count: 1 }), Deno.errors.AlreadyExists);
 * assert.equal(set.stat().mode, 0o640);
 * set.remove();
 * Deno.removeSync(dir);
 * ```
 */
export interface SysvOpenOptions {
  /** Create the object if it does not exist (`IPC_CREAT`). Default `false`. */
  create?: boolean;
  /** With `create`: fail with `AlreadyExists` if it exists (`IPC_EXCL`). Without it: a TypeError. */
  exclusive?: boolean;
  /** Permission bits of a new object. Default `0o600`: owner only. Opening an existing one asks for none. */
  mode?: number;
}

/**
 * The key as `*get` takes it, checked; `what` names the object in errors. A
 * TypeError for anything but a number or `"private"`, a RangeError for a
 * number that is not a 32-bit integer (signed or not), or is 0.
 */
export function keyOf(key: SysvKey, what: string): number {
  if (key === "private") return C.IPC_PRIVATE;
  const k = checkInteger(key, "key", -(2 ** 31), 2 ** 32 - 1, `-2^31..2^32-1 or "private"`);
  // Key 0 is IPC_PRIVATE: it would create a new object even without `create`.
  if (k === 0) {
    throw new RangeError(`key 0 is IPC_PRIVATE: pass "private" for a new private ${what}`);
  }
  return k | 0;
}

/**
 * The flags of `msgget`/`shmget`/`semget`: creating asks for `mode` (0600 by
 * default); opening an existing object asks for no permission bits, as
 * `xget(key, 0)` does, so a user with partial access still opens it.
 */
export function getFlags(key: SysvKey, options: SysvOpenOptions): number {
  const mode = checkMode(options.mode);
  const exclusive = checkBoolean(options.exclusive, "exclusive");
  // Checked even where "private" creates whatever it says.
  const create = checkBoolean(options.create, "create") || key === "private";
  if (exclusive && !create) {
    // As POSIX opens say: IPC_EXCL means nothing without IPC_CREAT, and was dropped silently.
    throw new TypeError("exclusive needs create: true");
  }
  return create ? mode | C.IPC_CREAT | (exclusive ? C.IPC_EXCL : 0) : 0;
}

/** Checks an id given by the caller (`fromId`): a TypeError for a non-number, a RangeError outside 0..2^31-1. */
export function checkId(id: unknown): number {
  return checkInteger(id, "id", 0, 2 ** 31 - 1, "0..2^31-1");
}

/** `ftok(3)`: a key from an existing file and a project id 1..255. */
export function ftok(path: PathLike, projId: number): number {
  const p = pathText(path);
  const id = checkInteger(projId, "projId", 1, 255);
  const c = cString(p, "path");
  // -1 is also a valid key (projId ≥ 128): only errno tells a failure.
  return okValue(() => libc.ftok(c, id), "ftok", { path: p });
}

/** A time in seconds since the epoch, `null` for 0 (never). */
export function timeOf(seconds: bigint): Date | null {
  return seconds === 0n ? null : new Date(Number(seconds) * 1000);
}

/**
 * Who owns a System V object and who may use it: what every `stat()` of a
 * queue, segment or semaphore set reports from its `ipc_perm`.
 *
 * @example
 * ```ts
 * import { MessageQueue, type SysvOwnership } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * const owner: SysvOwnership = q.stat();
 * assert.equal(owner.mode, 0o600);
 * q.remove();
 * ```
 */
export interface SysvOwnership {
  /** The key it was created with (0 for a private object). */
  key: number;
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

/** The {@link SysvOwnership} of a decoded `ipc_perm`. */
export function ownershipOf(
  perm: { __key: number; uid: number; gid: number; cuid: number; cgid: number; mode: number },
): SysvOwnership {
  return {
    key: perm.__key,
    uid: perm.uid,
    gid: perm.gid,
    creatorUid: perm.cuid,
    creatorGid: perm.cgid,
    mode: perm.mode & 0o777,
  };
}

/**
 * A change of a System V object's owner or permission bits, as
 * `setOwnership()` of a queue, segment or semaphore set applies it
 * (`IPC_SET`): the fields given are set, the others stay as they are. The
 * creator ({@link SysvOwnership.creatorUid}, `creatorGid`) never changes: it
 * keeps the right to change and remove the object.
 *
 * @example
 * ```ts
 * import { MessageQueue, type SysvOwnershipChange } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * const change: SysvOwnershipChange = { mode: 0o640 };
 * q.setOwnership(change);
 * assert.equal(q.stat().mode, 0o640);
 * q.remove();
 * ```
 */
export interface SysvOwnershipChange {
  /** The owner's new user id, 0..2^32-2. */
  uid?: number;
  /** The owner's new group id, 0..2^32-2. */
  gid?: number;
  /** The new permission bits, 0..0o777. */
  mode?: number;
}

const CHANGE_KEYS: ReadonlySet<string> = new Set(["uid", "gid", "mode"]);
/** 2^32-1 is `(uid_t)-1`, which no user has: the kernel refuses it (EINVAL). */
const ID_RANGE = "0..2^32-2";

/** The fields of a decoded `ipc_perm` that an `IPC_SET` writes, or is judged by. */
interface Perm {
  uid: number;
  gid: number;
  cuid: number;
  mode: number;
}

/** How one family reads and writes its `*_ds` for {@link setOwnershipOf}. */
export interface OwnershipCalls<D> {
  /** `IPC_STAT`, decoded; throws the family's error. */
  stat(): D;
  /** The `ipc_perm` inside `ds`, changed in place. */
  perm(ds: D): Perm;
  /** `IPC_SET` of `ds`: the call's result, -1 with errno set when it fails. */
  set(ds: D): number;
  /** The error of errno `code` from that `IPC_SET`, naming the object. */
  error(code: number): Error;
  /** Why else the kernel may refuse `ds` with EPERM (a queue's capacity), if it may. */
  refused?(ds: D): string | undefined;
  /**
   * Where `IPC_STAT` is refused (EACCES: the owner took its own read
   * permission away), a `*_ds` of the `ipc_perm` /proc/sysvipc shows, for a
   * family whose `IPC_SET` takes nothing else; undefined where it needs more.
   */
  unreadable?(): D | undefined;
}

/**
 * The owner, creator and mode of System V object `id` as `/proc/sysvipc/<kind>`
 * shows them to anyone; undefined when it is not listed (or cannot be read).
 */
export function procPerm(
  kind: "shm" | "sem",
  id: number,
): { uid: number; gid: number; cuid: number; cgid: number; mode: number } | undefined {
  const [head, ...rows] = (procText(`/proc/sysvipc/${kind}`) ?? "").trim().split("\n");
  const names = head?.trim().split(/\s+/) ?? [];
  const idColumn = names.indexOf(kind === "shm" ? "shmid" : "semid");
  for (const row of rows) {
    const cells = row.trim().split(/\s+/);
    if (cells.length < names.length || Number(cells[idColumn]) !== id) continue;
    const at = (name: string) => Number(cells[names.indexOf(name)]);
    return {
      uid: at("uid"),
      gid: at("gid"),
      cuid: at("cuid"),
      cgid: at("cgid"),
      mode: parseInt(cells[names.indexOf("perms")], 8),
    };
  }
  return undefined;
}

/**
 * `setOwnership()` of every System V family: checks `change` before any
 * system call (an object with only `uid`, `gid`, `mode`; a TypeError for
 * another key, which would otherwise be ignored), reads the object's `*_ds`
 * (`IPC_STAT`), sets the fields given in its `ipc_perm` and writes it back
 * (`IPC_SET`), which sets the owner's uid and gid and the low 9 bits of the
 * mode from it. A refusal is the family's error, saying what EPERM and
 * EINVAL mean here.
 */
export function setOwnershipOf<D>(change: SysvOwnershipChange, calls: OwnershipCalls<D>): void {
  if (change === undefined) {
    // Required: a call without one has no change to make.
    throw new TypeError(`change must be an object, got ${shown(change)}`);
  }
  const o = checkOptions(change, "change");
  onlyKnown(o, CHANGE_KEYS, "setOwnership", "a change has uid, gid and mode");
  const uid = o.uid === undefined
    ? undefined
    : checkInteger(o.uid, "uid", 0, 2 ** 32 - 2, ID_RANGE);
  const gid = o.gid === undefined
    ? undefined
    : checkInteger(o.gid, "gid", 0, 2 ** 32 - 2, ID_RANGE);
  // checkMode(undefined) is 0o600, the default of a new object: not "as it is".
  const mode = o.mode === undefined ? undefined : checkMode(o.mode);
  const ds = statOrProc(calls);
  const perm = calls.perm(ds);
  const { uid: owner, cuid } = perm;
  if (uid !== undefined) perm.uid = uid;
  if (gid !== undefined) perm.gid = gid;
  if (mode !== undefined) perm.mode = (perm.mode & ~0o777) | mode;
  if (calls.set(ds) >= 0) return;
  const e = calls.error(lastErrno()) as Error & { code?: string };
  const hints: string[] = [];
  if (e.code === "EPERM") {
    const euid = libc.geteuid();
    const other = calls.refused?.(ds);
    if (other === undefined || (euid !== owner && euid !== cuid)) {
      hints.push(
        `only its owner (uid ${owner}), its creator (uid ${cuid}) or a process with ` +
          `CAP_SYS_ADMIN may change it, and this process runs as uid ${euid}`,
      );
    }
    if (other !== undefined) hints.push(other);
  } else if (e.code === "EINVAL" && (uid !== undefined || gid !== undefined)) {
    hints.push(
      [uid === undefined ? "" : `uid ${uid}`, gid === undefined ? "" : `gid ${gid}`]
        .filter((x) => x !== "").join(" or ") + " has no mapping in this user namespace",
    );
  }
  if (hints.length > 0) e.message += ` (${hints.join("; ")})`;
  throw e;
}

/**
 * `ds` (a zeroed `*_ds`) with the `ipc_perm` /proc/sysvipc shows of `id`, for
 * an `unreadable` of {@link OwnershipCalls}; undefined when it is not listed.
 */
export function withPerm<D extends { shm_perm: Perm } | { sem_perm: Perm }>(
  ds: D,
  kind: "shm" | "sem",
  id: number,
): D | undefined {
  const seen = procPerm(kind, id);
  if (seen === undefined) return undefined;
  Object.assign("shm_perm" in ds ? ds.shm_perm : ds.sem_perm, seen);
  return ds;
}

/** `IPC_STAT`, or where it is refused for want of read permission, what `unreadable` gives. */
function statOrProc<D>(calls: OwnershipCalls<D>): D {
  try {
    return calls.stat();
  } catch (e) {
    const ds = (e as { code?: string }).code === "EACCES" ? calls.unreadable?.() : undefined;
    if (ds !== undefined) return ds;
    if ((e as { code?: string }).code === "EACCES" && calls.unreadable === undefined) {
      (e as Error).message += " (setOwnership reads the object first, which needs read " +
        "permission: a queue's owner without it cannot change the queue)";
    }
    throw e;
  }
}

/** Which of the system's limits a `*get` call that failed with ENOSPC met, from /proc/sys/kernel. */
const FULL: Readonly<Record<"msgget" | "semget" | "shmget", () => string>> = {
  msgget: () => `the system has kernel.msgmni (${limit("msgmni")}) queues already`,
  semget: () => {
    // kernel.sem: SEMMSL SEMMNS SEMOPM SEMMNI.
    const [, mns, , mni] = (procText("/proc/sys/kernel/sem") ?? "").trim().split(/\s+/);
    return `the system has kernel.sem's SEMMNI (${mni ?? "?"}) sets or SEMMNS (${mns ?? "?"}) ` +
      "semaphores already";
  },
  shmget: () =>
    `the system has kernel.shmmni (${limit("shmmni")}) segments, or kernel.shmall ` +
    `(${limit("shmall")}) pages in use, already`,
};

/** A limit as the kernel wrote it (shmall may pass 2^53, which a number would round). */
function limit(name: string): string {
  return procText(`/proc/sys/kernel/${name}`)?.trim() || "?";
}

/**
 * The error of a failed `msgget`/`semget`/`shmget`: at ENOSPC it says which
 * of the system's limits is reached (and how high it is), else `detail`.
 */
export function getError(
  code: number,
  syscall: keyof typeof FULL,
  subject: ErrorSubject,
  detail?: string,
): Error {
  return errorFromCode(code, syscall, subject, code === E.ENOSPC ? FULL[syscall]() : detail);
}
