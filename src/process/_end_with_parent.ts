/**
 * Preloaded (`deno run --preload`) into a child that {@link spawn} started
 * with `endWithParent`: the kernel sends it SIGKILL when the thread that
 * started it ends (`prctl(PR_SET_PDEATHSIG)`), and a parent that ended before
 * this ran has left it already (another process is its parent now). The
 * parent's pid is this module's URL fragment.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";

const parent = Number(new URL(import.meta.url).hash.slice(1));
libc.prctl(C.PR_SET_PDEATHSIG, BigInt(C.SIGKILL), 0n, 0n, 0n);
if (libc.getppid() !== parent) libc.kill(Deno.pid, C.SIGKILL);
