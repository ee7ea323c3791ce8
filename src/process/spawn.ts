/**
 * The `fork()` stand-in: start a Deno child (or any program) with
 * `posix_spawn(3)`, hand it chosen descriptors, block signals in it from its
 * first instruction, and await its exit through a pidfd.
 *
 * @module
 */
import { cString } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { C, SIZEOF } from "../../ffi/platform.ts";
import { E, errorOf, lastErrno, ok } from "../_sys.ts";
import { checkBoolean, checkInteger, checkOptions, onlyKnown, shown } from "../_check.ts";
import { type SignalName, signalNumber } from "./signals.ts";
import { type ChildProcess, childProcessOf, groupLeaders } from "./child.ts";
import { reopenBlocking } from "../fd/_adopt.ts";
import { fdOfSource, type FdSource } from "../fd/_fd_source.ts";
import { fileKind, pathText } from "../_path.ts";
import { errorFromCode } from "../errors.ts";
import { END_WITH_PARENT_PRELOAD, endWithParentCode } from "./_end_with_parent.ts";

/**
 * Options of {@link spawnProgram}.
 *
 * @example Its own environment and directory, its stdout on a pipe of ours
 * ```ts
 * import { pipe, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const p = pipe();
 * const script = 'echo "$GREETING"; pwd';
 * const child = spawnProgram("/bin/sh", ["-c", script], {
 *   env: { GREETING: "hi" },
 *   cwd: "/",
 *   fds: { 1: p.writer },
 * });
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "hi\n/\n");
 * assert.equal((await child.status).code, 0);
 * ```
 */
export interface SpawnProgramOptions {
  /**
   * Descriptors to hand over, by the number they get in the child: `{ 3: p.reader }`.
   * The child gets these, its standard streams 0–2 (inherited unless listed
   * here) and **no other** descriptor of the parent. Pipe ends, FIFOs, POSIX
   * queues and signal readers arrive blocking, on a description of their own
   * (one this process may not open again shares its non-blocking one: a child
   * that makes it blocking makes this process's reads wait); sockets as they
   * are (a listener shares its non-blocking description).
   */
  fds?: Record<number, FdSource>;
  /**
   * Signals blocked in the child from its first instruction: its mask is this list alone,
   * whatever the parent blocks (all its threads inherit it, and so do the children it starts
   * with `Deno.Command`: only `spawn`/`spawnProgram` set it anew).
   */
  blockSignals?: ReadonlyArray<SignalName | number>;
  /**
   * The child's whole environment; by default it inherits the parent's, byte for byte
   * (or, if a Worker's `Deno.env.set` moved it while the child started, a copy from
   * `Deno.env`, which leaves out variables that are not UTF-8).
   */
  env?: Record<string, string>;
  /** The child's working directory (a path, or a `file:` URL); by default the parent's. */
  cwd?: string | URL;
  /**
   * The process group the child joins (`setpgid(2)`, as Python's `process_group`): `0` starts
   * a new group that the child leads (its id is the child's pid), so that
   * `sendSignal(child, signal, { group: true })` reaches the child and every process it
   * starts, and a terminal's Ctrl-C, which goes to the terminal's group, no longer does (a
   * background job there, it stops if it reads the terminal: `SIGTTIN`);
   * a number ≥ 1 joins that existing group of this session. By default the child stays
   * in this process's group.
   */
  processGroup?: number;
}

/**
 * Options of {@link spawn}.
 *
 * @example A module given its arguments and its Deno flags
 * ```ts
 * import { pipe, spawn } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const p = pipe();
 * const child = spawn("data:text/javascript,console.log(Deno.args.join(' '))", {
 *   args: ["one", "two"],
 *   flags: [], // not even the default --allow-ffi: this module needs none
 *   fds: { 1: p.writer },
 * });
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "one two\n");
 * await child.status;
 * ```
 */
export interface SpawnOptions extends SpawnProgramOptions {
  /** Arguments for the module (its `Deno.args`). */
  args?: readonly string[];
  /**
   * Deno flags of the child, by default `["--allow-ffi"]`. None of the
   * parent's own flags is passed on: a child finds the `deno.json` of its
   * module's directory or above as `deno run` does, but a parent run with `--config`,
   * `--import-map`, `--unstable-*` or more permissions must give them here,
   * e.g. `["--allow-ffi", "--import-map=map.json"]`.
   */
  flags?: readonly string[];
  /**
   * End the child (SIGKILL) when this process ends, however it ends, SIGKILL
   * included, so that no child outlives a parent that crashed
   * (`prctl(PR_SET_PDEATHSIG)`, set by a module preloaded into the child before
   * its own, `deno run --preload`: it needs `--allow-ffi` in `flags`, and
   * `--allow-import` of this library's host where that is not one Deno allows
   * by default, as jsr.io is: the preloaded module imports it). Strictly,
   * when the thread that started it ends: a Worker's child ends with that
   * Worker, and under `deno test` or `deno bench`, which run each module on a
   * thread of their own, a module's child may end once that module's tests
   * are done. The child's own children are not concerned (a relaunch with
   * `relaunchWithSignalsBlocked` is: its copy ends with the child).
   * Default `false`.
   */
  endWithParent?: boolean;
}

/** Flags that may grant the child `--allow-ffi` whole, as `endWithParent` needs. */
const FFI_FLAGS = /^(--allow-ffi|--allow-all|-A|-P.*|--permission-set(=.*)?)$/;

/** A flag that takes some or all of `--allow-ffi` away again. */
const DENY_FFI = /^--deny-ffi(=.*)?$/;

/**
 * The `--preload` of a child that ends with this thread: a `data:` module that
 * imports the module that does it (in this process's module graph, lock file
 * and cache, as a `data:` URL needs none).
 */
function endWithParentPreload(): string {
  const code = endWithParentCode(Deno.pid, libc.gettid());
  return `${END_WITH_PARENT_PRELOAD}${encodeURIComponent(code)}`;
}

/** A NULL-terminated array of C string pointers; keeps the strings alive with it. */
function cStringArray(
  items: readonly string[],
  what: string,
): { array: Uint8Array; keep: Uint8Array[] } {
  const keep = items.map((s) => cString(s, what));
  const ptrs = new BigUint64Array(items.length + 1);
  keep.forEach((b, i) => ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))));
  return { array: new Uint8Array(ptrs.buffer), keep };
}

/**
 * Whether `x` is an object whose own keys are what it maps: not an array, and
 * not a Map or Set, whose entries `Object.entries` never sees (a Map of
 * variables would start the child with no environment at all).
 */
function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Map) &&
    !(x instanceof Set);
}

/** The options spawn knows: another (Deno.Command's `stdout`, say) would be ignored silently. */
const KNOWN_OPTIONS = new Set(["fds", "blockSignals", "env", "cwd", "processGroup"]);

/** The options checked: the descriptors to hand over, by target, and the working directory's path. */
function checkSpawnOptions(
  options: SpawnProgramOptions,
): { fds: Map<number, number>; cwd: string | undefined; processGroup: number | undefined } {
  onlyKnown(
    options,
    KNOWN_OPTIONS,
    "spawn options",
    "spawnProgram takes fds, blockSignals, env, cwd and processGroup (spawn also args, " +
      "flags and endWithParent); a child's " +
      "stdio is handed over with fds, e.g. { fds: { 1: p.writer } }",
  );
  const fds = new Map<number, number>();
  if (options.fds !== undefined && !isRecord(options.fds)) {
    throw new TypeError(
      `fds must be an object mapping child fd numbers to handles or fds, got ${shown(options.fds)}`,
    );
  }
  for (const [key, source] of Object.entries(options.fds ?? {})) {
    const target = /^\d{1,4}$/.test(key) ? Number(key) : NaN;
    if (!(target <= 1023)) {
      throw new RangeError(`fds: child fd number must be an integer 0..1023, got ${key}`);
    }
    fds.set(target, fdOfSource(source, `fds[${target}]`, "posix_spawn"));
  }
  if (options.blockSignals !== undefined && !Array.isArray(options.blockSignals)) {
    throw new TypeError(
      `blockSignals must be an array of signal names or numbers, got ${
        shown(options.blockSignals)
      }`,
    );
  }
  if (options.env !== undefined) {
    if (!isRecord(options.env)) {
      throw new TypeError(`env must be an object of strings, got ${shown(options.env)}`);
    }
    for (const [k, v] of Object.entries(options.env)) {
      if (k === "" || k.includes("=")) throw new TypeError(`env: bad variable name '${k}'`);
      if (typeof v !== "string") throw new TypeError(`env.${k} must be a string, got ${typeof v}`);
    }
  }
  const cwd = options.cwd === undefined ? undefined : pathText(options.cwd, "cwd");
  if (cwd !== undefined) {
    const kind = fileKind(cwd);
    if (kind === null) throw errorOf(E.ENOENT, "posix_spawn", { path: cwd });
    if (kind !== "directory") throw errorOf(E.ENOTDIR, "posix_spawn", { path: cwd });
  }
  const processGroup = options.processGroup === undefined ? undefined : checkInteger(
    options.processGroup,
    "processGroup",
    0,
    2 ** 31 - 1,
    "0 (a new group) or the id of a group of this session",
  );
  return { fds, cwd, processGroup };
}

/**
 * Starts a program with `posix_spawn(3)`, the `fork()`+`exec()` of this library.
 * Signal dispositions are reset to their defaults in the child (but glibc's
 * internal 32 and 33, which its `posix_spawn` leaves ignored), and a pidfd
 * for it is opened at once (`pidfd_open(2)`).
 *
 * Wraps `posix_spawn(3)` and `pidfd_open(2)`. Needs `--allow-ffi` only (not `--allow-run`).
 *
 * @param program the path of the program (no `PATH` search)
 * @param args its arguments (`argv[1..]`)
 * @param options descriptors to hand over, signals to block, environment, directory, process
 *   group
 * @returns the child
 * @throws {TypeError} before anything starts, for an argument or option of the wrong type
 *   (`options` that is not an object, an `fds` entry that is neither an fd number nor a handle
 *   with an fd, a string with a NUL, ...)
 * @throws {RangeError} before anything starts, for a number out of range (an fd number in
 *   `fds` that is not an integer 0..2^31-1, a child fd number past 1023 or with no number free
 *   above it under this process's `RLIMIT_NOFILE`, a `processGroup` that is not an integer
 *   0..2^31-1), or SIGKILL or SIGSTOP in `blockSignals`
 * @throws {Deno.errors.NotFound} when `program` or `cwd` does not exist
 * @throws {Deno.errors.NotADirectory} when `cwd` is not a directory
 * @throws {Deno.errors.PermissionDenied} when `program` is not executable by this user, or `cwd`
 *   cannot be entered (EACCES; the error names which), or `processGroup` names no group of
 *   this session (EPERM)
 * @throws {Deno.errors.BadResource} when an fd in `fds` is not open or a handle there is closed (EBADF)
 * @throws {IpcError} ENOEXEC when `program` is not in an executable format, E2BIG when
 *   the arguments and environment are too large, EMFILE when out of descriptors
 *
 * @example Run `/bin/echo` with its stdout on a pipe of ours
 * ```ts
 * import { pipe, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const p = pipe();
 * const child = spawnProgram("/bin/echo", ["hi"], { fds: { 1: p.writer } });
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "hi\n");
 * await child.status;
 * ```
 */
export function spawnProgram(
  program: string,
  args: readonly string[] = [],
  options: SpawnProgramOptions = {},
): ChildProcess {
  return spawnInheriting(program, args, options, { fds: [], ignored: [] });
}

/** What a child of {@link spawnInheriting} keeps of this process, as across `exec`. */
export interface Inherited {
  /**
   * Descriptors that stay open at their numbers, on the same open file
   * descriptions: every one open here without close-on-exec, or at least
   * every such one at or past RLIMIT_NOFILE (posix_spawn closes none there).
   */
  fds: readonly number[];
  /** Signals that stay ignored (every other one gets its default action). */
  ignored: readonly number[];
}

/** {@link spawnProgram}, where the child also keeps what `inherited` names. */
export function spawnInheriting(
  program: string,
  args: readonly string[],
  options: SpawnProgramOptions,
  inherited: Inherited,
): ChildProcess {
  if (typeof program !== "string" || program === "") {
    throw new TypeError(`program must be a non-empty path, got ${shown(program)}`);
  }
  checkStrings(args, "args");
  checkOptions(options);
  const { fds, cwd: cwdText, processGroup } = checkSpawnOptions(options);
  const sigmask = sigset((options.blockSignals ?? []).map(blockable));
  const path = cString(program, "program");
  const argv = cStringArray([program, ...args], "argument");
  const envp = options.env === undefined ? undefined : cStringArray(
    Object.entries(options.env).map(([k, v]) => `${k}=${v}`),
    "environment entry",
  );
  const cwd = cwdText === undefined ? undefined : cString(cwdText, "cwd");

  const actions = new Uint8Array(SIZEOF.posix_spawn_file_actions_t);
  const attr = new Uint8Array(SIZEOF.posix_spawnattr_t);
  const high: number[] = [];
  libc.posix_spawn_file_actions_init(actions);
  libc.posix_spawnattr_init(attr);
  try {
    // Copy every source above every target first, so no dup2 clobbers a source
    // that a later dup2 still needs (`{ 3: fd4, 4: fd3 }`).
    const top = Math.max(2, ...fds.keys());
    for (const [target, source] of fds) {
      const copy = childCopy(source, top + 1, target);
      high.push(copy);
      check(libc.posix_spawn_file_actions_adddup2(actions, copy, target), "adddup2");
    }
    // No other descriptor reaches the child, even one opened without O_CLOEXEC. An inherited
    // one may be at RLIMIT_NOFILE or past it (opened before the limit was lowered), where
    // posix_spawn closes nothing (EBADF): every other fd there is close-on-exec (see Inherited).
    const kept = new Set(inherited.fds);
    const last = Math.max(top, ...inherited.fds);
    let closing = 0;
    for (let fd = 3; fd <= last && closing === 0; fd++) {
      if (fds.has(fd) || kept.has(fd)) continue;
      closing = libc.posix_spawn_file_actions_addclose(actions, fd);
    }
    if (closing === 0) closing = libc.posix_spawn_file_actions_addclosefrom_np(actions, last + 1);
    if (closing !== E.EBADF) check(closing, "addclose");
    if (cwd !== undefined) {
      check(libc.posix_spawn_file_actions_addchdir_np(actions, cwd), "addchdir_np");
    }
    // Reset every handler to default (Deno ignores SIGPIPE; ignored signals survive exec).
    const defaults = sigset("all");
    for (const s of inherited.ignored) libc.sigdelset(defaults, s);
    check(libc.posix_spawnattr_setsigdefault(attr, defaults), "setsigdefault");
    check(libc.posix_spawnattr_setsigmask(attr, sigmask), "setsigmask");
    let flags = C.POSIX_SPAWN_SETSIGMASK | C.POSIX_SPAWN_SETSIGDEF;
    if (processGroup !== undefined) {
      check(libc.posix_spawnattr_setpgroup(attr, processGroup), "setpgroup");
      flags |= C.POSIX_SPAWN_SETPGROUP;
    }
    check(libc.posix_spawnattr_setflags(attr, flags), "setflags");
    const pidBuf = new Int32Array(1);
    const spawnWith = (environ: Deno.PointerValue) =>
      libc.posix_spawn(new Uint8Array(pidBuf.buffer), path, actions, attr, argv.array, environ);
    let rc = spawnWith(envp === undefined ? currentEnviron() : Deno.UnsafePointer.of(envp.array));
    if (rc === E.EFAULT && envp === undefined && canReadEnv()) {
      // A Worker's Deno.env.set moved `environ` while execve copied it: Rust's Command
      // holds a lock for that, which FFI cannot take but Deno.env.toObject() does.
      const copy = cStringArray(
        Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`),
        "environment entry",
      );
      rc = spawnWith(Deno.UnsafePointer.of(copy.array));
    }
    // posix_spawn returns its error number instead of setting errno.
    if (rc !== 0) throw spawnError(rc, program, processGroup, cwdText, cwd);
    const pid = pidBuf[0];
    const pidfd = libc.pidfd_open(pid, 0);
    if (pidfd < 0) {
      const code = lastErrno();
      // Ended and reaped already: only where SIGCHLD is ignored (a child is a zombie until
      // waited for otherwise). Its status tells so.
      if (code === E.ESRCH) return childProcessOf(pid, -1);
      libc.kill(pid, C.SIGKILL);
      libc.waitpid(pid, null, 0);
      throw errorOf(code, "pidfd_open", { pid });
    }
    const child = childProcessOf(pid, pidfd);
    if (processGroup === 0) groupLeaders.add(child);
    return child;
  } finally {
    for (const fd of high) libc.close(fd);
    libc.posix_spawn_file_actions_destroy(actions);
    libc.posix_spawnattr_destroy(attr);
  }
}

/**
 * Starts a Deno child running `module`, the usual way to play the child's role
 * of a classic `fork()` program: `spawn(import.meta.url, { args: ["child"] })`.
 * The child runs `deno run --allow-ffi <module> ...args` with the same Deno
 * executable as the parent (`Deno.execPath()`), through {@link spawnProgram}.
 * A module the child cannot load is the child's error: it exits with code 1.
 *
 * Wraps `posix_spawn(3)` and `pidfd_open(2)`. Needs `--allow-ffi` only (not `--allow-run`).
 *
 * @param module a file path or URL of the child's module; the child resolves a
 *   relative path against its own working directory (`cwd`)
 * @param options `args`, `flags` (default `["--allow-ffi"]`), `fds`, `blockSignals`, `env`, `cwd`,
 *   `processGroup`, `endWithParent`
 * @returns the child
 * @throws {TypeError} before anything starts, for an argument or option of the wrong type
 *   (`options` that is not an object, an `fds` entry that is neither an fd number nor a handle
 *   with an fd, a string with a NUL, ...), or `endWithParent` without `--allow-ffi` in `flags`
 * @throws {RangeError} before anything starts, for a number out of range (an fd number in
 *   `fds` that is not an integer 0..2^31-1, a child fd number past 1023 or with no number free
 *   above it under this process's `RLIMIT_NOFILE`, a `processGroup` that is not an integer
 *   0..2^31-1), or SIGKILL or SIGSTOP in `blockSignals`
 * @throws {Deno.errors.NotFound} when `cwd` does not exist
 * @throws {Deno.errors.NotADirectory} when `cwd` is not a directory
 * @throws {Deno.errors.PermissionDenied} when `processGroup` names no group of this session (EPERM)
 * @throws {Deno.errors.BadResource} when an fd in `fds` is not open or a handle there is closed (EBADF)
 * @throws {IpcError} E2BIG when the arguments and environment are too large, EMFILE when out of descriptors
 * @throws {Deno.errors.NotSupported} in a program made by `deno compile` (see {@link spawnProgram})
 *
 * @example A child module given inline, its stdout on a pipe of ours
 * ```ts
 * import { pipe, spawn } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const p = pipe();
 * const child = spawn("data:text/javascript,console.log('Hello from child process')", {
 *   fds: { 1: p.writer },
 * });
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "Hello from child process\n");
 * await child.status;
 * ```
 *
 * @example The parent and child in one file
 * ```ts ignore
 * import { FdWriter, pipe, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using w = new FdWriter(3);
 *   w.writeSync("Hello from child process");
 * } else {
 *   const p = pipe();
 *   await using child = spawn(import.meta.url, { args: ["child"], fds: { 3: p.writer } });
 *   p.writer.close();
 *   console.log(await new Response(p.reader.readable).text());
 * }
 * ```
 */
export function spawn(module: string | URL, options: SpawnOptions = {}): ChildProcess {
  const specifier = module instanceof URL ? module.href : module;
  if (typeof specifier !== "string" || specifier === "") {
    throw new TypeError(`module must be a path or URL, got ${shown(module)}`);
  }
  cString(specifier, "module");
  checkOptions(options);
  // A compiled program is no `deno`: it would take `run <module>` as its own arguments and run
  // itself (again and again, where its main module spawns).
  if (Deno.build.standalone) {
    throw new Deno.errors.NotSupported(
      "spawn(module) needs the deno executable, and this program is compiled (deno compile): " +
        "spawnProgram(Deno.execPath(), args) runs this program again with arguments of its own",
    );
  }
  // A relative path that begins with "-" is not taken for a flag of `deno run`.
  const moduleArg = specifier.startsWith("-") ? `./${specifier}` : specifier;
  const { flags = ["--allow-ffi"], args = [], endWithParent, ...rest } = options;
  checkStrings(flags, "flags");
  checkStrings(args, "args");
  const preload = [];
  if (checkBoolean(endWithParent, "endWithParent")) {
    if (!flags.some((f) => FFI_FLAGS.test(f)) || flags.some((f) => DENY_FFI.test(f))) {
      throw new TypeError(
        "endWithParent: the child needs --allow-ffi (whole, no --deny-ffi) in flags, as the " +
          "module that ends it with its parent calls prctl(2)",
      );
    }
    preload.push(endWithParentPreload());
  }
  return spawnProgram(Deno.execPath(), ["run", ...flags, ...preload, moduleArg, ...args], rest);
}

/** Whether Deno.env may be read whole, as it may be changed only then. */
function canReadEnv(): boolean {
  return Deno.permissions.querySync({ name: "env" }).state === "granted";
}

/** The error of a failed `posix_spawn`: EACCES names `cwd` when that is what cannot be entered. */
function spawnError(
  code: number,
  program: string,
  processGroup: number | undefined,
  cwdText?: string,
  cwd?: Uint8Array,
): Error {
  // The child's setpgid(2) refuses a group that is not one of this session's.
  if (code === E.EPERM && processGroup !== undefined && processGroup !== 0) {
    return errorFromCode(
      code,
      "posix_spawn",
      { processGroup },
      "processGroup names no process group of this session",
    );
  }
  // The effective ids and capabilities, as the child's chdir has them.
  if (
    code === E.EACCES && cwd !== undefined &&
    libc.faccessat(C.AT_FDCWD, cwd, C.X_OK, C.AT_EACCESS) < 0
  ) {
    return errorFromCode(
      code,
      "posix_spawn",
      { path: cwdText },
      "the working directory cannot be entered",
    );
  }
  return errorOf(code, "posix_spawn", { path: program });
}

/**
 * A close-on-exec copy of `source` numbered above `min`, for the child. A pipe
 * end, POSIX queue or signalfd that is non-blocking here (every handle of
 * ours) gets a blocking description of its own, as ordinary programs expect;
 * the parent's stays as it is, whatever the child does to its own.
 */
function childCopy(source: number, min: number, target: number): number {
  const flags = libc.fcntl(source, C.F_GETFL, 0);
  if (flags < 0) {
    throw errorFromCode(
      lastErrno(),
      "fcntl",
      { fd: source },
      `fds[${target}] is not an open descriptor`,
    );
  }
  const own = (flags & C.O_NONBLOCK) !== 0 ? reopenBlocking(source, flags) : -1;
  try {
    const copy = libc.fcntl(own >= 0 ? own : source, C.F_DUPFD_CLOEXEC, min);
    if (copy < 0 && lastErrno() === E.EINVAL) {
      throw new RangeError(
        `fds: target ${min - 1} leaves no descriptor number above it under this process's ` +
          "limit (RLIMIT_NOFILE), where spawn puts its copies of the sources first",
      );
    }
    return ok(copy, "fcntl", { fd: source });
  } finally {
    if (own >= 0) libc.close(own);
  }
}

/** The number of a signal a mask can hold: SIGKILL and SIGSTOP never are (a RangeError). */
function blockable(signal: SignalName | number): number {
  const n = signalNumber(signal);
  if (n === C.SIGKILL || n === C.SIGSTOP) {
    throw new RangeError(`blockSignals: ${signal} cannot be blocked (the kernel ignores it)`);
  }
  return n;
}

function checkStrings(list: unknown, what: string): void {
  if (!Array.isArray(list)) {
    throw new TypeError(`${what} must be an array of strings, got ${shown(list)}`);
  }
  for (const a of list) {
    if (typeof a !== "string") throw new TypeError(`${what} must be strings, got ${typeof a}`);
  }
}

function check(rc: number, what: string): void {
  if (rc !== 0) throw errorOf(rc, `posix_spawn_${what}`);
}

function currentEnviron(): Deno.PointerValue {
  return new Deno.UnsafePointerView(libc.environ!).getPointer();
}

/** A sigset_t holding `signals`, or every signal. */
function sigset(signals: number[] | "all"): Uint8Array {
  const set = new Uint8Array(SIZEOF.sigset_t);
  if (signals === "all") {
    libc.sigfillset(set);
  } else {
    libc.sigemptyset(set);
    for (const s of signals) libc.sigaddset(set, s);
  }
  return set;
}
