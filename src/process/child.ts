/**
 * {@link ChildProcess}: a child started by `spawn` or `spawnProgram`, reaped
 * through its pidfd on the waiting engine.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, attempt, E, ok } from "../_sys.ts";
import { errorFromCode } from "../errors.ts";
import {
  closeOwnedFd,
  fdSource,
  NO_THREAD,
  READABLE,
  type Source,
  wait,
  WaitRegistry,
} from "../_wait/mod.ts";
import { type SignalName, signalName, signalNumber } from "./signals.ts";
import { own } from "../_owned_fds.ts";

/**
 * How a child ended, like `Deno.CommandStatus`.
 *
 * @example An exit, and a signal
 * ```ts
 * import { type ChildStatus, spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const exited: ChildStatus = await spawnProgram("/bin/sh", ["-c", "exit 3"]).status;
 * assert.deepEqual(exited, { success: false, code: 3, signal: null });
 * const child = spawnProgram("/bin/sleep", ["10"]);
 * child.kill("SIGTERM");
 * assert.deepEqual(await child.status, { success: false, code: 128 + 15, signal: "SIGTERM" });
 * ```
 */
export interface ChildStatus {
  /** Whether it exited with code 0. */
  success: boolean;
  /** Its exit code; 128 + the signal number when a signal killed it. */
  code: number;
  /** The signal that killed it, or `null` when it exited. */
  signal: SignalName | null;
}

/**
 * The pidfd of a child that has not been reaped yet, else -1: `sendSignal`
 * signals through it (with a value), never to a pid that may have been reused.
 * @internal
 */
export let pidfdOf: (child: ChildProcess) => number;

let create: (pid: number, pidfd: number) => ChildProcess;

/**
 * Children started leading a process group of their own (`processGroup: 0`):
 * once reaped, their pid says nothing of their group any more.
 * @internal
 */
export const groupLeaders: WeakSet<ChildProcess> = new WeakSet();

/**
 * A {@link ChildProcess} for the child `pid` that `spawnProgram` started,
 * owning `pidfd` from now on (for the process modules only: the constructor
 * is closed to user code, which could otherwise reap any child and close any
 * descriptor).
 */
export function childProcessOf(pid: number, pidfd: number): ChildProcess {
  return create(pid, pidfd);
}

/** What only this module passes the constructor. */
const INTERNAL: unique symbol = Symbol("ChildProcess");

/**
 * A running (or ended) child process. Await `status` for its end; `await using`
 * kills it (SIGTERM) if it still runs and waits for it.
 *
 * Wraps `pidfd_send_signal(2)` and `waitpid(2)` on the pidfd {@link spawnProgram}
 * opened with `pidfd_open(2)`. Needs `--allow-ffi`.
 *
 * @example
 * ```ts
 * import { spawnProgram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * await using child = spawnProgram("/bin/sh", ["-c", "exit 3"]);
 * assert.equal((await child.status).code, 3);
 * ```
 */
export class ChildProcess implements AsyncDisposable {
  /** The child's process id. */
  readonly pid: number;
  /**
   * Resolves when the child has ended (it is reaped then, with `waitpid(2)`: no
   * zombie is left). Rejects with an {@link IpcError} ECHILD if other code reaped
   * it first, or the kernel did (in a process that ignores SIGCHLD).
   */
  readonly status: Promise<ChildStatus>;
  #pidfd: number;
  #ended = false;
  readonly #waits = new WaitRegistry();

  static {
    pidfdOf = (child) => child.#pidfd;
    create = (pid, pidfd) => new ChildProcess(pid, pidfd, INTERNAL);
  }

  // Made by spawn() and spawnProgram() only.
  private constructor(pid: number, pidfd: number, internal: unknown) {
    if (internal !== INTERNAL) {
      throw new TypeError(
        "ChildProcess cannot be constructed: spawn() and spawnProgram() return one",
      );
    }
    this.pid = pid;
    this.#pidfd = pidfd;
    // Its pidfd is its own: no other handle may adopt it (and the engine keeps its epoll for it).
    if (pidfd >= 0) own(pidfd, () => "child process's pidfd");
    this.status = this.#reap();
    // A status nobody awaits (a child left to run) must not end the program when it
    // rejects: ECHILD where SIGCHLD is ignored and the kernel reaped the child itself.
    this.status.catch(() => {});
  }

  async #reap(): Promise<ChildStatus> {
    const statusBuf = new Int32Array(1);
    const bytes = new Uint8Array(statusBuf.buffer);
    const subject = { pid: this.pid };
    if (this.#pidfd < 0) {
      this.#ended = true;
      throw errorFromCode(
        E.ECHILD,
        "waitpid",
        subject,
        "it ended and the kernel reaped it at once: SIGCHLD is ignored in this process",
      );
    }
    try {
      await wait(
        {
          syscall: "waitpid",
          subject,
          attempt: () => {
            const r = attempt(() => libc.waitpid(this.pid, bytes, C.WNOHANG), "waitpid", subject);
            // 0: it still runs.
            return r === AGAIN || r === 0 ? AGAIN : r;
          },
          source: pidfdSource(this.#pidfd),
        },
        undefined,
        { registry: this.#waits },
      );
    } finally {
      this.#release();
    }
    const raw = statusBuf[0];
    const sig = raw & 0x7f;
    if (sig === 0) {
      const code = (raw >> 8) & 0xff;
      return { success: code === 0, code, signal: null };
    }
    return { success: false, code: 128 + sig, signal: signalName(sig) };
  }

  #release(): void {
    this.#ended = true;
    if (this.#pidfd >= 0) {
      closeOwnedFd(this.#pidfd);
      this.#pidfd = -1;
    }
  }

  /**
   * Lets this process exit while the child still runs, like
   * `Deno.ChildProcess.unref()`. While this process runs for other reasons,
   * `status` still settles when the child ends (seen within 50 ms), which
   * reaps it; a process that exits first leaves the child running.
   *
   * Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { spawnProgram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const child = spawnProgram("/bin/sleep", ["10"]);
   * child.unref(); // the running child no longer keeps this process alive
   * child.kill();
   * child.ref(); // it does again while its status is awaited below, which reaps it
   * assert.equal((await child.status).signal, "SIGTERM");
   * ```
   */
  unref(): void {
    this.#waits.ref = false;
  }

  /**
   * Undoes {@link ChildProcess.unref}: the process stays alive until the child ends.
   *
   * Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { spawnProgram } from "@libc/ipc";
   * const child = spawnProgram("/bin/true");
   * child.unref();
   * child.ref();
   * await child.status;
   * ```
   */
  ref(): void {
    this.#waits.ref = true;
  }

  /**
   * Sends a signal to the child (through its pidfd: never to a reused pid).
   * A child that has ended but is not reaped yet takes the signal without effect.
   *
   * Wraps `pidfd_send_signal(2)`. Needs `--allow-ffi`.
   *
   * @param signal a name like `"SIGTERM"` (the default) or a number
   * @throws {TypeError} when the child has already ended and been reaped, or for an unknown signal name
   * @throws {RangeError} for a signal number outside 1..SIGRTMAX
   *
   * @example
   * ```ts
   * import { spawnProgram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const child = spawnProgram("/bin/sleep", ["10"]);
   * child.kill("SIGKILL");
   * assert.equal((await child.status).signal, "SIGKILL");
   * ```
   */
  kill(signal: SignalName | number = "SIGTERM"): void {
    const sig = signalNumber(signal);
    if (this.#ended) throw new TypeError(`child process ${this.pid} has already ended`);
    ok(libc.pidfd_send_signal(this.#pidfd, sig, null, 0), "pidfd_send_signal", { pid: this.pid });
  }

  /**
   * Kills the child if it still runs and waits for its end: SIGTERM first (and
   * SIGCONT, for a child that is stopped), then SIGKILL if it has not ended
   * within {@link ChildProcess.KILL_GRACE_MS}. It never throws: a `status` that rejects is waited for and ignored.
   *
   * Wraps `pidfd_send_signal(2)` and `waitpid(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { spawnProgram } from "@libc/ipc";
   * {
   *   await using _child = spawnProgram("/bin/sleep", ["10"]);
   * } // SIGTERM here, then reaped
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#ended) return void await this.status.catch(() => {});
    this.#signalIfRunning("SIGTERM");
    // A stopped child would act on SIGTERM only once continued.
    this.#signalIfRunning("SIGCONT");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ChildProcess.KILL_GRACE_MS);
    });
    const ended = this.status.then(() => true, () => true);
    if (!await Promise.race([ended, grace.then(() => false)])) this.#signalIfRunning("SIGKILL");
    clearTimeout(timer);
    await ended;
  }

  /** How long `await using` lets a child handle SIGTERM before it sends SIGKILL. */
  static readonly KILL_GRACE_MS: number = 2000;

  #signalIfRunning(signal: SignalName): void {
    try {
      this.kill(signal);
    } catch {
      // It ended meanwhile: nothing to kill.
    }
  }
}

/**
 * The readiness of a child's pidfd, which becomes readable when the child
 * ends. Where the engine cannot start (no descriptor left for its epoll and
 * eventfd), the wait polls `waitpid` instead of rejecting: a rejected status
 * would leave the child a zombie for good.
 */
function pidfdSource(pidfd: number): Source<never> {
  const source = fdSource(pidfd, READABLE);
  return {
    ...source,
    park: (p) => {
      try {
        return source.park(p);
      } catch {
        return NO_THREAD;
      }
    },
  };
}
