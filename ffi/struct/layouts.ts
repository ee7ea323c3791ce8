/**
 * The struct layouts of the platform this runs on, chosen by
 * `Deno.build.os`/`Deno.build.arch`. Importing never fails; using a layout on
 * a platform without a table throws `Deno.errors.NotSupported`, never returns
 * a wrong layout.
 *
 * @module
 */
import type * as linuxX64 from "./layouts/linux_x86_64.ts";
import { platformKey, PLATFORMS, unsupported } from "../platforms.ts";

/**
 * The layouts of one platform, by C struct name.
 *
 * @example
 * ```ts
 * import { type Layouts, layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { sembuf }: Layouts = layouts;
 * assert.equal(sembuf.size, 6);
 * ```
 */
export type Layouts = typeof linuxX64;

/**
 * Layouts for a platform, or an object whose every member throws
 * `Deno.errors.NotSupported` when read.
 *
 * @param os An operating system, as in `Deno.build.os`.
 * @param arch A CPU architecture, as in `Deno.build.arch`.
 * @returns The platform's layouts.
 *
 * @example
 * ```ts
 * import { layoutsFor } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layoutsFor("linux", "x86_64").timespec.size, 16);
 * assert.throws(() => layoutsFor("windows", "x86_64").timespec, Deno.errors.NotSupported);
 * ```
 */
export function layoutsFor(os: string, arch: string): Layouts {
  const platform = platformKey(os, arch);
  const table = PLATFORMS[platform];
  if (table) return table.layouts;
  const missing = {} as Layouts;
  for (const name of Object.keys(PLATFORMS["linux x86_64"].layouts)) {
    Object.defineProperty(missing, name, {
      enumerable: true,
      get(): never {
        throw unsupported(platform, "struct layouts", `struct ${name}`);
      },
    });
  }
  return Object.freeze(missing);
}

/**
 * The struct layouts of this platform (Linux x86_64 glibc so far), by C name:
 * `msgbuf`, `sembuf`, `timespec`, `ipc_perm`, `msqid_ds`, `shmid_ds`,
 * `semid_ds`, `mq_attr`, `sockaddr_un`, `in_addr`, `in6_addr`, `sockaddr_in`,
 * `sockaddr_in6`, `iovec`, `msghdr`, `cmsghdr`, `ucred`, `pollfd`,
 * `signalfd_siginfo`, `epoll_event`, `futex_waitv`, `sigset_t`, `sigaction`,
 * `siginfo_t`, `sigevent`, `itimerspec`, `stat`, `dirent`. Reading one on another platform throws
 * `Deno.errors.NotSupported`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { sembuf } = layouts;
 * const op = sembuf.encode({ sem_num: 0, sem_op: 1, sem_flg: 0 });
 * assert.deepEqual(sembuf.decode(op), { sem_num: 0, sem_op: 1, sem_flg: 0 });
 * ```
 */
export const layouts: Layouts = layoutsFor(Deno.build.os, Deno.build.arch);
