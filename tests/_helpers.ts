/**
 * Test helpers: a small libc binding of the test's own (so checks do not rely
 * on the code under test), descriptor listings from /proc, signal masks, hang
 * guards and output collection for children.
 *
 * /proc is read through libc: Deno asks for `--allow-all` to read /proc/self.
 *
 * @module
 */
import type { ChildProcess, ChildStatus, FdReader, FdWriter, Pipe } from "../mod.ts";
import { pipe } from "../mod.ts";

const lib = Deno.dlopen("libc.so.6", {
  __errno_location: { parameters: [], result: "pointer" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  dirfd: { parameters: ["pointer"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
});
const sys = lib.symbols;
const errnoView = new Deno.UnsafePointerView(sys.__errno_location()!);

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const F_DUPFD = 0;
const F_GETFD = 1;
const FD_CLOEXEC = 1;
const ESRCH = 3;
/** Offset of `d_name` in glibc's `struct dirent` on 64-bit Linux. */
const D_NAME = 19;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cstr(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s + "\0");
}

/** Names in a /proc directory (without "." and ".."), and the fd used to read it. */
function listDir(path: string): { names: string[]; ownFd: number } {
  const dir = sys.opendir(cstr(path));
  if (dir === null) throw new Error(`opendir ${path} failed, errno ${errnoView.getInt32()}`);
  const names: string[] = [];
  const ownFd = sys.dirfd(dir);
  try {
    for (let ent = sys.readdir(dir); ent !== null; ent = sys.readdir(dir)) {
      const name = new Deno.UnsafePointerView(ent).getCString(D_NAME);
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    sys.closedir(dir);
  }
  return { names, ownFd };
}

function readLink(path: string): string | undefined {
  const buf = new Uint8Array(4096);
  const n = sys.readlink(cstr(path), buf, buf.length);
  return n < 0 ? undefined : decoder.decode(buf.subarray(0, n));
}

/** Reads a whole (small) file through libc, e.g. under /proc. */
export function readProcFile(path: string): string {
  const fd = sys.open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`open ${path} failed, errno ${errnoView.getInt32()}`);
  const chunks: string[] = [];
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = sys.read(fd, buf, buf.length);
      if (n < 0) throw new Error(`read ${path} failed, errno ${errnoView.getInt32()}`);
      if (n === 0) break;
      chunks.push(decoder.decode(buf.subarray(0, n)));
    }
  } finally {
    sys.close(fd);
  }
  return chunks.join("");
}

/** The open descriptors of a process (this one by default), each with its link target. */
export function openFds(pid: number | "self" = "self"): Map<number, string> {
  const base = `/proc/${pid}/fd`;
  const { names, ownFd } = listDir(base);
  const fds = new Map<number, string>();
  for (const name of names) {
    const fd = Number(name);
    if (pid === "self" && fd === ownFd) continue;
    const target = readLink(`${base}/${name}`);
    if (target !== undefined) fds.set(fd, target);
  }
  return fds;
}

/** The link target of one of this process's descriptors (`pipe:[1234]` for a pipe end). */
export function fdTarget(fd: number): string {
  const target = readLink(`/proc/self/fd/${fd}`);
  if (target === undefined) throw new Error(`fd ${fd} is not open`);
  return target;
}

/** The process ids a pidfd of this process refers to, from /proc/self/fdinfo. */
export function pidfdPids(): Set<number> {
  const pids = new Set<number>();
  for (const [fd, target] of openFds()) {
    if (target !== "anon_inode:[pidfd]") continue;
    try {
      const m = /^Pid:\s*(-?\d+)/m.exec(readProcFile(`/proc/self/fdinfo/${fd}`));
      if (m !== null) pids.add(Number(m[1]));
    } catch {
      // Closed meanwhile.
    }
  }
  return pids;
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

/** Duplicates `fd` with `fcntl(F_DUPFD)`: the copy is NOT close-on-exec. */
export function dupInheritable(fd: number): number {
  const copy = sys.fcntl(fd, F_DUPFD, 0);
  if (copy < 0) throw new Error(`fcntl(F_DUPFD) failed, errno ${errnoView.getInt32()}`);
  return copy;
}

/** Whether `fd` is an open descriptor of this process. */
export function isOpen(fd: number): boolean {
  return sys.fcntl(fd, F_GETFD, 0) >= 0;
}

/** Whether `fd` has FD_CLOEXEC. */
export function isCloexec(fd: number): boolean {
  const flags = sys.fcntl(fd, F_GETFD, 0);
  if (flags < 0) throw new Error(`fcntl(F_GETFD) failed, errno ${errnoView.getInt32()}`);
  return (flags & FD_CLOEXEC) !== 0;
}

/** Closes a raw descriptor. */
export function closeFd(fd: number): void {
  sys.close(fd);
}

/** A pipe made with plain `pipe2(O_CLOEXEC)`: blocking ends, raw fd numbers. */
export function rawPipe(): [number, number] {
  const fds = new Int32Array(2);
  if (sys.pipe2(new Uint8Array(fds.buffer), O_CLOEXEC) < 0) {
    throw new Error(`pipe2 failed, errno ${errnoView.getInt32()}`);
  }
  return [fds[0], fds[1]];
}

/** Whether a process with this id exists (a zombie counts): `kill(pid, 0)`. */
export function processExists(pid: number): boolean {
  if (sys.kill(pid, 0) === 0) return true;
  return errnoView.getInt32() !== ESRCH;
}

/** The children that the calling thread started (test modules run on threads of their own). */
export function threadChildren(): number[] {
  const text = readProcFile("/proc/thread-self/children").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
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

/**
 * Resolves or rejects like `promise`, but rejects once `ms` pass first (a hang
 * guard, not a timing assertion): then `onTimeout` runs first, e.g. to kill a child.
 */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  ms = 30_000,
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
export async function readAllBytes(reader: FdReader, ms = 30_000): Promise<Uint8Array> {
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
export async function readAll(reader: FdReader, ms = 30_000): Promise<string> {
  return decoder.decode(await readAllBytes(reader, ms));
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
 * Starts a child with its stdout on a pipe of ours (`start` gets the write
 * end), collects that output to its end and the child's status; kills the
 * child if anything fails or hangs. Closes the pipe in every case.
 */
export async function runCollect(
  start: (stdout: FdWriter) => ChildProcess,
  ms = 30_000,
): Promise<{ status: ChildStatus; stdout: string; pid: number }> {
  const p = pipe();
  let child: ChildProcess;
  try {
    child = start(p.writer);
  } catch (e) {
    p.reader.close();
    throw e;
  } finally {
    p.writer.close();
  }
  try {
    const stdout = await readAll(p.reader, ms);
    const status = await within(child.status, `child ${child.pid} to end`, ms);
    return { status, stdout, pid: child.pid };
  } catch (e) {
    await killAndReap(child);
    throw e;
  } finally {
    p.reader.close();
  }
}

/** Reads from `reader` until the text read so far contains `marker` (hang guard `ms`). */
export async function readUntil(reader: FdReader, marker: string, ms = 30_000): Promise<string> {
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

/**
 * What one test (or step) creates, released at its end even when it fails:
 * children are killed and reaped, pipes and raw fds closed, temporary paths
 * removed. Disposal then checks that no descriptor still refers to a pipe made
 * here or is a pidfd of a child started here, and that no child is left, not
 * even as a zombie.
 */
export class TestScope implements AsyncDisposable {
  #targets = new Set<string>();
  #children: ChildProcess[] = [];
  #handles: Disposable[] = [];
  #rawFds: number[] = [];
  #paths: string[] = [];

  /** A pipe from the library, closed at the end. */
  pipe(): Pipe {
    const p = pipe();
    this.#handles.push(p);
    this.#targets.add(fdTarget(p.reader.fd));
    return p;
  }

  /** A handle (reader, writer, ...) to close at the end. */
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
  child(child: ChildProcess): ChildProcess {
    this.#children.push(child);
    return child;
  }

  /** A temporary file or directory to remove at the end. */
  path(path: string): string {
    this.#paths.push(path);
    return path;
  }

  /** Pipe link targets (`pipe:[inode]`) of everything made here. */
  get targets(): ReadonlySet<string> {
    return this.#targets;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#children.map(killAndReap));
    for (const h of this.#handles) h[Symbol.dispose]();
    for (const fd of this.#rawFds.splice(0)) closeFd(fd);
    for (const p of this.#paths.splice(0)) await Deno.remove(p, { recursive: true });
    assertReleased(this.#targets, this.#children.map((c) => c.pid));
    const left = this.#children.filter((c) => processExists(c.pid)).map((c) => c.pid);
    if (left.length > 0) throw new Error(`children left behind (zombies?): ${left.join(", ")}`);
  }
}
