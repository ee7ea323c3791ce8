/**
 * What a child that `spawn` started with `endWithParent` runs before its own
 * module: a `data:` module preloaded into it (`deno run --preload`) calls
 * {@link endWithParent}. It imports this module, which `spawn` imports too, so
 * that this module is in the parent's module graph, cache and lock file.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { E, lastErrno } from "../_sys.ts";

/** This module's URL, for the `data:` module that imports it. */
export const END_WITH_PARENT_URL: string = import.meta.url;

/**
 * Has the kernel end this process (SIGKILL) when thread `tid` of process
 * `parent` ends (`prctl(PR_SET_PDEATHSIG)`); ends it at once where that
 * happened already: another process is its parent now, or the thread is gone.
 */
export function endWithParent(parent: number, tid: number): void {
  libc.prctl(C.PR_SET_PDEATHSIG, BigInt(C.SIGKILL), 0n, 0n, 0n);
  const gone = libc.getppid() !== parent ||
    (libc.tgkill(parent, tid, 0) < 0 && lastErrno() === E.ESRCH);
  if (gone) libc.kill(Deno.pid, C.SIGKILL);
}

/** The start of the `--preload` flag that runs {@link endWithParent}; the rest is its code. */
export const END_WITH_PARENT_PRELOAD = "--preload=data:text/javascript,";

/**
 * Whether `arg` of a command line is the `--preload` of {@link endWithParent}
 * (a relaunched copy of the process must not run it: its parent is another).
 */
export function isEndWithParentPreload(arg: string): boolean {
  return arg.startsWith(END_WITH_PARENT_PRELOAD) &&
    decodeURIComponent(arg.slice(END_WITH_PARENT_PRELOAD.length)).includes(END_WITH_PARENT_URL);
}
