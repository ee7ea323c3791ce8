/**
 * What an isolate holds for its waits, given back once no handle of it owns
 * a descriptor and nothing waits: the fd engine's epoll and eventfd, and the
 * descriptor parked calls keep in reserve. Nothing tells an isolate that it
 * ends, so a Worker's stayed open for good. Handles ask as they close; the
 * reserve goes once the last parked call has returned. The next wait takes
 * them again.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { disown, ownedCount } from "../_owned_fds.ts";
import { releaseReserve } from "../_proc.ts";
import { threadsHeld } from "./budget.ts";
import { fdEngine } from "./fd.ts";

let asked = false;

/** As a handle closes: gives back what nothing needs any more. */
export function releaseIdle(): void {
  fdEngine.releaseIfIdle();
  if (ownedCount() > 0) return;
  asked = true;
  afterParkedCall();
}

/** After a parked call returned: the reserve goes, if a close asked and nothing needs it. */
export function afterParkedCall(): void {
  if (!asked || threadsHeld() > 0 || ownedCount() > 0) return;
  asked = false;
  releaseReserve();
}

/**
 * Closes a descriptor a handle owns, the one way every owner does: the fd
 * engine forgets it, it is no longer owned, `close(2)` releases it (whatever
 * it reports: nothing to retry), then what nothing needs any more goes.
 */
export function closeOwnedFd(fd: number): void {
  fdEngine.forget(fd);
  disown(fd);
  libc.close(fd);
  releaseIdle();
}
