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
const END_WITH_PARENT_URL: string = import.meta.url;

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

/** The code of the preload, whichever copy of this library the parent that wrote it loaded. */
const PRELOAD_CODE =
  /^import \{ endWithParent \} from "[^"]*\/_end_with_parent\.ts";\nendWithParent\(\d+, \d+\);$/;

/** The code of the `--preload` that makes this process end with thread `tid` of `parent`. */
export function endWithParentCode(parent: number, tid: number): string {
  return `import { endWithParent } from ${JSON.stringify(END_WITH_PARENT_URL)};
endWithParent(${parent}, ${tid});`;
}

/**
 * Whether `arg` of a command line is the `--preload` of {@link endWithParent}
 * (a relaunched copy of the process must not run it: its parent is another).
 * Told by its code, not its URL: the parent may have loaded another copy of
 * this library than this process did.
 */
export function isEndWithParentPreload(arg: string): boolean {
  if (!arg.startsWith(END_WITH_PARENT_PRELOAD)) return false;
  try {
    return PRELOAD_CODE.test(decodeURIComponent(arg.slice(END_WITH_PARENT_PRELOAD.length)));
  } catch {
    return false; // not URI-encoded: not ours
  }
}
