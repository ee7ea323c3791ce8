/**
 * The one test-side kernel helper module. Tests check the library against the
 * kernel itself, never against the code under test:
 *
 * - **one libc binding** of the tests' own ({@link libc}, {@link errno}), for
 *   the tests and the fixtures that need raw libc;
 * - **one /proc reader** ({@link readProcFile}, {@link openFds},
 *   {@link sysvQueues} for `/proc/sysvipc/msg`, {@link threadStates} for
 *   `/proc/<pid>/task/<tid>/{wchan,syscall}`, {@link epollWatches} for the
 *   epoll registrations in `/proc/<pid>/fdinfo`, signal masks, capabilities);
 * - **synchronisation on kernel state** ({@link until}, {@link blockedIn},
 *   {@link fdWaitedOn}): a bounded loop that yields between checks, never a
 *   fixed sleep as proof of anything;
 * - **one cleanup scope** ({@link TestScope}): System V queue ids, POSIX queue
 *   names, FIFOs and temporary paths, pipes, fds and children are released at
 *   the end of a test even when it fails, then checked gone;
 * - **one error matcher** ({@link systemError}) for `assert.throws`/`rejects`;
 * - **Deno children with their stderr captured** ({@link TestScope.fixture},
 *   {@link Fixture}, {@link runCollect}): a failing child or cross-process
 *   assertion shows what the child wrote to stderr.
 *
 * /proc is read through libc: Deno asks for `--allow-all` to read /proc/self.
 *
 * @module
 */
import assert from "node:assert/strict";
import type {
  ChildProcess,
  ChildStatus,
  FdReader,
  FdWriter,
  MessageQueue,
  MessageQueueOpenOptions,
  Pipe,
  SignalName,
  SpawnOptions,
} from "../mod.ts";
import { MessageQueue as MessageQueueClass, pipe, spawn, spawnProgram } from "../mod.ts";
import { C } from "../ffi/platform.ts";

/** The library's entry point, for the programs tests write for children to run. */
export const MOD_URL: string = new URL("../mod.ts", import.meta.url).href;

// ================================================================ the libc binding

/** The tests' own libc: one binding for every test and fixture that needs raw libc. */
export const libc = Deno.dlopen("libc.so.6", {
  __errno_location: { parameters: [], result: "pointer" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "u32", "i64"], result: "i32" },
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, int *count); for FIONREAD.
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  getpgid: { parameters: ["i32"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  dirfd: { parameters: ["pointer"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
  msgctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  shmctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  semctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  semget: { parameters: ["i32", "i32", "i32"], result: "i32" },
  semop: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  sem_unlink: { parameters: ["buffer"], result: "i32" },
  // Shared memory for the futex tests, and a read parked on a pool thread.
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  read_parked: {
    name: "read",
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  mq_open: { parameters: ["buffer", "i32", "u32", "buffer"], result: "i32" },
  mq_close: { parameters: ["i32"], result: "i32" },
  mq_unlink: { parameters: ["buffer"], result: "i32" },
  mq_getattr: { parameters: ["i32", "buffer"], result: "i32" },
  // int capget(cap_user_header_t hdrp, cap_user_data_t datap);
  capget: { parameters: ["buffer", "buffer"], result: "i32" },
  // int capset(cap_user_header_t hdrp, const cap_user_data_t datap);
  capset: { parameters: ["buffer", "buffer"], result: "i32" },
  // long syscall(long number, ...); as futex_waitv(waiters, nr, flags, timeout, clockid).
  syscall: { parameters: ["i64", "pointer", "u32", "u32", "pointer", "i32"], result: "i64" },
  // The same as futex(uaddr, op, val, val2, uaddr2, val3), val2 passed where a timeout goes.
  futex: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "pointer", "pointer", "u32"],
    result: "i64",
  },
  // int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask); and the setter.
  sched_getaffinity: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // int getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
}).symbols;

const errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);

/** A `cpu_set_t` of 1024 CPUs, as glibc's is. */
const CPU_SET_BYTES = 128;

/** The CPUs thread `tid` may run on (0: the calling thread; a pid: that process's main thread). */
export function affinityOf(tid: number): number[] {
  const set = new Uint8Array(CPU_SET_BYTES);
  if (libc.sched_getaffinity(tid, BigInt(CPU_SET_BYTES), set) < 0) {
    throw new Error(`sched_getaffinity(${tid}): errno ${errno()}`);
  }
  const cpus = [];
  for (let c = 0; c < CPU_SET_BYTES * 8; c++) if (set[c >> 3] & (1 << (c & 7))) cpus.push(c);
  return cpus;
}

/** Lets thread `tid` (0: the calling thread) run on `cpus` only. */
export function setAffinity(tid: number, cpus: number[]): void {
  const set = new Uint8Array(CPU_SET_BYTES);
  for (const c of cpus) set[c >> 3] |= 1 << (c & 7);
  if (libc.sched_setaffinity(tid, BigInt(CPU_SET_BYTES), set) < 0) {
    throw new Error(`sched_setaffinity(${tid}, [${cpus}]): errno ${errno()}`);
  }
}

/** This thread's errno, read right after a failed call of {@link libc}. */
export function errno(): number {
  return errnoView.getInt32();
}

/**
 * The errno numbers the tests name (Linux; the same on x86_64 and aarch64),
 * so that {@link systemError} checks `errno` against `code` without asking
 * the code under test.
 */
export const ERRNO: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  EPIPE: 32,
  ERANGE: 34,
  ENOSYS: 38,
  ENOMSG: 42,
  EIDRM: 43,
  EADDRINUSE: 98,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
  EPROTOTYPE: 91,
  EMSGSIZE: 90,
  ECONNRESET: 104,
  ENOTCONN: 107,
  EADDRNOTAVAIL: 99,
};

const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const F_DUPFD = 0;
const F_GETFD = 1;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;
const FD_CLOEXEC = 1;
const IPC_RMID = 0;
const SIGKILL = 9;
/** Offset of `d_name` in glibc's `struct dirent` on 64-bit Linux. */
const D_NAME = 19;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A NUL-terminated copy of `s`, for libc. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s + "\0");
}

// ================================================================ /proc

/** Names in a directory (without "." and ".."), and the fd used to read it. */
function listDir(path: string): { names: string[]; ownFd: number } | undefined {
  const dir = libc.opendir(cstr(path));
  if (dir === null) return undefined;
  const names: string[] = [];
  const ownFd = libc.dirfd(dir);
  try {
    for (let ent = libc.readdir(dir); ent !== null; ent = libc.readdir(dir)) {
      const name = new Deno.UnsafePointerView(ent).getCString(D_NAME);
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    libc.closedir(dir);
  }
  return { names, ownFd };
}

function readLink(path: string): string | undefined {
  const buf = new Uint8Array(4096);
  const n = libc.readlink(cstr(path), buf, buf.length);
  return n < 0 ? undefined : decoder.decode(buf.subarray(0, n));
}

/** The text of a file through libc, or `undefined` when it cannot be opened (e.g. the process ended). */
export function tryReadProcFile(path: string): string | undefined {
  const fd = libc.open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  const chunks: string[] = [];
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = libc.read(fd, buf, buf.length);
      if (n < 0) return undefined;
      if (n === 0) break;
      chunks.push(decoder.decode(buf.subarray(0, n)));
    }
  } finally {
    libc.close(fd);
  }
  return chunks.join("");
}

/** Reads a whole (small) file through libc, e.g. under /proc. */
export function readProcFile(path: string): string {
  const text = tryReadProcFile(path);
  if (text === undefined) throw new Error(`cannot read ${path}, errno ${errno()}`);
  return text;
}

/** The integer in a /proc/sys file, e.g. `kernel/msgmax` or `fs/mqueue/msg_max`. */
export function procSysInt(name: string): number {
  return Number(readProcFile(`/proc/sys/${name}`).trim());
}

/** The open descriptors of a process (this one by default), each with its link target. */
export function openFds(pid: number | "self" = "self"): Map<number, string> {
  const base = `/proc/${pid}/fd`;
  const listing = listDir(base);
  if (listing === undefined) throw new Error(`cannot list ${base}, errno ${errno()}`);
  const fds = new Map<number, string>();
  for (const name of listing.names) {
    const fd = Number(name);
    if (pid === "self" && fd === listing.ownFd) continue;
    const target = readLink(`${base}/${name}`);
    if (target !== undefined) fds.set(fd, target);
  }
  return fds;
}

/**
 * Whether socket `fd` is one end of an unnamed Unix pair whose other end this
 * process made too: Deno makes such pairs for itself, at times it chooses
 * (its node compatibility layer, once in a while), which a count of a
 * process's sockets must leave out. A socket of ours connected to a path or
 * an abstract name has a named peer; one that never connected has none.
 */
export function isOwnUnnamedPair(fd: number): boolean {
  const cred = new Int32Array(3);
  const credLen = new Uint32Array([12]);
  const cu = (a: ArrayBufferView) => new Uint8Array(a.buffer);
  if (libc.getsockopt(fd, C.SOL_SOCKET, C.SO_PEERCRED, cu(cred), cu(credLen)) !== 0) return false;
  if (cred[0] !== Deno.pid) return false;
  const addr = new Uint8Array(128);
  const addrLen = new Uint32Array([addr.length]);
  // An unnamed peer: the address is its family alone (sa_family_t, 2 bytes).
  return libc.getpeername(fd, addr, cu(addrLen)) === 0 && addrLen[0] === 2 &&
    new DataView(addr.buffer).getUint16(0, true) === C.AF_UNIX;
}

/** The link target of one of this process's descriptors (`pipe:[1234]` for a pipe end). */
export function fdTarget(fd: number): string {
  const target = readLink(`/proc/self/fd/${fd}`);
  if (target === undefined) throw new Error(`fd ${fd} is not open`);
  return target;
}

/**
 * Whether the Unix socket behind `target` (an fd's link target, `socket:[1234]`)
 * still exists: the kernel drops it from /proc/net/unix when it releases it,
 * which may come after `close(2)` returns when another thread held the file.
 */
export function unixSocketExists(target: string): boolean {
  const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
  if (inode === undefined) throw new Error(`not a socket: ${target}`);
  return readProcFile("/proc/net/unix").split("\n").slice(1)
    .some((line) => line.trim().split(/\s+/)[6] === inode);
}

/** The process ids a pidfd of this process refers to, from /proc/self/fdinfo. */
export function pidfdPids(): Set<number> {
  const pids = new Set<number>();
  for (const [fd, target] of openFds()) {
    if (target !== "anon_inode:[pidfd]") continue;
    const m = /^Pid:\s*(-?\d+)/m.exec(tryReadProcFile(`/proc/self/fdinfo/${fd}`) ?? "");
    if (m !== null) pids.add(Number(m[1]));
  }
  return pids;
}

/** The `Sig*` lines of a /proc status file as bigints, e.g. `{ SigBlk: 0x4800n }`. */
export function signalMasks(statusText: string): Record<string, bigint> {
  const masks: Record<string, bigint> = {};
  for (const m of statusText.matchAll(/^(Sig\w+|ShdPnd):\s*([0-9a-f]+)$/gm)) {
    masks[m[1]] = BigInt(`0x${m[2]}`);
  }
  return masks;
}

/** The bit of signal `n` in a /proc signal mask. */
export function sigBit(n: number): bigint {
  return 1n << BigInt(n - 1);
}

/** `CAP_SYS_RESOURCE`: lifts the /proc/sys limits of message queues. */
export const CAP_SYS_RESOURCE = 24;

/**
 * Whether capability `cap` is in the effective set of this process's main
 * thread (`"self"`) or of the calling thread (`"thread-self"`): capabilities
 * are per thread, and root may lack some.
 */
export function hasCapability(cap: number, of: "self" | "thread-self" = "thread-self"): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readProcFile(`/proc/${of}/status`));
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << BigInt(cap))) !== 0n;
}

export const CAP_IPC_OWNER = 15;
/** `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH`: without them root meets file modes. */
export const CAP_DAC_OVERRIDE = 1;
export const CAP_DAC_READ_SEARCH = 2;

/**
 * Becomes user and group `id`, with no supplementary groups, in every thread
 * (glibc's setxid): for a child that is to act as another user.
 */
export function dropTo(id: number): void {
  const lib = Deno.dlopen("libc.so.6", {
    setgroups: { parameters: ["usize", "pointer"], result: "i32" },
    setresgid: { parameters: ["u32", "u32", "u32"], result: "i32" },
    setresuid: { parameters: ["u32", "u32", "u32"], result: "i32" },
    geteuid: { parameters: [], result: "u32" },
  });
  const s = lib.symbols;
  if (
    s.setgroups(0n, null) !== 0 || s.setresgid(id, id, id) !== 0 || s.setresuid(id, id, id) !== 0
  ) {
    throw new Error(`could not become uid ${id}`);
  }
  if (s.geteuid() !== id) throw new Error(`still uid ${s.geteuid()}`);
  lib.close();
}

/**
 * Drops capability `cap` from the effective set of the calling thread
 * (`capset(2)`; capabilities are per thread, and the library makes its calls
 * on this one), so that root meets the checks it would otherwise bypass.
 */
export function dropCapability(cap: number): void {
  const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
  const header = new Uint32Array([LINUX_CAPABILITY_VERSION_3, 0]);
  // Two struct __user_cap_data_struct { u32 effective, permitted, inheritable; }.
  const data = new Uint32Array(6);
  if (libc.capget(header, data) !== 0) throw new Error(`capget failed, errno ${errno()}`);
  data[0] &= ~(1 << cap);
  if (libc.capset(header, data) !== 0) throw new Error(`capset failed, errno ${errno()}`);
  if (hasCapability(cap)) throw new Error(`capability ${cap} is still effective`);
}

/** The pids in the text of a `/proc/.../children` file. */
function pidsIn(children: string): number[] {
  const text = children.trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

/** The children that the calling thread started (test modules run on threads of their own). */
export function threadChildren(): number[] {
  return pidsIn(readProcFile("/proc/thread-self/children"));
}

/**
 * The processes `pid` started and theirs, while they run (from
 * `/proc/<pid>/task/<tid>/children`): a process relaunched by a child, say.
 * Once their parent has ended they are another process's children.
 */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  for (const tid of listDir(`/proc/${pid}/task`)?.names ?? []) {
    // A thread or process that has ended meanwhile has no children left to list.
    for (const child of pidsIn(tryReadProcFile(`/proc/${pid}/task/${tid}/children`) ?? "")) {
      found.push(child, ...descendants(child));
    }
  }
  return found;
}

/** Whether a process with this id exists (a zombie counts): `kill(pid, 0)`. */
export function processExists(pid: number): boolean {
  if (libc.kill(pid, 0) === 0) return true;
  return errno() !== ERRNO.ESRCH;
}

/** Whether process `pid` runs: it exists and has not ended (a zombie, not yet reaped, has). */
export function processRuns(pid: number): boolean {
  const stat = tryReadProcFile(`/proc/${pid}/stat`);
  // The state follows the command's closing parenthesis (the command may hold spaces).
  return stat !== undefined && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

// ---------------------------------------------------------------- /proc/sysvipc/msg

/** A row of /proc/sysvipc/msg: what `ipcs -q` shows. */
export interface SysvQueue {
  key: number;
  id: number;
  mode: number;
  bytes: number;
  messages: number;
  lastSendPid: number;
  lastReceivePid: number;
  uid: number;
  gid: number;
}

/** Every System V message queue of the system, by id, as the kernel lists them. */
export function sysvQueues(): Map<number, SysvQueue> {
  const queues = new Map<number, SysvQueue>();
  for (const line of readProcFile("/proc/sysvipc/msg").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 11) continue;
    const [key, id, perms, cbytes, qnum, lspid, lrpid, uid, gid] = f;
    queues.set(Number(id), {
      key: Number(key),
      id: Number(id),
      mode: parseInt(perms, 8) & 0o777,
      bytes: Number(cbytes),
      messages: Number(qnum),
      lastSendPid: Number(lspid),
      lastReceivePid: Number(lrpid),
      uid: Number(uid),
      gid: Number(gid),
    });
  }
  return queues;
}

/** The row of one System V queue; fails if the kernel does not list it. */
export function sysvQueue(id: number): SysvQueue {
  const q = sysvQueues().get(id);
  assert.ok(q !== undefined, `queue ${id} is not in /proc/sysvipc/msg`);
  return q;
}

/** A row of /proc/sysvipc/shm: what `ipcs -m` shows. */
export interface SysvSegment {
  key: number;
  id: number;
  /** Permission bits and the SHM_DEST (0o1000) and SHM_LOCKED (0o2000) flags. */
  perms: number;
  size: number;
  creatorPid: number;
  lastPid: number;
  attached: number;
  uid: number;
  gid: number;
}

/** Every System V shared-memory segment of the system, by id, as the kernel lists them. */
export function sysvSegments(): Map<number, SysvSegment> {
  const segments = new Map<number, SysvSegment>();
  for (const line of readProcFile("/proc/sysvipc/shm").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const [key, id, perms, size, cpid, lpid, nattch, uid, gid] = f;
    segments.set(Number(id), {
      key: Number(key),
      id: Number(id),
      perms: parseInt(perms, 8),
      size: Number(size),
      creatorPid: Number(cpid),
      lastPid: Number(lpid),
      attached: Number(nattch),
      uid: Number(uid),
      gid: Number(gid),
    });
  }
  return segments;
}

/** A row of /proc/sysvipc/sem: what `ipcs -s` shows. */
export interface SysvSemaphoreSet {
  key: number;
  id: number;
  mode: number;
  members: number;
  uid: number;
  gid: number;
  /** Time of the last semop, 0 if none. */
  otime: number;
  /** Time it was made or last changed by `semctl` (whole seconds). */
  ctime: number;
}

/** Every System V semaphore set of the system, by id, as the kernel lists them. */
export function sysvSemaphoreSets(): Map<number, SysvSemaphoreSet> {
  const sets = new Map<number, SysvSemaphoreSet>();
  for (const line of readProcFile("/proc/sysvipc/sem").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [key, id, perms, nsems, uid, gid, , , otime, ctime] = f;
    sets.set(Number(id), {
      key: Number(key),
      id: Number(id),
      mode: parseInt(perms, 8) & 0o777,
      members: Number(nsems),
      uid: Number(uid),
      gid: Number(gid),
      otime: Number(otime),
      ctime: Number(ctime),
    });
  }
  return sets;
}

/**
 * Asserts that a System V time (`stat()`'s whole seconds) lies between two
 * `Date.now()` readings. The kernel stamps these objects from its coarse
 * clock, updated once a tick: for up to a tick (a few ms) after a second
 * begins it still reads the previous one, so the earliest allowed is a second
 * before `before`'s.
 */
export function assertAround(date: Date | null, before: number, after: number): void {
  assert.ok(date instanceof Date, `expected a Date, got ${date}`);
  const t = date.getTime();
  const earliest = (Math.floor(before / 1000) - 1) * 1000;
  assert.ok(t >= earliest && t <= after, `${date.toISOString()} not in [${earliest}, ${after}]`);
}

/** The names in /dev/shm: POSIX shared memory objects, and `sem.<name>` for named semaphores. */
export function devShm(): string[] {
  return (listDir("/dev/shm")?.names ?? []).sort();
}

/** A mapping of this process (a line of /proc/self/maps): its size, permissions (`rw-s`) and file. */
export interface MappedFile {
  size: number;
  perms: string;
  path: string;
}

/**
 * The mappings of process `pid` (this one by default) whose file is `path`
 * (also as `<path> (deleted)` once unlinked); none once the process has ended.
 */
export function mappingsOf(path: string, pid: number | "self" = "self"): MappedFile[] {
  const found: MappedFile[] = [];
  for (const line of (tryReadProcFile(`/proc/${pid}/maps`) ?? "").split("\n")) {
    const f = line.split(/\s+/);
    const file = f.slice(5).join(" ");
    if (file !== path && file !== `${path} (deleted)`) continue;
    const [start, end] = f[0].split("-").map((a) => BigInt(`0x${a}`));
    found.push({ size: Number(end - start), perms: f[1], path: file });
  }
  return found;
}

// ---------------------------------------------------------------- POSIX queues

/** Whether a POSIX queue of that name exists, asked of the kernel directly. */
export function posixQueueExists(name: string): boolean {
  const fd = libc.mq_open(cstr(name), 0, 0, null);
  if (fd >= 0) {
    libc.mq_close(fd);
    return true;
  }
  const code = errno();
  if (code !== ERRNO.ENOENT) throw new Error(`mq_open ${name}: errno ${code}`);
  return false;
}

/** The messages in the POSIX queue open as `fd` (`mq_getattr`'s `mq_curmsgs`). */
export function posixQueueMessages(fd: number): number {
  // struct mq_attr: four longs, mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs.
  const attr = new BigInt64Array(8);
  if (libc.mq_getattr(fd, new Uint8Array(attr.buffer)) < 0) {
    throw new Error(`mq_getattr fd ${fd}: errno ${errno()}`);
  }
  return Number(attr[3]);
}

/** Offset of `st_mode` (a u32) in `struct stat`. */
const ST_MODE: Record<string, number> = { x86_64: 24, aarch64: 16 };

/**
 * Who the POSIX queue `name` notifies (`mq_notify(3)`), as the kernel says in
 * its file under /dev/mqueue (`NOTIFY_PID`, `SIGNO`): null when no process
 * asked, undefined when the mqueue file system is not mounted there. Read by
 * a child: a read in this process would end its own request (closing any
 * descriptor of the queue does).
 */
export async function posixQueueNotifier(
  name: string,
): Promise<{ pid: number; signal: number } | null | undefined> {
  if (devMqueue() === null) return undefined;
  const { status, stdout, stderr } = await runCollect((out, err) =>
    spawnProgram("/bin/cat", [`/dev/mqueue${name}`], { fds: { 1: out, 2: err } })
  );
  if (status.code !== 0) throw new Error(`cat /dev/mqueue${name}: ${stderr}`);
  const m = /NOTIFY_PID:(\d+)/.exec(stdout);
  if (m === null) throw new Error(`/dev/mqueue${name} says no NOTIFY_PID: ${stdout}`);
  const pid = Number(m[1]);
  return pid === 0 ? null : { pid, signal: Number(/SIGNO:(\d+)/.exec(stdout)![1]) };
}

/**
 * The multicast groups joined on network interface `device`, with how many
 * sockets are in each, as the kernel lists them: IPv4 groups from
 * /proc/net/igmp (dotted), IPv6 from /proc/net/igmp6 (32 hex digits).
 */
export function multicastGroups(device: string): Map<string, number> {
  const groups = new Map<string, number>();
  let current = "";
  for (const line of readProcFile("/proc/net/igmp").split("\n").slice(1)) {
    const head = /^\d+\s+(\S+)\s*:/.exec(line);
    if (head !== null) current = head[1];
    const group = /^\s+([0-9A-F]{8})\s+(\d+)/.exec(line);
    if (group === null || current !== device) continue;
    // The __be32 as the host prints it: little-endian hex of the address's bytes.
    const n = parseInt(group[1], 16);
    groups.set([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join("."), Number(group[2]));
  }
  for (const line of (tryReadProcFile("/proc/net/igmp6") ?? "").split("\n")) {
    const [, name, hex, users] = line.trim().split(/\s+/);
    if (name === device && hex !== undefined) groups.set(hex, Number(users));
  }
  return groups;
}

/** The permission bits (and type) of what `fd` refers to: `fstat(2)`'s `st_mode`. */
export function fdMode(fd: number): number {
  const st = new Uint8Array(256);
  if (libc.fstat(fd, st) < 0) throw new Error(`fstat fd ${fd}: errno ${errno()}`);
  return new DataView(st.buffer).getUint32(ST_MODE[Deno.build.arch], true);
}

/** The queue names in /dev/mqueue, or null when the mqueue file system is not mounted there. */
export function devMqueue(): string[] | null {
  // An empty /dev/mqueue directory is not a mount: ask the mount table.
  const mounted = readProcFile("/proc/self/mounts").split("\n")
    .some((line) => /^\S+ \/dev\/mqueue mqueue /.test(line));
  if (!mounted) return null;
  const listing = listDir("/dev/mqueue");
  return listing === undefined ? null : listing.names.map((n) => `/${n}`).sort();
}

// ---------------------------------------------------------------- threads and syscalls

/** The system calls tests wait for, by name; a name may stand for several numbers (`open`: open and openat). */
export type SyscallName =
  | "read"
  | "write"
  | "open"
  | "poll"
  | "epoll_wait"
  | "futex"
  | "futex_waitv"
  | "msgsnd"
  | "msgrcv"
  | "semtimedop"
  | "rt_sigtimedwait"
  | "sendto"
  | "recvfrom"
  | "fcntl";

const SYSCALLS: Record<string, Record<SyscallName, number[]>> = {
  x86_64: {
    read: [0],
    write: [1],
    open: [2, 257],
    poll: [7, 271],
    epoll_wait: [232, 281, 441],
    futex: [202],
    futex_waitv: [449],
    msgsnd: [69],
    msgrcv: [70],
    semtimedop: [220],
    rt_sigtimedwait: [128],
    sendto: [44],
    recvfrom: [45],
    fcntl: [72],
  },
  aarch64: {
    read: [63],
    write: [64],
    open: [56],
    poll: [73],
    epoll_wait: [22, 441],
    futex: [98],
    futex_waitv: [449],
    msgsnd: [189],
    msgrcv: [188],
    semtimedop: [192],
    rt_sigtimedwait: [137],
    sendto: [206],
    recvfrom: [207],
    fcntl: [25],
  },
};

/**
 * The CPU whose system calls the kernel shows in /proc/<pid>/task/<tid>/syscall:
 * this one, or the host's under a user-mode emulator (qemu-user runs an aarch64
 * Deno on x86_64, and the kernel sees the x86_64 calls qemu makes for it). Told
 * by this thread's own line, which shows the `read` that reads it.
 */
export const KERNEL_ARCH: string = (() => {
  const n = Number(readProcFile("/proc/thread-self/syscall").split(" ")[0]);
  const arch = Object.keys(SYSCALLS).find((a) => SYSCALLS[a].read.includes(n));
  if (arch === undefined) throw new Error(`no syscall table has read = ${n}`);
  return arch;
})();

/** Whether this Deno runs under a user-mode emulator: the kernel sees another CPU. */
export const EMULATED: boolean = KERNEL_ARCH !== Deno.build.arch;

/**
 * How long a hang guard waits by default: longer under emulation, where a
 * Deno child takes seconds to start (a guard, never a timing assertion).
 */
export const HANG_MS: number = EMULATED ? 120_000 : 30_000;

/** The numbers of a system call, as the kernel shows them (see {@link KERNEL_ARCH}). */
export function syscallNumbers(name: SyscallName): number[] {
  return SYSCALLS[KERNEL_ARCH][name];
}

/** Whether the kernel, as this process sees it, has futex_waitv: with no words EINVAL, else ENOSYS. */
const HAS_FUTEX_WAITV = libc.syscall(449n, null, 0, 0, null, 0) === 0n ||
  errno() !== ERRNO.ENOSYS;

/**
 * Wakes one waiter of `a[i]` and one of `b[j]` in one call (`FUTEX_WAKE_OP`
 * adding 0 to `b[j]`, so neither word changes): both wakes land before the
 * woken thread runs, as two notifies do when it is slow to wake. Returns how
 * many waiters it woke.
 */
export function wakeTwo(a: Int32Array, i: number, b: Int32Array, j: number): number {
  const FUTEX_WAKE_OP = 5;
  // FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_EQ, 0): add 0, then wake if the old value was 0.
  const ADD_ZERO_IF_ZERO = 1 << 28;
  assert.equal(Atomics.load(b, j), 0, "wakeTwo wakes b[j] only while it holds 0");
  const at = (view: Int32Array, k: number) =>
    Deno.UnsafePointer.offset(Deno.UnsafePointer.of(view)!, k * 4);
  const n = libc.futex(
    BigInt(C.SYS_futex),
    at(a, i),
    FUTEX_WAKE_OP,
    1,
    Deno.UnsafePointer.create(1n), // val2: how many waiters of b[j] to wake
    at(b, j),
    ADD_ZERO_IF_ZERO,
  );
  if (n < 0n) throw new Error(`FUTEX_WAKE_OP failed: errno ${errno()}`);
  return Number(n);
}

/** Kinds of test that some systems cannot run. */
export type TestKind =
  | "parking"
  | "signalMasks"
  | "kernelSignals"
  | "futexWaitv"
  | "spawnFailure"
  | "fdTruncation"
  | "msgReceivePid"
  | "fdTables"
  | "mqueueFs"
  | "mqNotify"
  | "multicast";

/**
 * Why a kind of test cannot run here, or `undefined` where it can:
 * - `parking`: under a user-mode emulator the library parks no call without
 *   an fd (`msgrcv`, `msgsnd`, `semop`) on a pool thread, since the kernel
 *   shows qemu's system calls and the thread to cancel could not be found:
 *   those waits poll, and nothing parks for a test to see;
 * - `signalMasks`: qemu-user keeps the signal masks a thread sets to itself
 *   and gives real-time signals other numbers on the host, so /proc does not
 *   show the masks these tests check (`signals()` then checks its own thread
 *   only, through `pthread_sigmask`);
 * - `futexWaitv`: without futex_waitv (qemu-user has none, nor Linux < 5.16),
 *   async futex waits park one `FUTEX_WAIT` each instead of sharing one;
 * - `spawnFailure`: qemu-user runs glibc's `posix_spawn` clone as a fork, so
 *   a program that cannot start is reported by the child's exit (127), not by
 *   `posix_spawn`;
 * - `fdTruncation`: qemu-user receives control messages into a buffer of its
 *   own, so descriptors beyond the receiver's room are not flagged MSG_CTRUNC;
 * - `msgReceivePid`: qemu-user (7.2) converts `msqid_ds` for `msgctl(IPC_STAT)`
 *   with `msg_lspid` and `msg_lrpid` as 8-byte longs where aarch64 has 4-byte
 *   `pid_t`s: the sender's pid covers both, and `msg_lrpid` reads 0 (a C
 *   program does the same under qemu; /proc/sysvipc/msg has the right pid).
 * - `kernelSignals`: qemu-user sets up POSIX timers and `mq_notify(3)` for
 *   the program itself, and their signals reach its own handler: the
 *   program's signalfd never sees them (a test waited 30 s for one);
 * - `fdTables`: Deno's runtime opens descriptors of its own (a socketpair) a
 *   while after it starts, which a child sees coming through /proc once its
 *   signal handlers are installed; under qemu-user /proc shows qemu's
 *   handlers and that moment comes seconds later, so a whole descriptor
 *   table cannot be compared before and after a step;
 * - `mqNotify`: qemu-user answers `mq_notify(3)` with ENOSYS;
 * - `multicast`: qemu-user (7.2) converts `struct ip_mreqn` with an 8-byte
 *   `imr_ifindex` (its `abi_long`), so a join by interface fails with ENODEV,
 *   and passes no IPv6 multicast option on (ENOPROTOOPT);
 * - `mqueueFs`: a POSIX queue's notification shows only in its file under
 *   /dev/mqueue, where the mqueue file system may not be mounted.
 */
export const CANNOT: Readonly<Record<TestKind, string | undefined>> = {
  parking: EMULATED
    ? "under a user-mode emulator waits without an fd poll (nothing parks)"
    : undefined,
  signalMasks: EMULATED
    ? "under a user-mode emulator /proc does not show the signal masks as the process sets them"
    : undefined,
  kernelSignals: EMULATED
    ? "under a user-mode emulator the signals of POSIX timers and mq_notify reach qemu's own handler, never the program's signalfd"
    : undefined,
  futexWaitv: HAS_FUTEX_WAITV
    ? undefined
    : "no futex_waitv in this kernel (as this process sees it)",
  spawnFailure: EMULATED
    ? "under a user-mode emulator posix_spawn does not see a program fail to start"
    : undefined,
  fdTruncation: EMULATED
    ? "under a user-mode emulator descriptors beyond the room are not flagged MSG_CTRUNC"
    : undefined,
  msgReceivePid: EMULATED
    ? "under a user-mode emulator msgctl(IPC_STAT) reports msg_lrpid as 0 (qemu-user writes msg_lspid over it)"
    : undefined,
  multicast: EMULATED
    ? "under a user-mode emulator IP_ADD_MEMBERSHIP loses struct ip_mreqn's interface index (ENODEV) and IPv6 multicast options are not passed on (ENOPROTOOPT)"
    : undefined,
  mqNotify: EMULATED
    ? "under a user-mode emulator mq_notify(3) fails with ENOSYS (qemu-user does not implement it)"
    : undefined,
  mqueueFs: devMqueue() === null
    ? "the mqueue file system is not mounted at /dev/mqueue, where a queue's notification shows"
    : undefined,
  fdTables: EMULATED
    ? "under a user-mode emulator a process's whole descriptor table cannot be compared before and after a step (Deno's runtime adds its own at a moment /proc does not show)"
    : undefined,
};

const printedReasons = new Set<string>();

/**
 * A test or step that is ignored where `reason` (one of {@link CANNOT}) is
 * defined; the reason is printed once.
 */
export function unless(
  reason: string | undefined,
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): { name: string; ignore: boolean; fn: (t: Deno.TestContext) => void | Promise<void> } {
  if (reason !== undefined && !printedReasons.has(reason)) {
    printedReasons.add(reason);
    console.log(`ignored here: ${reason}`);
  }
  return { name, ignore: reason !== undefined, fn };
}

/** What one thread is doing, from `/proc/<pid>/task/<tid>/{wchan,syscall}`. */
export interface ThreadState {
  tid: number;
  /** The kernel function it sleeps in (`do_msgrcv`), or `"0"` when it runs. */
  wchan: string;
  /** The system call it is in, -1 when in none, `undefined` while it runs. */
  syscall: number | undefined;
  /** The call's six arguments. */
  args: bigint[];
}

/** The threads of process `pid` (this one: `Deno.pid`), or `undefined` once it has ended. */
export function threadStates(pid: number): ThreadState[] | undefined {
  const listing = listDir(`/proc/${pid}/task`);
  if (listing === undefined) return undefined;
  const states: ThreadState[] = [];
  for (const name of listing.names) {
    const base = `/proc/${pid}/task/${name}`;
    const wchan = tryReadProcFile(`${base}/wchan`);
    const line = tryReadProcFile(`${base}/syscall`);
    if (wchan === undefined || line === undefined) continue; // the thread ended meanwhile
    const f = line.trim().split(" ");
    const running = f[0] === "running";
    states.push({
      tid: Number(name),
      wchan: wchan.trim(),
      syscall: running ? undefined : Number(f[0]),
      args: running || f[0] === "-1" ? [] : f.slice(1, 7).map((a) => BigInt(a)),
    });
  }
  return states;
}

/** Which blocked call to look for: a system call, its first argument, the kernel function it sleeps in. */
export interface BlockedCallSpec {
  syscall: SyscallName;
  /** The call's first argument (a queue id, an fd); any when absent. */
  arg0?: number | bigint;
  /** More arguments by position (0 = the first), e.g. `{ 2: flags }` of `openat`. */
  args?: Record<number, number | bigint>;
  /** The kernel function the thread sleeps in (e.g. `wait_for_partner`); any when absent. */
  wchan?: string;
}

function describeCall(spec: BlockedCallSpec): string {
  const args = Object.entries({
    ...spec.args,
    ...(spec.arg0 === undefined ? {} : { 0: spec.arg0 }),
  })
    .map(([i, v]) => `arg ${i} = ${v}`);
  const arg = args.length === 0 ? "" : ` (${args.join(", ")})`;
  return `${spec.syscall}${arg}${spec.wchan === undefined ? "" : ` in ${spec.wchan}`}`;
}

/**
 * The threads of `pid` asleep in the kernel in the call `spec` names: in that
 * system call (with that first argument) and not running (a wchan).
 */
export function threadsBlockedIn(pid: number, spec: BlockedCallSpec): number[] {
  const states = threadStates(pid);
  if (states === undefined) return [];
  const numbers = syscallNumbers(spec.syscall);
  const args = Object.entries(spec.args ?? {}).map(([i, v]) => [Number(i), BigInt(v)] as const);
  if (spec.arg0 !== undefined) args.push([0, BigInt(spec.arg0)]);
  return states.filter((s) =>
    s.syscall !== undefined && numbers.includes(s.syscall) && s.wchan !== "0" &&
    args.every(([i, v]) => s.args[i] === v) &&
    (spec.wchan === undefined || s.wchan === spec.wchan)
  ).map((s) => s.tid);
}

/**
 * Waits (a bounded loop that yields a timer turn between checks) until
 * `probe` returns something other than `false`/`undefined`, and returns it.
 * A hang guard, not a timing assertion: only a failure waits `ms`, and then
 * the error says what was awaited (and `explain()`, when given).
 */
export async function until<T>(
  probe: () => T | false | undefined,
  what: string,
  ms = HANG_MS,
  explain?: () => string,
): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) {
      throw new Error(
        `hang guard: ${what} not seen within ${ms} ms${
          explain === undefined ? "" : `\n${explain()}`
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Waits until no reading end of `writer`'s pipe is left anywhere: until a
 * write fails with BrokenPipe. Closing ours is not enough: a child that
 * another test module (this process is theirs too) is starting holds a copy
 * of every descriptor until its exec, and writes succeed meanwhile.
 */
export function readersGone(writer: { tryWrite(data: Uint8Array): number }): Promise<true> {
  const byte = new Uint8Array(1);
  return until(() => {
    try {
      writer.tryWrite(byte);
      return false;
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) return true;
      throw e;
    }
  }, "a write to find no reader");
}

/** The threads of `pid` as text, for the report of a hang. */
export function describeThreads(pid: number): string {
  const states = threadStates(pid);
  if (states === undefined) return `process ${pid} has ended`;
  return states.map((s) =>
    `  thread ${s.tid}: ${s.wchan === "0" ? "running" : `asleep in ${s.wchan}`}, syscall ${
      s.syscall ?? "-"
    }${s.args.length > 0 ? ` (${s.args.slice(0, 3).map((a) => `0x${a.toString(16)}`)}, ...)` : ""}`
  ).join("\n");
}

/**
 * Waits until a thread of process `pid` sleeps in the kernel in the call
 * `spec` names (e.g. `msgrcv` on queue `id`, `read` on fd 0, `open` in
 * `wait_for_partner`); returns its thread id. Fails at once if the process
 * ends first.
 */
export function blockedIn(pid: number, spec: BlockedCallSpec, ms = HANG_MS): Promise<number> {
  return until(
    () => {
      const tids = threadsBlockedIn(pid, spec);
      if (tids.length > 0) return tids[0];
      if (pid !== Deno.pid && !processExists(pid)) {
        throw new Error(`process ${pid} ended before blocking in ${describeCall(spec)}`);
      }
      return undefined;
    },
    `a thread of process ${pid} blocked in ${describeCall(spec)}`,
    ms,
    () => describeThreads(pid),
  );
}

/**
 * Waits until this process's async wait for a call without an fd (`msgrcv`,
 * `msgsnd`, `semtimedop` on an id) is pending in the kernel: a pool thread
 * asleep in it. Where such waits poll ({@link CANNOT}`.parking`), the wait is
 * pending once the call that started it has returned, with nothing to see.
 */
export async function ownWaitPending(spec: BlockedCallSpec): Promise<void> {
  if (CANNOT.parking === undefined) await blockedIn(Deno.pid, spec);
}

// ---------------------------------------------------------------- epoll registrations

/** An fd registered in an epoll instance: the instance's fd and the events asked for. */
export interface EpollWatch {
  epfd: number;
  events: number;
}

/** Readiness bits as epoll and poll name them. */
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;

/** Events an epoll registration can wait for (the rest of its bits are flags). */
const EPOLL_READINESS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x2000;

/**
 * The epoll instances of process `pid` (this one by default) in which `fd` is
 * registered and armed. A one-shot registration whose event fired waits for
 * nothing until it is re-armed (the kernel keeps only its flags): it is not
 * listed.
 */
export function epollWatches(fd: number, pid: number | "self" = "self"): EpollWatch[] {
  return epollRegistrations(pid)(fd);
}

/**
 * {@link epollWatches} for many fds at once: every epoll instance of `pid` is
 * read once, where each call of `epollWatches` reads them all (200 fds under
 * emulation: 1.5 minutes).
 */
export function epollRegistrations(pid: number | "self" = "self"): (fd: number) => EpollWatch[] {
  const registrations: { epfd: number; fd: number; events: number; ino: bigint }[] = [];
  for (const [epfd, target] of openFds(pid)) {
    if (target !== "anon_inode:[eventpoll]") continue;
    const info = tryReadProcFile(`/proc/${pid}/fdinfo/${epfd}`) ?? "";
    const lines = /^tfd:\s*(\d+)\s+events:\s*([0-9a-f]+).*\bino:([0-9a-f]+)/gm;
    for (const m of info.matchAll(lines)) {
      const events = parseInt(m[2], 16);
      if ((events & EPOLL_READINESS) === 0) continue;
      registrations.push({ epfd, fd: Number(m[1]), events, ino: BigInt(`0x${m[3]}`) });
    }
  }
  return (fd) => {
    // A registration names the fd number it was made with, and outlives that fd while its file
    // lives on elsewhere (a dup, a child's copy): the inode tells which file it watches.
    const ino = /^ino:\s*(\d+)$/m.exec(tryReadProcFile(`/proc/${pid}/fdinfo/${fd}`) ?? "")?.[1];
    return registrations
      .filter((r) => r.fd === fd && (ino === undefined || r.ino === BigInt(ino)))
      .map(({ epfd, events }) => ({ epfd, events }));
  };
}

/**
 * Whether this process waits for `events` on `fd` in the kernel: the fd is
 * registered for them in an epoll instance, and a thread sleeps in
 * `epoll_wait` on that instance.
 */
export function fdWaitedOn(fd: number, events: number): boolean {
  return epollWatches(fd).some((w) =>
    (w.events & events) !== 0 &&
    threadsBlockedIn(Deno.pid, { syscall: "epoll_wait", arg0: w.epfd }).length > 0
  );
}

/** The fds in the `struct pollfd` array of a thread blocked in poll/ppoll, read from /proc/<pid>/mem. */
function polledFds(pid: number, state: ThreadState): number[] {
  const [address, count] = state.args;
  const n = Number(count);
  if (n <= 0 || n > 1024) return [];
  const mem = libc.open(cstr(`/proc/${pid}/mem`), O_RDONLY | O_CLOEXEC, 0);
  if (mem < 0) return [];
  try {
    const buf = new Uint8Array(8 * n);
    if (libc.pread(mem, buf, buf.length, address) !== buf.length) return [];
    const view = new DataView(buf.buffer);
    return Array.from({ length: n }, (_, i) => view.getInt32(8 * i, true));
  } finally {
    libc.close(mem);
  }
}

/**
 * The threads of process `pid` asleep in the kernel waiting on what its fd
 * `fd` is open on (a pipe, a FIFO, a queue), through that fd or any other of
 * the process open on the same object (a reopened description, a dup): in
 * `read`/`write` of it, in `poll` with it in the pollfd array, or in
 * `epoll_wait` on an instance where it is registered.
 */
export function threadsWaitingOn(pid: number, fd: number): number[] {
  const states = threadStates(pid);
  if (states === undefined) return [];
  const fds = openFds(pid);
  const object = fds.get(fd);
  if (object === undefined) return [];
  const same = (n: number | bigint) => fds.get(Number(n)) === object;
  const rw = [...syscallNumbers("read"), ...syscallNumbers("write")];
  const poll = syscallNumbers("poll");
  const epoll = syscallNumbers("epoll_wait");
  const instances = new Set<bigint>();
  for (const [other, target] of fds) {
    if (target !== object) continue;
    for (const w of epollWatches(other, pid)) instances.add(BigInt(w.epfd));
  }
  return states.filter((s) => {
    if (s.syscall === undefined || s.wchan === "0") return false;
    if (rw.includes(s.syscall)) return same(s.args[0]);
    if (poll.includes(s.syscall)) return polledFds(pid, s).some(same);
    if (epoll.includes(s.syscall)) return instances.has(s.args[0]);
    return false;
  }).map((s) => s.tid);
}

/** Waits until a thread of process `pid` waits in the kernel on its fd `fd` (see {@link threadsWaitingOn}). */
export function waitingOn(pid: number, fd: number, ms = HANG_MS): Promise<number> {
  return until(
    () => {
      const tids = threadsWaitingOn(pid, fd);
      if (tids.length > 0) return tids[0];
      if (pid !== Deno.pid && !processExists(pid)) {
        throw new Error(`process ${pid} ended before waiting on fd ${fd}`);
      }
      return undefined;
    },
    `a thread of process ${pid} waiting on fd ${fd}`,
    ms,
    () => describeThreads(pid),
  );
}

/** Waits until this process waits in the kernel for `events` on `fd` (see {@link fdWaitedOn}). */
export function waitedOn(fd: number, events: number, ms = HANG_MS): Promise<true> {
  return until(
    () => fdWaitedOn(fd, events),
    `a wait for ${events === EPOLLOUT ? "room" : "data"} on fd ${fd} in epoll_wait`,
    ms,
    () =>
      `epoll registrations of fd ${fd}: ${JSON.stringify(epollWatches(fd))}\n${
        describeThreads(Deno.pid)
      }`,
  );
}

// ================================================================ raw descriptors

/** Duplicates `fd` with `fcntl(F_DUPFD)`: the copy is NOT close-on-exec. */
export function dupInheritable(fd: number): number {
  const copy = libc.fcntl(fd, F_DUPFD, 0);
  if (copy < 0) throw new Error(`fcntl(F_DUPFD) failed, errno ${errno()}`);
  return copy;
}

/** The bytes waiting to be read on `fd` (a pipe's read end or a socket): `ioctl(FIONREAD)`. */
export function bytesQueued(fd: number): number {
  const n = new Int32Array(1);
  if (libc.ioctl(fd, 0x541bn, new Uint8Array(n.buffer)) < 0) {
    throw new Error(`ioctl(${fd}, FIONREAD): errno ${errno()}`);
  }
  return n[0];
}

/** Whether `fd` is an open descriptor of this process. */
export function isOpen(fd: number): boolean {
  return libc.fcntl(fd, F_GETFD, 0) >= 0;
}

/**
 * Whether `fd` is open and still links to `target` (from {@link fdTarget}).
 * Tests ask this, not `isOpen`, after a close: test modules run in parallel
 * in this process, and one of them may be given the freed number at once.
 */
export function refersTo(fd: number, target: string): boolean {
  return readLink(`/proc/self/fd/${fd}`) === target;
}

/** Whether `fd` has FD_CLOEXEC. */
export function isCloexec(fd: number): boolean {
  const flags = libc.fcntl(fd, F_GETFD, 0);
  if (flags < 0) throw new Error(`fcntl(F_GETFD) failed, errno ${errno()}`);
  return (flags & FD_CLOEXEC) !== 0;
}

/** The access mode of `fd`'s open file description: 0 read-only, 1 write-only, 2 read-write. */
export function fdAccessMode(fd: number): number {
  const flags = libc.fcntl(fd, F_GETFL, 0);
  if (flags < 0) throw new Error(`fcntl(F_GETFL) failed, errno ${errno()}`);
  return flags & 3;
}

/** Whether the open file description of `fd` has O_NONBLOCK. */
export function isNonBlocking(fd: number): boolean {
  const flags = libc.fcntl(fd, F_GETFL, 0);
  if (flags < 0) throw new Error(`fcntl(F_GETFL) failed, errno ${errno()}`);
  return (flags & O_NONBLOCK) !== 0;
}

/** Sets or clears O_NONBLOCK on the open file description of `fd` (shared by every copy of it). */
export function setNonBlocking(fd: number, on: boolean): void {
  const flags = libc.fcntl(fd, F_GETFL, 0);
  const r = libc.fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
  if (flags < 0 || r < 0) throw new Error(`fcntl(F_SETFL) failed, errno ${errno()}`);
}

/** Closes a raw descriptor. */
export function closeFd(fd: number): void {
  libc.close(fd);
}

/** A pipe made with plain `pipe2(O_CLOEXEC)`: blocking ends, raw fd numbers. */
export function rawPipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe2(new Uint8Array(fds.buffer), O_CLOEXEC) < 0) {
    throw new Error(`pipe2 failed, errno ${errno()}`);
  }
  return [fds[0], fds[1]];
}

/** What poll(2) says about `fd` now (for diagnostics). */
export function readiness(fd: number): string {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, EPOLLIN | EPOLLOUT, true);
  const n = libc.poll(pfd, 1n, 0);
  if (n < 0) return `poll failed (errno ${errno()})`;
  const r = v.getInt16(6, true);
  const names = [[0x1, "IN"], [0x4, "OUT"], [0x8, "ERR"], [0x10, "HUP"], [0x20, "NVAL"]] as const;
  return names.filter(([bit]) => (r & bit) !== 0).map(([, name]) => name).join("|") || "not ready";
}

/**
 * Fails if any descriptor of this process still refers to one of `targets`
 * (pipe link targets like `pipe:[1234]`) or is a pidfd of one of `pids`.
 * Identities, not counts: test modules may share the process (`--parallel`)
 * and open descriptors of their own meanwhile.
 */
export function assertReleased(targets: Iterable<string>, pids: Iterable<number> = []): void {
  const wanted = new Set(targets);
  const left = [...openFds()].filter(([, t]) => wanted.has(t)).map(([fd, t]) => `${fd} -> ${t}`);
  const pidfds = pidfdPids();
  const leftPids = [...pids].filter((p) => pidfds.has(p)).map((p) => `pidfd of ${p}`);
  if (left.length > 0 || leftPids.length > 0) {
    throw new Error(`descriptors left open: ${[...left, ...leftPids].join(", ")}`);
  }
}

// ================================================================ the error matcher

/** Where a system error points: what its message names, or its fields. */
export type ErrorWhere = string | {
  path?: string;
  fd?: number;
  id?: number;
  key?: number;
  pid?: number;
  processGroup?: number;
  address?: string;
};

/**
 * A matcher for `assert.throws`/`assert.rejects`: the error is a `Class`
 * with the details of the error model: `code` (one of `code` when a list),
 * the matching `errno`, `syscall`, a message like Deno's
 * (`... (os error N): syscall ...`), and `where`: text the message contains,
 * or fields (`path`, `fd`, `id`, `key`, `pid`) it carries.
 */
export function systemError(
  Class: new (...args: never[]) => Error,
  code: string | string[],
  syscall: string,
  where?: ErrorWhere,
): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof Class, `expected ${Class.name}, got ${e}`);
    const info = e as Error & Record<string, unknown>;
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(info.code as string), `code ${info.code}, expected ${codes}: ${e}`);
    assert.equal(info.errno, ERRNO[info.code as string], `errno of ${info.code}: ${e}`);
    assert.equal(info.syscall, syscall, `syscall: ${e}`);
    assert.ok(
      info.message.includes(`(os error ${info.errno}): ${syscall}`),
      `message: ${info.message}`,
    );
    if (typeof where === "string") {
      assert.ok(info.message.includes(where), `${JSON.stringify(where)} in ${info.message}`);
    } else if (where !== undefined) {
      for (const [field, value] of Object.entries(where)) {
        assert.equal(info[field], value, `${field} of ${e}`);
      }
    }
    return true;
  };
}

// ================================================================ hang guards and output

/**
 * Resolves or rejects like `promise`, but rejects once `ms` pass first (a hang
 * guard, not a timing assertion): then `onTimeout` runs first, e.g. to kill a child.
 */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  ms = HANG_MS,
  onTimeout?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  promise.catch(() => {}); // a late rejection after the guard fired is not "unhandled"
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`hang guard: ${what} did not settle within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads `reader` to its end (hang guard `ms`) and returns the bytes. */
export async function readAllBytes(
  reader: FdReader,
  ms = HANG_MS,
): Promise<Uint8Array<ArrayBuffer>> {
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new Error(`hang guard: output did not end within ${ms} ms`)),
    ms,
  );
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await reader.read(buf, { signal: ac.signal });
      if (n === null) break;
      parts.push(buf.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  const all = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** Reads `reader` to its end (hang guard `ms`) and returns the text. */
export async function readAll(reader: FdReader, ms = HANG_MS): Promise<string> {
  return decoder.decode(await readAllBytes(reader, ms));
}

/** Reads from `reader` until the text read so far contains `marker` (hang guard `ms`). */
export async function readUntil(reader: FdReader, marker: string, ms = HANG_MS): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new Error(`hang guard: no ${JSON.stringify(marker)} within ${ms} ms`)),
    ms,
  );
  const buf = new Uint8Array(4096);
  const dec = new TextDecoder();
  let text = "";
  try {
    while (!text.includes(marker)) {
      const n = await reader.read(buf, { signal: ac.signal });
      if (n === null) throw new Error(`end of output before ${JSON.stringify(marker)}: ${text}`);
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return text;
}

/** Kills `child` with SIGKILL unless it has ended, and waits for it (hang guard). */
export async function killAndReap(child: ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already ended and reaped.
  }
  await within(child.status.catch(() => undefined), `child ${child.pid} to end after SIGKILL`);
}

/**
 * What a call gave, for a child's JSON report: its value (`"ok"` for none), or
 * the error's `name`, `code` and `syscall`.
 */
export function outcome(f: () => unknown): unknown {
  try {
    return f() ?? "ok";
  } catch (e) {
    const { name, code, syscall } = e as Error & { code?: string; syscall?: string };
    return { name, code, syscall };
  }
}

/** What {@link commandOutput} returns: the status, and stdout and stderr as text. */
export interface CommandResult {
  pid: number;
  code: number;
  signal: Deno.Signal | null;
  success: boolean;
  stdout: string;
  stderr: string;
}

/**
 * `new Deno.Command(program, options).output()` with a hang guard: a child
 * still running after `ms` is killed with SIGKILL (one deadlocked inside a
 * user-mode emulator may never act on a SIGTERM) and, under emulation, run
 * once more; otherwise the hang is thrown with what the child printed. Its
 * output is then read no further (a grandchild may hold the pipes open).
 * stdout and stderr are piped and decoded.
 */
export async function commandOutput(
  program: string | URL,
  options: Omit<Deno.CommandOptions, "stdout" | "stderr"> = {},
  ms = HANG_MS,
  tries = EMULATED ? 2 : 1,
): Promise<CommandResult> {
  const child = new Deno.Command(program, { ...options, stdout: "piped", stderr: "piped" })
    .spawn();
  let hung = false;
  const { promise: killed, resolve: stopReading } = Promise.withResolvers<void>();
  const guard = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
    child.status.finally(stopReading);
  }, ms);
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    textOf(child.stdout, killed),
    textOf(child.stderr, killed),
  ]).finally(() => clearTimeout(guard));
  const result = { pid: child.pid, ...status, stdout, stderr };
  if (!hung) return result;
  const what = `${program} ${(options.args ?? []).join(" ")}`;
  if (tries > 1) {
    console.error(`hang guard: ${what} still ran after ${ms} ms; killed, trying again`);
    return commandOutput(program, options, ms, tries - 1);
  }
  throw new Error(
    `hang guard: ${what} still ran after ${ms} ms; killed\n--- stdout ---\n${stdout}` +
      `\n--- stderr ---\n${stderr}`,
  );
}

/** The text `stream` carries to its end, or until `stop` resolves. */
async function textOf(stream: ReadableStream<Uint8Array>, stop: Promise<void>): Promise<string> {
  const reader = stream.getReader();
  stop.then(() => reader.cancel()).catch(() => {});
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

// ---------------------------------------------------------------- captured stderr

/**
 * A pipe for a child's stderr, read without waiting: a raw pipe (no wait of
 * the engine under test is ever pending on it), its read end non-blocking
 * and, where the kernel lets it, 1 MiB large, so a child never blocks on it.
 * {@link StderrPipe.take} collects what is there.
 */
class StderrPipe implements Disposable {
  readonly readFd: number;
  /** The end to hand over as the child's fd 2; close it once the child is started. */
  readonly writeFd: number;
  #text = "";
  #dec = new TextDecoder();
  #closed = false;

  constructor() {
    [this.readFd, this.writeFd] = rawPipe();
    setNonBlocking(this.readFd, true);
    libc.fcntl(this.readFd, F_SETPIPE_SZ, 1 << 20); // best effort
  }

  /** Everything read so far, after reading what is in the pipe now. */
  take(): string {
    if (this.#closed) return this.#text;
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = libc.read(this.readFd, buf, buf.length);
      if (n <= 0) break; // end of file, or EAGAIN: nothing more now
      this.#text += this.#dec.decode(buf.subarray(0, n), { stream: true });
    }
    return this.#text;
  }

  /** Closes the write end (the parent's copy, once the child has its own). */
  closeWriter(): void {
    closeFd(this.writeFd);
  }

  /** Keeps what is in the pipe, then closes the read end. */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.take();
    this.#closed = true;
    closeFd(this.readFd);
  }
}

/** The text a failure adds: the stderr of children, each under a header. */
function stderrSection(children: Array<{ label: string; stderr: string }>): string {
  return children.filter((c) => c.stderr.trim() !== "").map((c) =>
    `\n--- stderr of ${c.label} ---\n${c.stderr.trimEnd()}\n--- end of stderr ---`
  ).join("");
}

/** `e` with the children's stderr added to its message (the original as `cause`); `e` itself when they wrote none. */
function withStderr(e: unknown, children: Array<{ label: string; stderr: string }>): unknown {
  const section = stderrSection(children);
  if (section === "") return e;
  const message = e instanceof Error ? e.message : String(e);
  const out = new Error(`${message}${section}`, { cause: e });
  if (e instanceof Error) out.name = e.name;
  return out;
}

/** Options of {@link TestScope.fixture}: those of `spawn()`. */
export type FixtureOptions = SpawnOptions;

/** The URL of a child program in tests/fixtures/. */
export function fixtureUrl(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

/**
 * A Deno child running a fixture, with its stderr captured through a pipe:
 * {@link Fixture.exits} and {@link Fixture.check} put that stderr in the
 * message of a failure.
 */
export class Fixture {
  readonly #err: StderrPipe;

  /** @internal */
  constructor(readonly name: string, readonly child: ChildProcess, err: StderrPipe) {
    this.#err = err;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** For error messages: `fixture msg_queue_peer.ts (pid 1234)`. */
  get label(): string {
    return `fixture ${this.name} (pid ${this.pid})`;
  }

  /** What the child wrote to stderr so far (all of it once it has ended). */
  stderr(): string {
    return this.#err.take();
  }

  /** Its status once it ends (hang guard `ms`; a hang shows its stderr). */
  async status(ms = HANG_MS): Promise<ChildStatus> {
    try {
      return await within(this.child.status, `${this.label} to end`, ms);
    } catch (e) {
      throw withStderr(e, [{ label: this.label, stderr: this.stderr() }]);
    }
  }

  /** Waits for its end and asserts it exited with `code`; the message has its stderr and `context`. */
  async exits(code = 0, context = ""): Promise<ChildStatus> {
    const status = await this.status();
    if (status.code !== code || status.signal !== null) {
      throw withStderr(
        new assert.AssertionError({
          message: `${this.label} ended with ${JSON.stringify(status)}, expected exit code ${code}${
            context === "" ? "" : `\n${context}`
          }`,
          actual: status,
          expected: { success: code === 0, code, signal: null },
          operator: "deepStrictEqual",
        }),
        [{ label: this.label, stderr: this.stderr() || "(nothing)" }],
      );
    }
    return status;
  }

  /** Runs a cross-process assertion; a failure is rethrown with the child's stderr. */
  async check<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw withStderr(e, [{ label: this.label, stderr: this.stderr() }]);
    }
  }
}

/**
 * Starts a child with its stdout on a pipe of ours (`start` gets the write
 * end, and a write end for its stderr to hand over as fd 2), collects that
 * output to its end and the child's status; kills the child if anything fails
 * or hangs (the error then has its stderr). Closes the pipes in every case.
 */
export async function runCollect(
  start: (stdout: FdWriter, stderr: number) => ChildProcess,
  ms = HANG_MS,
): Promise<{ status: ChildStatus; stdout: string; stderr: string; pid: number }> {
  const p = pipe();
  const err = new StderrPipe();
  let child: ChildProcess;
  try {
    child = start(p.writer, err.writeFd);
  } catch (e) {
    p.reader.close();
    err[Symbol.dispose]();
    throw e;
  } finally {
    p.writer.close();
    err.closeWriter();
  }
  try {
    const stdout = await readAll(p.reader, ms);
    const status = await within(child.status, `child ${child.pid} to end`, ms);
    return { status, stdout, stderr: err.take(), pid: child.pid };
  } catch (e) {
    await killAndReap(child);
    throw withStderr(e, [{ label: `child ${child.pid}`, stderr: err.take() }]);
  } finally {
    p.reader.close();
    err[Symbol.dispose]();
  }
}

// ================================================================ the cleanup scope

/** A POSIX queue name unique to this test run and module instance (modules share the process). */
const POSIX_PREFIX = `/libc-ipc-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-`;
let posixCounter = 0;

/**
 * What one test (or step) creates, released at its end even when it fails:
 * children are killed and reaped (orphans of children killed), pipes, handles
 * and raw fds closed, System V queues removed and POSIX queue names unlinked
 * (with the tests' own libc), FIFOs, temporary files and directories removed.
 * Disposal then checks that all of it is gone: no descriptor refers to a pipe
 * made here, to a POSIX queue or to a path under a temporary directory made
 * here, or is a pidfd of a child started here; no child is left, not even as
 * a zombie; no queue id is in /proc/sysvipc/msg and no POSIX name exists any
 * more. What went wrong is thrown with the stderr of the scope's fixtures.
 *
 * `await using s = new TestScope()`; a scope that starts no child may also
 * be disposed synchronously (`using`, in a sync step).
 */
export class TestScope implements AsyncDisposable, Disposable {
  #targets = new Set<string>();
  #children: ChildProcess[] = [];
  #fixtures: Fixture[] = [];
  #orphans: number[] = [];
  #handles: Disposable[] = [];
  #rawFds: number[] = [];
  #paths: string[] = [];
  #dirs: string[] = [];
  #sysv: number[] = [];
  #posix: string[] = [];
  #segments: number[] = [];
  #semaphoreSets: number[] = [];
  #shmNames: string[] = [];
  #semNames: string[] = [];

  /** A pipe from the library, closed at the end. */
  pipe(): Pipe {
    const p = pipe();
    this.#handles.push(p);
    this.#targets.add(fdTarget(p.reader.fd));
    return p;
  }

  /** A handle (reader, writer, queue, ...) to close at the end. */
  handle<T extends Disposable>(handle: T): T {
    this.#handles.push(handle);
    return handle;
  }

  /** A raw descriptor to close at the end (its object is checked as released). */
  fd(fd: number): number {
    this.#targets.add(fdTarget(fd));
    this.#rawFds.push(fd);
    return fd;
  }

  /** A child to kill (if it still runs) and reap at the end. */
  child<T extends ChildProcess>(child: T): T {
    this.#children.push(child);
    return child;
  }

  /** A process that is not our child (an orphan of a child): killed at the end if it still runs. */
  orphan(pid: number): number {
    this.#orphans.push(pid);
    return pid;
  }

  /**
   * Starts `tests/fixtures/<name>` as a Deno child, its stderr captured
   * (fd 2 on a pipe of the scope); killed and reaped at the end.
   */
  fixture(name: string, options: FixtureOptions = {}): Fixture {
    const err = new StderrPipe();
    this.#targets.add(fdTarget(err.readFd));
    this.#handles.push(err);
    let child: ChildProcess;
    try {
      child = spawn(fixtureUrl(name), { ...options, fds: { ...options.fds, 2: err.writeFd } });
    } finally {
      err.closeWriter();
    }
    this.child(child);
    const f = new Fixture(name, child, err);
    this.#fixtures.push(f);
    return f;
  }

  /** A temporary file or directory (or a FIFO) to remove at the end. */
  path(path: string): string {
    this.#paths.push(path);
    return path;
  }

  /** A new temporary directory, removed with everything in it at the end; nothing may stay open in it. */
  async tempDir(prefix = "libc-ipc-test-"): Promise<string> {
    const dir = await Deno.makeTempDir({ prefix });
    this.#dirs.push(dir);
    return this.path(dir);
  }

  /** A System V queue (or its id) to remove at the end; a handle is closed too. */
  sysv<T extends { id: number } | number>(q: T): T {
    if (typeof q === "number") {
      this.#sysv.push(q);
    } else {
      this.#sysv.push((q as { id: number }).id);
      if (Symbol.dispose in (q as object)) this.#handles.push(q as unknown as Disposable);
    }
    return q;
  }

  /** Opens a System V queue (`MessageQueue.open`) that the scope removes at the end. */
  messageQueue(
    key: number | "private" = "private",
    options?: MessageQueueOpenOptions,
  ): MessageQueue {
    return this.sysv(MessageQueueClass.open(key, options));
  }

  /** A POSIX queue name to unlink at the end: a fresh one, unique in this run, or `name`. */
  posixName(name?: string): string {
    name ??= `${POSIX_PREFIX}${++posixCounter}`;
    this.#posix.push(name);
    return name;
  }

  /** A System V segment (or its id) to remove at the end; a handle is closed (detached) first. */
  segment<T extends { id: number } | number>(seg: T): T {
    this.#segments.push(typeof seg === "number" ? seg : (seg as { id: number }).id);
    if (typeof seg !== "number" && Symbol.dispose in (seg as object)) {
      this.#handles.push(seg as unknown as Disposable);
    }
    return seg;
  }

  /** A System V semaphore set (or its id) to remove at the end; a handle is closed too. */
  semaphoreSet<T extends { id: number } | number>(set: T): T {
    this.#semaphoreSets.push(typeof set === "number" ? set : (set as { id: number }).id);
    if (typeof set !== "number" && Symbol.dispose in (set as object)) {
      this.#handles.push(set as unknown as Disposable);
    }
    return set;
  }

  /** A POSIX shared-memory name to unlink at the end: a fresh one, unique in this run, or `name`. */
  shmName(name?: string): string {
    name ??= `${POSIX_PREFIX}shm-${++posixCounter}`;
    this.#shmNames.push(name);
    return name;
  }

  /** A POSIX named-semaphore name to unlink at the end: a fresh one, unique in this run, or `name`. */
  semName(name?: string): string {
    name ??= `${POSIX_PREFIX}sem-${++posixCounter}`;
    this.#semNames.push(name);
    return name;
  }

  /** Pipe link targets (`pipe:[inode]`) of everything made here. */
  get targets(): ReadonlySet<string> {
    return this.#targets;
  }

  /** The fixtures started here. */
  get fixtures(): readonly Fixture[] {
    return this.#fixtures;
  }

  /**
   * Runs a cross-process assertion (or a whole exchange with children); a
   * failure is rethrown with the stderr of every fixture of this scope.
   */
  async check<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** `e` with the stderr of every fixture of this scope added (when they wrote any). */
  explain(e: unknown): unknown {
    return withStderr(e, this.#fixtures.map((f) => ({ label: f.label, stderr: f.stderr() })));
  }

  /**
   * Releases everything and checks it gone (see the class); throws what went
   * wrong, with the stderr of the fixtures. A scope with children needs
   * `await using` (reaping waits); any other may use `using`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const problems: unknown[] = [];
    // What the children started (a relaunched copy) goes with them, also when a test failed.
    for (const c of this.#children) this.#orphans.push(...descendants(c.pid));
    this.#killOrphans();
    try {
      await Promise.all(this.#children.map(killAndReap));
    } catch (e) {
      problems.push(e);
    }
    this.#release(problems);
  }

  /** As the async disposal, for scopes without children (a `using` in a sync step). */
  [Symbol.dispose](): void {
    const problems: unknown[] = [];
    this.#killOrphans();
    if (this.#children.some((c) => processExists(c.pid))) {
      for (const c of this.#children) libc.kill(c.pid, SIGKILL);
      problems.push(
        new Error("a TestScope with children needs `await using`: they were not reaped"),
      );
    }
    this.#release(problems);
  }

  #killOrphans(): void {
    for (const pid of this.#orphans.splice(0)) libc.kill(pid, SIGKILL);
  }

  #release(problems: unknown[]): void {
    const step = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        problems.push(e);
      }
    };
    for (const h of this.#handles.splice(0)) step(() => h[Symbol.dispose]());
    for (const fd of this.#rawFds.splice(0)) closeFd(fd);
    for (const id of this.#sysv) libc.msgctl(id, IPC_RMID, null);
    for (const name of this.#posix) libc.mq_unlink(cstr(name));
    for (const id of this.#segments) libc.shmctl(id, IPC_RMID, null);
    for (const id of this.#semaphoreSets) libc.semctl(id, 0, IPC_RMID, null);
    for (const name of this.#shmNames) libc.shm_unlink(cstr(name));
    for (const name of this.#semNames) libc.sem_unlink(cstr(name));
    for (const p of this.#paths.splice(0).reverse()) {
      step(() => {
        try {
          Deno.removeSync(p, { recursive: true });
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      });
    }
    step(() => assertReleased(this.#targets, this.#children.map((c) => c.pid)));
    step(() => {
      const left = this.#children.filter((c) => processExists(c.pid)).map((c) => c.pid);
      assert.deepEqual(left, [], "children left behind (zombies?)");
    });
    step(() => {
      const live = sysvQueues();
      assert.deepEqual(this.#sysv.filter((id) => live.has(id)), [], "System V queues left behind");
    });
    step(() => {
      assert.deepEqual(this.#posix.filter(posixQueueExists), [], "POSIX queues left behind");
      const names = new Set(this.#posix);
      const fds = [...openFds()].filter(([, target]) => names.has(target));
      assert.deepEqual(fds, [], "POSIX queue descriptors left open");
    });
    step(() => {
      // A removed segment stays listed while a process has it attached: ours are all detached.
      const live = sysvSegments();
      assert.deepEqual(this.#segments.filter((id) => live.has(id)), [], "segments left behind");
      const sets = sysvSemaphoreSets();
      assert.deepEqual(
        this.#semaphoreSets.filter((id) => sets.has(id)),
        [],
        "semaphore sets left behind",
      );
      const names = new Set(devShm());
      const left = [
        ...this.#shmNames.filter((n) => names.has(n.slice(1))),
        ...this.#semNames.filter((n) => names.has(`sem.${n.slice(1)}`)),
      ];
      assert.deepEqual(left, [], "names left in /dev/shm");
      const shm = this.#shmNames.map((n) => `/dev/shm${n}`);
      const held = [...openFds()].filter(([, t]) =>
        shm.some((p) => t === p || t === `${p} (deleted)`)
      );
      assert.deepEqual(held, [], "shared memory descriptors left open");
      assert.deepEqual(shm.flatMap((p) => mappingsOf(p)), [], "shared memory left mapped");
    });
    step(() => {
      const dirs = this.#dirs.map((d) => `${d}/`);
      const fds = [...openFds()].filter(([, t]) => dirs.some((d) => t.startsWith(d)));
      assert.deepEqual(fds, [], "descriptors left open on paths in temporary directories");
    });
    if (problems.length === 1) throw this.explain(problems[0]);
    if (problems.length > 1) {
      throw this.explain(new AggregateError(problems, `clean-up failed: ${problems.join("; ")}`));
    }
  }
}

/** Whether anything is at `path` (following links). */
export function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether what `make` returns (the body of a function, after `imports`, run
 * in a `deno eval` child with `gc()`) is freed once nothing else holds it.
 * The child must exit 0; its stderr is the failure's message.
 */
export async function freedInChild(imports: string, make: string): Promise<boolean> {
  const code = `${imports}
    let ref;
    (() => { ref = new WeakRef((() => { ${make} })()); })();
    await new Promise((r) => setTimeout(r, 0)); // a WeakRef holds its target for the job
    globalThis.gc();
    console.log(ref.deref() === undefined ? "freed" : "kept");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout).trim() === "freed";
}

/**
 * Runs `code` (TypeScript) in a `deno eval` child, which must exit 0 (its
 * stderr is the failure's message): for what changes the whole process, as
 * its working directory, which other tests share, or what stays until it
 * exits. `prefix` runs Deno under another program (`prlimit`, `unshare`);
 * `blockSignals` as `spawn`'s.
 */
export async function evalInChild(
  s: TestScope,
  code: string,
  prefix: string[] = [],
  blockSignals?: SignalName[],
): Promise<void> {
  const err = s.pipe();
  const argv = [...prefix, Deno.execPath(), "eval", "--ext=ts", code];
  const child = s.child(
    spawnProgram(argv[0], argv.slice(1), { fds: { 2: err.writer }, blockSignals }),
  );
  err.writer.close();
  const stderr = await within(
    new Response(err.reader.readable).text(),
    "the child's stderr to end",
  );
  assert.equal((await child.status).code, 0, stderr);
}
