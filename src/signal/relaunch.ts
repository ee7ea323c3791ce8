/**
 * {@link relaunchWithSignalsBlocked}: a script restarts itself with signals
 * blocked from its first instruction, so that it can read them with a signalfd.
 *
 * @module
 */
import { cString, decodeName } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { C, SIZEOF } from "../../ffi/platform.ts";
import { pointer } from "../../ffi/struct/types.ts";
import { IN_WORKER, sigactionOf } from "../_wait/nudge.ts";
import { spawnInheriting } from "../process/spawn.ts";
import { isEndWithParentPreload } from "../process/_end_with_parent.ts";
import { openFds } from "../_proc.ts";
import type { ChildProcess, ChildStatus } from "../process/child.ts";
import { isIgnored, readableSignals, sigsetOf, unblockedThread } from "./_mask.ts";
import { type SignalName, signalName } from "./names.ts";

/** Set in the relaunched process to the relaunching parent's pid: it must not relaunch again. */
const MARKER = "LIBC_IPC_RELAUNCHED";
/** What the parent forwards to the relaunched process. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Subcommands whose command line cannot simply run again. */
const NOT_RELAUNCHABLE = new Set(["test", "bench", "repl", "jupyter", "lsp"]);
/** The flags that open the inspector: `--inspect`, `--inspect-brk`, `--inspect-wait`, with `=address` or not. */
const INSPECT = /^--inspect(-brk|-wait)?(=|$)/;
/** Flags of `deno run --watch`: the copy runs without them (one watcher, in this process). */
const WATCH = /^--watch(-hmr)?(=|$)/;
const WATCH_ONLY = /^(--watch(-hmr|-exclude)?(=.*)?|--no-clear-screen)$/;
/** The main module's path when the program was read from stdin, whatever its `--ext`. */
const STDIN_MODULE = /\/\$deno\$stdin\.[A-Za-z]+$/;

/** The whole of a small file through libc (no `--allow-read`), or undefined. */
function readAll(path: string): Uint8Array | undefined {
  const fd = libc.open(cString(path), C.O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const chunk = new Uint8Array(4096);
      const n = libc.read(fd, chunk, chunk.length);
      if (n < 0) return undefined;
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
  } finally {
    libc.close(fd);
  }
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  return all;
}

/** This process's command line (`argv`), from /proc/self/cmdline. */
function commandLine(): string[] {
  const bytes = readAll("/proc/self/cmdline");
  if (bytes === undefined || bytes.length === 0) {
    throw new Deno.errors.NotSupported(
      "relaunchWithSignalsBlocked(): cannot read this process's command line (/proc/self/cmdline)",
    );
  }
  return splitAtNul(bytes.subarray(0, bytes.at(-1) === 0 ? -1 : undefined)).map(decodeName);
}

/** The parts of `bytes` between NULs. */
function splitAtNul(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let at = bytes.indexOf(0); at >= 0; at = bytes.indexOf(0, from)) {
    parts.push(bytes.subarray(from, at));
    from = at + 1;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

/** The bytes of the C string at `p`. */
function cStringBytes(p: NonNullable<Deno.PointerValue>): Uint8Array {
  const view = new Deno.UnsafePointerView(p);
  let n = 0;
  while (view.getUint8(n) !== 0) n++;
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, n));
}

/** This process's environment, read from `environ` (no `--allow-env`). */
function environment(): Record<string, string> {
  // No prototype: a variable may be named `constructor` or `__proto__`.
  const env: Record<string, string> = Object.create(null);
  const list = new Deno.UnsafePointerView(libc.environ!).getPointer();
  if (list === null) return env;
  const entries = new Deno.UnsafePointerView(list);
  for (let i = 0;; i++) {
    const entry = entries.getPointer(i * pointer.size);
    if (entry === null) return env;
    // Bytes that are not UTF-8 are passed on as they are (surrogateescape), as in argv.
    const text = decodeName(cStringBytes(entry));
    const eq = text.indexOf("=");
    // The first of two entries of one name is the one getenv(3) returns.
    if (eq > 0 && !(text.slice(0, eq) in env)) env[text.slice(0, eq)] = text.slice(eq + 1);
  }
}

/**
 * Makes the running script able to read `list` with {@link signals}: when
 * some thread of this process does not block them, it runs the same command
 * line again (the Deno executable, its flags, the script and its arguments,
 * from `/proc/self/cmdline`) as a child with them blocked from its first
 * instruction, forwards SIGINT, SIGTERM and SIGHUP to that child, and ends
 * as the child ends: with its exit code, or by the signal that ended it (by
 * its default action, as a shell's `exec` would; 128 + its number for a
 * signal that dumps core): the promise never settles then. Under
 * `deno run --watch`, the copy runs without `--watch` and is this run's: a
 * file change restarts the program with a new copy (the watcher's SIGTERM
 * ends the old one). A SIGTERM sent to the watcher cannot be told from that
 * one: it ends the copy and the program exits 143, and the watcher waits for
 * a change, as with any program that exits on SIGTERM; Ctrl-C (SIGINT) or
 * SIGHUP end the watcher. In the relaunched process (or in one started with
 * the signals blocked) it resolves at once.
 *
 * Call it first thing at the top of the main module: everything before it
 * runs twice. Children the program then starts with `Deno.Command` or
 * `node:child_process` inherit `list` blocked (a `kill()` of a blocked
 * SIGTERM does not end them); `spawn`/`spawnProgram` reset the mask. The child keeps what an `exec` keeps: the standard streams and
 * the other descriptors that are not close-on-exec (at the same numbers, as a
 * shell's `3<file` gives them), the signals blocked (with `list` added) and
 * those ignored, working directory and environment, plus
 * `LIBC_IPC_RELAUNCHED` (the parent's pid, so that it never relaunches
 * again), and a pid of its own: it is the pid to send signals to. It ends
 * (SIGKILL) when the parent ends, by whatever signal, so nothing is left
 * running of a program its supervisor killed. The parent forwards SIGINT,
 * SIGTERM and SIGHUP to the child (as sent by the parent: a reader sees the
 * parent's pid and uid, `code` SI_USER and no value, not the first sender's)
 * and ignores the other signals of `list`
 * (they would end it, and the child with it): sent to the parent alone, those
 * are lost. SIGUSR1 needs this (or a parent's
 * `spawn(module, { blockSignals })`) to be read at all: Deno (≥ 2.9.2) opens
 * the V8 inspector on it otherwise, and still does in the parent. A Ctrl-C in
 * a terminal reaches both processes, so the child may see SIGINT twice
 * (merged into one if it is still pending).
 *
 * Wraps `posix_spawn(3)` (with `posix_spawnattr_setsigmask`), `pidfd_open(2)`,
 * `waitpid(2)` and, in the child, `prctl(PR_SET_PDEATHSIG)`. Needs `--allow-ffi` (the flags of the command line are the child's too).
 *
 * @param list names like `"SIGUSR1"` or `"SIGRTMIN+1"`, or numbers
 * @returns in the process that can read the signals: a promise that resolves
 *   at once; in the one that cannot: one that never settles (it exits)
 * @throws {TypeError} for an unknown name or an empty list
 * @throws {RangeError} for a bad number, SIGKILL or SIGSTOP (they cannot be
 *   blocked), or the library's own signals SIGRTMAX and SIGRTMAX-1
 * @throws {Deno.errors.NotSupported} under `deno test`, `deno bench` or the REPL
 *   (their command line cannot simply run again), for a program read from stdin
 *   (`deno run -`), under `--inspect` (the copy would need the inspector's
 *   port), when the command line cannot be read, or when the relaunched
 *   process still does not block the signals (a second call naming signals
 *   the first did not: a process is relaunched once, so the first call lists
 *   them all); in a Worker (it would run the whole program again)
 * @throws {Deno.errors.NotFound} (and the other errors of `spawnProgram`) when
 *   the child cannot be started
 *
 * @example A script that reads SIGUSR1 (`deno run --allow-ffi script.ts`)
 * ```ts ignore
 * import { relaunchWithSignalsBlocked, signals } from "@libc/ipc";
 * await relaunchWithSignalsBlocked(["SIGUSR1"]);
 * // Only the relaunched process gets here.
 * using reader = signals(["SIGUSR1"]);
 * console.log(`kill -USR1 ${Deno.pid}`);
 * const s = await reader.read();
 * console.log(`SIGUSR1 from pid ${s.pid}`);
 * ```
 *
 * @example Nothing to do where the signals are blocked already
 * ```ts
 * import { relaunchWithSignalsBlocked, spawn } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const lib = import.meta.resolve("@libc/ipc");
 * const child = spawn(
 *   `data:text/javascript,import { relaunchWithSignalsBlocked } from "${lib}";
 *   await relaunchWithSignalsBlocked(["SIGUSR2"]);
 *   Deno.exit(3);`,
 *   { blockSignals: ["SIGUSR2"] },
 * );
 * assert.equal((await child.status).code, 3);
 * ```
 */
export async function relaunchWithSignalsBlocked(
  list: ReadonlyArray<SignalName | number>,
): Promise<void> {
  const numbers = readableSignals(list, "relaunchWithSignalsBlocked()");
  const env = environment();
  const parent = libc.getppid();
  const relaunched = env[MARKER] === String(parent);
  if (relaunched) endWithParent(parent);
  if (unblockedThread(numbers) === undefined) return;
  if (IN_WORKER) {
    throw new Deno.errors.NotSupported(
      "relaunchWithSignalsBlocked(): called in a Worker, but it runs the whole program again: " +
        "call it at the top of the main module, or start the program with " +
        "spawn(module, { blockSignals })",
    );
  }
  if (relaunched) {
    throw new Deno.errors.NotSupported(
      "relaunchWithSignalsBlocked(): this process was relaunched already, and the signals " +
        `${numbers.map(signalName).join(", ")} are not all blocked in it: a second call with ` +
        "signals the first did not list cannot relaunch it again; list every signal in the first",
    );
  }
  const [, ...args] = commandLine();
  // A compiled program's arguments are its own, whatever the first one says.
  if (!Deno.build.standalone && (args.length === 0 || NOT_RELAUNCHABLE.has(args[0]))) {
    throw new Deno.errors.NotSupported(
      `relaunchWithSignalsBlocked(): \`deno ${args[0] ?? ""}\` cannot be relaunched: ` +
        "run the script with `deno run`, or start it with spawn(module, { blockSignals })",
    );
  }
  // A program read from stdin is gone: the child would read an empty one and exit 0, so nothing
  // after this call would ever run, and the parent would exit 0 with it.
  if (readFromStdin(args)) {
    throw new Deno.errors.NotSupported(
      "relaunchWithSignalsBlocked(): a program read from stdin (`deno run -`) cannot be run " +
        "again, as stdin has been read to its end: save the program to a file and " +
        "`deno run` that file",
    );
  }
  if (inspected(args)) {
    throw new Deno.errors.NotSupported(
      "relaunchWithSignalsBlocked(): a program run with --inspect cannot be relaunched: the " +
        "copy would need the inspector's port, which this process holds. Debug it started " +
        'by spawn(module, { blockSignals, flags: ["--inspect", ...] }), or without --inspect',
    );
  }
  env[MARKER] = String(Deno.pid);
  const at = scriptIndex(args);
  const watched = args.slice(0, at).some((a) => WATCH.test(a));
  // Under --watch the copy is this run's, which the watcher ends with its SIGTERM at a
  // restart: a watcher of its own in the copy would restart it apart from this one. A
  // spawn's endWithParent is this process's: the copy, whose parent is this one, ends
  // with it anyway (see endWithParent below), and would take this one for a parent gone.
  const flags = args.slice(0, at).filter((a) =>
    !(watched && WATCH_ONLY.test(a)) && !isEndWithParentPreload(a)
  );
  const copyArgs = [...flags, ...args.slice(at)];
  // As across exec, the copy keeps this thread's mask, ignored signals and descriptors.
  const child = spawnInheriting(
    Deno.execPath(),
    copyArgs,
    { blockSignals: [...new Set([...numbers, ...blockedHere()])], env },
    // The listed signals are the copy's to read, at their default action (a --watch rerun finds
    // them ignored here by the run before).
    { fds: inheritedFds(), ignored: ignoredHere().filter((n) => !numbers.includes(n)) },
  );
  ignoreHere(numbers);
  const status = await waitForwarding(child);
  // The watcher's SIGTERM at a restart comes to the listeners as one sent to the process
  // would: ending by it would end the watcher, not restart the program. An exit lets it restart.
  const restarting = watched && status.signal === "SIGTERM";
  if (status.signal !== null && !restarting) endBySignal(status.code - 128);
  Deno.exit(status.code);
}

/**
 * In this process, once the copy runs: the signals it reads, but those this
 * process forwards, are ignored. Sent to the pid a shell knows (this one), or
 * to the whole group (a terminal's keys, `kill -- -pgid`), a listed signal
 * would end this process at its default action, and the copy with it. Sent
 * here alone, one is lost: the copy gets it at its own pid, or its group. The
 * copy keeps its own dispositions, set at the spawn.
 */
function ignoreHere(numbers: readonly number[]): void {
  const forwarded: number[] = FORWARDED.map((name) => C[name]);
  const ignore = sigactionOf(BigInt(C.SIG_IGN), 0);
  for (const n of numbers) {
    if (!forwarded.includes(n) && !HARMLESS.includes(n)) libc.sigaction(n, ignore, null);
  }
}

/**
 * Signals whose default action ends nothing: left as they are. SIGCHLD above
 * all: ignored, it makes the kernel reap the copy, whose status is then lost.
 */
const HARMLESS: readonly number[] = [C.SIGCHLD, C.SIGCONT, C.SIGURG, C.SIGWINCH];

/**
 * In the copy: it ends (SIGKILL) when the parent does, which may end by a
 * signal it does not forward (SIGKILL, or one the copy reads): a program run
 * once is one process to a shell or a supervisor, which ends it by the pid
 * it started. A parent that ended before this call left the copy already.
 */
function endWithParent(parent: number): void {
  libc.prctl(C.PR_SET_PDEATHSIG, BigInt(C.SIGKILL), 0n, 0n, 0n);
  if (libc.getppid() !== parent) libc.kill(Deno.pid, C.SIGKILL);
}

/** The signals this thread blocks. */
function blockedHere(): number[] {
  const mask = new Uint8Array(SIZEOF.sigset_t);
  libc.pthread_sigmask(C.SIG_BLOCK, null, mask);
  return everySignal().filter((s) => libc.sigismember(mask, s) === 1);
}

/** The signals this process ignores (`SIG_IGN`), which an `exec` keeps ignored. */
function ignoredHere(): number[] {
  return everySignal().filter(isIgnored);
}

/** 1 to SIGRTMAX, but SIGKILL and SIGSTOP, which no mask or disposition holds. */
function everySignal(): number[] {
  return Array.from({ length: C.SIGRTMAX }, (_, i) => i + 1)
    .filter((s) => s !== C.SIGKILL && s !== C.SIGSTOP);
}

/**
 * The descriptors above 2 that an `exec` of this process would keep: those
 * open without close-on-exec (one its parent handed it, as a shell's `3<file`
 * or a socket activation does; Deno's own are all close-on-exec).
 */
function inheritedFds(): number[] {
  return (openFds() ?? []).filter((fd) => {
    if (fd <= 2) return false;
    const flags = libc.fcntl(fd, C.F_GETFD, 0);
    return flags >= 0 && (flags & C.FD_CLOEXEC) === 0;
  });
}

/** The signals whose default action dumps core (signal(7)): a child's end by one is an exit code here. */
const DUMPS_CORE = [
  C.SIGQUIT,
  C.SIGILL,
  C.SIGTRAP,
  C.SIGABRT,
  C.SIGBUS,
  C.SIGFPE,
  C.SIGSEGV,
  C.SIGXCPU,
  C.SIGXFSZ,
  C.SIGSYS,
];

/**
 * Ends this process by `signal`'s default action, as the relaunched child
 * ended: what waits for this process sees the signal (a shell, or the
 * watcher of `deno run --watch`, which a mere exit code would leave
 * running). Returns where that cannot be (a signal that dumps core, or
 * one this thread cannot take): the caller then exits with 128 + its number.
 */
function endBySignal(signal: number): void {
  if (DUMPS_CORE.includes(signal)) return;
  if (signal !== C.SIGKILL) {
    // Deno's own handler would run instead, where it has one (a signal listener was added).
    if (libc.sigaction(signal, sigactionOf(0n, /* SIG_DFL */ 0), null) !== 0) return;
    libc.pthread_sigmask(C.SIG_UNBLOCK, sigsetOf([signal]), null);
  }
  // To this thread: it does not block the signal, so the signal acts before tgkill returns.
  libc.tgkill(Deno.pid, libc.gettid(), signal);
}

/**
 * Whether the main module was read from stdin (`deno run -`, `deno -`): Deno
 * names it `$deno$stdin.mts` in the working directory, or with the extension
 * `--ext` gives (`.ts`, `.js`, `.tsx`, ...). A file that merely has that name
 * is run by its path, so the command line must hold `-` too.
 */
function readFromStdin(args: readonly string[]): boolean {
  const path = decodeURIComponent(new URL(Deno.mainModule).pathname);
  return STDIN_MODULE.test(path) && args.includes("-");
}

/**
 * Whether Deno's flags (those before the main module on the command line)
 * open the inspector.
 */
function inspected(args: readonly string[]): boolean {
  return args.slice(0, scriptIndex(args)).some((a) => INSPECT.test(a));
}

/**
 * Where the main module is on the command line (after `deno`): Deno's flags
 * come before it and the script's own arguments, `Deno.args`, after it. So a
 * flag's value given apart (`--config deno.json`) is never taken for it,
 * whatever its name. A compiled program's arguments are all its own (0).
 */
function scriptIndex(args: readonly string[]): number {
  return Math.max(0, args.length - Deno.args.length - 1);
}

/** Waits for `child` and returns how it ended, forwarding {@link FORWARDED} signals to it. */
async function waitForwarding(child: ChildProcess): Promise<ChildStatus> {
  const forward = FORWARDED.map((signal) => {
    const listener = () => {
      try {
        child.kill(signal);
      } catch {
        // It has ended: nothing to forward to.
      }
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  try {
    return await child.status;
  } finally {
    for (const remove of forward) remove();
  }
}
