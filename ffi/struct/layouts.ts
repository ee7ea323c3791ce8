/**
 * The struct layouts of the platform this runs on, chosen by
 * `Deno.build.os`/`Deno.build.arch`. Importing never fails; using a layout on
 * a platform without a table throws `Deno.errors.NotSupported`, never returns
 * a wrong layout.
 *
 * @module
 */
import type * as linuxX64 from "./layouts/linux_x86_64.ts";
import type { Long, Struct, U32, ULong } from "./types.ts";
import { platformKey, PLATFORMS, unsupported } from "../platforms.ts";

/**
 * The layouts of one platform, by C struct name, typed by what every platform
 * shares: the x86_64 declarations, except for the structs whose members differ
 * between platforms, which keep only the members every platform has with the
 * same type. Each layout's `size` and `offsets` are the platform's own. So
 * `semid_ds.encode()` and `stat.encode()` need the platform's other members
 * too (a TypeError names the first one missing), which this type does not
 * name: give them as the platform declares them, or only decode these two.
 *
 * @example
 * ```ts
 * import { type Layouts, layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { sembuf }: Layouts = layouts;
 * assert.equal(sembuf.size, 6);
 * ```
 */
export interface Layouts extends Omit<typeof linuxX64, "semid_ds" | "stat"> {
  /** `struct semid_ds`; x86_64 also keeps the high halves of the times (`__sem_otime_high`). */
  readonly semid_ds: Struct<{
    sem_perm: Layouts["ipc_perm"];
    sem_otime: Long;
    sem_ctime: Long;
    sem_nsems: ULong;
    __glibc_reserved3: ULong;
    __glibc_reserved4: ULong;
  }>;
  /** `struct stat`; `st_nlink`, `st_blksize` and the padding and reserved members differ by platform. */
  readonly stat: Struct<{
    st_dev: ULong;
    st_ino: ULong;
    st_mode: U32;
    st_uid: U32;
    st_gid: U32;
    st_rdev: ULong;
    st_size: Long;
    st_blocks: Long;
    st_atim: Layouts["timespec"];
    st_mtim: Layouts["timespec"];
    st_ctim: Layouts["timespec"];
  }>;
}

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
 * The struct layouts of this platform (glibc on Linux x86_64 or aarch64), by C name:
 * `msgbuf`, `sembuf`, `timespec`, `ipc_perm`, `msqid_ds`, `shmid_ds`,
 * `shminfo`, `semid_ds`, `seminfo`, `mq_attr`, `sockaddr_un`, `in_addr`,
 * `in6_addr`, `sockaddr_in`, `sockaddr_in6`, `iovec`, `msghdr`, `cmsghdr`,
 * `ucred`, `pollfd`, `signalfd_siginfo`, `epoll_data_t`, `epoll_event`,
 * `futex_waitv`, `sigset_t`, `sigval_t`, `sigaction`, `siginfo_t`, `sigevent`,
 * `itimerspec`, `stat`, `dirent`. Reading one on another platform throws
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
