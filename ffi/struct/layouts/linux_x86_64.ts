/**
 * C struct layouts of glibc on Linux x86_64, by their C names. Every member is
 * declared under its glibc name, reserved and padding members included, so
 * that the layout probe (tests/struct_layout_test.ts) can check each one with
 * `offsetof` against the system headers.
 *
 * @module
 */
import { struct } from "../struct.ts";
import {
  array,
  type ArrayType,
  flex,
  type FlexType,
  type I16,
  i16,
  type I32,
  i32,
  type Long,
  long,
  pointer,
  type PointerType,
  size_t,
  type SizeT,
  type Struct,
  type U16,
  u16,
  type U32,
  u32,
  type U64,
  u64,
  type U8,
  u8,
  type ULong,
  ulong,
} from "../types.ts";

/**
 * `struct msgbuf` (sys/msg.h): a SysV message, `msgsnd(2)`/`msgrcv(2)`. glibc
 * declares `char mtext[1]`; here it is a flexible array of any length.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { msgbuf } = layouts;
 * const bytes = msgbuf.encode({ mtype: 1, mtext: new TextEncoder().encode("hi") });
 * assert.equal(bytes.length, msgbuf.sizeFor(2));
 * ```
 */
export const msgbuf: Struct<{ mtype: Long; mtext: FlexType<U8> }> = struct("msgbuf", {
  mtype: long,
  mtext: flex(u8),
});

/**
 * `struct sembuf` (sys/sem.h): one semaphore operation of `semop(2)`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * const ops = new Uint8Array(layouts.sembuf.size);
 * layouts.sembuf.encode({ sem_num: 0, sem_op: -1, sem_flg: 0 }, ops);
 * ```
 */
export const sembuf: Struct<{ sem_num: U16; sem_op: I16; sem_flg: I16 }> = struct("sembuf", {
  sem_num: u16,
  sem_op: i16,
  sem_flg: i16,
});

/**
 * `struct timespec` (time.h): seconds and nanoseconds, for timeouts.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const ts = layouts.timespec.encode({ tv_sec: 1, tv_nsec: 500_000_000 });
 * assert.equal(ts.length, 16);
 * ```
 */
export const timespec: Struct<{ tv_sec: Long; tv_nsec: Long }> = struct("timespec", {
  tv_sec: long,
  tv_nsec: long,
});

/**
 * `struct ipc_perm` (sys/ipc.h): owner and mode of a SysV IPC object.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.ipc_perm.offsets.mode, 20);
 * ```
 */
export const ipc_perm: Struct<{
  __key: I32;
  uid: U32;
  gid: U32;
  cuid: U32;
  cgid: U32;
  mode: U32;
  __seq: U16;
  __pad2: U16;
  __glibc_reserved1: ULong;
  __glibc_reserved2: ULong;
}> = struct("ipc_perm", {
  __key: i32,
  uid: u32,
  gid: u32,
  cuid: u32,
  cgid: u32,
  mode: u32,
  __seq: u16,
  __pad2: u16,
  __glibc_reserved1: ulong,
  __glibc_reserved2: ulong,
});

/**
 * `struct msqid_ds` (sys/msg.h): SysV message queue state, `msgctl(2)`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const stat = layouts.msqid_ds.decode(new Uint8Array(layouts.msqid_ds.size));
 * assert.equal(stat.msg_qnum, 0n);
 * ```
 */
export const msqid_ds: Struct<{
  msg_perm: typeof ipc_perm;
  msg_stime: Long;
  msg_rtime: Long;
  msg_ctime: Long;
  __msg_cbytes: ULong;
  msg_qnum: ULong;
  msg_qbytes: ULong;
  msg_lspid: I32;
  msg_lrpid: I32;
  __glibc_reserved4: ULong;
  __glibc_reserved5: ULong;
}> = struct("msqid_ds", {
  msg_perm: ipc_perm,
  msg_stime: long,
  msg_rtime: long,
  msg_ctime: long,
  __msg_cbytes: ulong,
  msg_qnum: ulong,
  msg_qbytes: ulong,
  msg_lspid: i32,
  msg_lrpid: i32,
  __glibc_reserved4: ulong,
  __glibc_reserved5: ulong,
});

/**
 * `struct shmid_ds` (sys/shm.h): SysV shared memory segment state, `shmctl(2)`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.shmid_ds.size, 112);
 * ```
 */
export const shmid_ds: Struct<{
  shm_perm: typeof ipc_perm;
  shm_segsz: SizeT;
  shm_atime: Long;
  shm_dtime: Long;
  shm_ctime: Long;
  shm_cpid: I32;
  shm_lpid: I32;
  shm_nattch: ULong;
  __glibc_reserved5: ULong;
  __glibc_reserved6: ULong;
}> = struct("shmid_ds", {
  shm_perm: ipc_perm,
  shm_segsz: size_t,
  shm_atime: long,
  shm_dtime: long,
  shm_ctime: long,
  shm_cpid: i32,
  shm_lpid: i32,
  shm_nattch: ulong,
  __glibc_reserved5: ulong,
  __glibc_reserved6: ulong,
});

/**
 * `struct semid_ds` (sys/sem.h): SysV semaphore set state, `semctl(2)`. On
 * x86_64 glibc keeps the high halves of the times beside each time.
 *
 * @example
 * ```ts
 * import { layoutsFor } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layoutsFor("linux", "x86_64").semid_ds.offsets.sem_nsems, 80);
 * ```
 */
export const semid_ds: Struct<{
  sem_perm: typeof ipc_perm;
  sem_otime: Long;
  __sem_otime_high: ULong;
  sem_ctime: Long;
  __sem_ctime_high: ULong;
  sem_nsems: ULong;
  __glibc_reserved3: ULong;
  __glibc_reserved4: ULong;
}> = struct("semid_ds", {
  sem_perm: ipc_perm,
  sem_otime: long,
  __sem_otime_high: ulong,
  sem_ctime: long,
  __sem_ctime_high: ulong,
  sem_nsems: ulong,
  __glibc_reserved3: ulong,
  __glibc_reserved4: ulong,
});

/**
 * `struct seminfo` (sys/sem.h): the kernel's semaphore limits, from
 * `semctl(0, 0, IPC_INFO, buf)` (`semvmx`: largest value; `semaem`: largest
 * adjustment kept for undo; `semopm`: operations per `semop`; `semmsl`:
 * members per set).
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.seminfo.offsets.semvmx, 32);
 * ```
 */
export const seminfo: Struct<{
  semmap: I32;
  semmni: I32;
  semmns: I32;
  semmnu: I32;
  semmsl: I32;
  semopm: I32;
  semume: I32;
  semusz: I32;
  semvmx: I32;
  semaem: I32;
}> = struct("seminfo", {
  semmap: i32,
  semmni: i32,
  semmns: i32,
  semmnu: i32,
  semmsl: i32,
  semopm: i32,
  semume: i32,
  semusz: i32,
  semvmx: i32,
  semaem: i32,
});

/**
 * `struct shminfo` (sys/shm.h): the kernel's shared-memory limits, from
 * `shmctl(0, IPC_INFO, buf)` (`shmmax`: largest segment in bytes; `shmall`:
 * all segments together, in pages).
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.shminfo.size, 72);
 * ```
 */
export const shminfo: Struct<{
  shmmax: ULong;
  shmmin: ULong;
  shmmni: ULong;
  shmseg: ULong;
  shmall: ULong;
  __glibc_reserved1: ULong;
  __glibc_reserved2: ULong;
  __glibc_reserved3: ULong;
  __glibc_reserved4: ULong;
}> = struct("shminfo", {
  shmmax: ulong,
  shmmin: ulong,
  shmmni: ulong,
  shmseg: ulong,
  shmall: ulong,
  __glibc_reserved1: ulong,
  __glibc_reserved2: ulong,
  __glibc_reserved3: ulong,
  __glibc_reserved4: ulong,
});

/**
 * `struct mq_attr` (mqueue.h): POSIX message queue attributes.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const attr = layouts.mq_attr.encode({
 *   mq_flags: 0,
 *   mq_maxmsg: 10,
 *   mq_msgsize: 8192,
 *   mq_curmsgs: 0,
 *   __pad: [0, 0, 0, 0],
 * });
 * assert.equal(attr.length, 64);
 * ```
 */
export const mq_attr: Struct<{
  mq_flags: Long;
  mq_maxmsg: Long;
  mq_msgsize: Long;
  mq_curmsgs: Long;
  __pad: ArrayType<Long>;
}> = struct("mq_attr", {
  mq_flags: long,
  mq_maxmsg: long,
  mq_msgsize: long,
  mq_curmsgs: long,
  __pad: array(long, 4),
});

/**
 * `struct sockaddr_un` (sys/un.h): a Unix socket address. An abstract name
 * starts with a 0 byte in `sun_path`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const sun_path = new Uint8Array(108);
 * sun_path.set(new TextEncoder().encode("/run/demo.sock"));
 * const addr = layouts.sockaddr_un.encode({ sun_family: 1, sun_path });
 * assert.equal(addr.length, 110);
 * ```
 */
export const sockaddr_un: Struct<{ sun_family: U16; sun_path: ArrayType<U8> }> = struct(
  "sockaddr_un",
  { sun_family: u16, sun_path: array(u8, 108) },
);

/**
 * `struct in_addr` (netinet/in.h): an IPv4 address; `s_addr` is in network byte
 * order, so its host-order value is byte-swapped.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual(layouts.in_addr.encode({ s_addr: 0x0100007f }), new Uint8Array([127, 0, 0, 1]));
 * ```
 */
export const in_addr: Struct<{ s_addr: U32 }> = struct("in_addr", { s_addr: u32 });

/**
 * `struct in6_addr` (netinet/in.h): an IPv6 address. glibc's only member is a
 * union; `s6_addr` is its byte view (a macro for `__in6_u.__u6_addr8`), and
 * the union's `uint32_t[4]` view makes the struct 4-byte aligned.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const loopback = new Uint8Array(16);
 * loopback[15] = 1;
 * assert.equal(layouts.in6_addr.encode({ s6_addr: loopback }).length, 16);
 * ```
 */
export const in6_addr: Struct<{ s6_addr: ArrayType<U8> }> = struct(
  "in6_addr",
  { s6_addr: array(u8, 16) },
  { align: 4 },
);

/**
 * `struct ip_mreqn` (netinet/in.h): an IPv4 multicast group to join or leave
 * (`IP_ADD_MEMBERSHIP`, `IP_DROP_MEMBERSHIP`) or the interface to send
 * multicast by (`IP_MULTICAST_IF`): by a local address, or by interface index.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.ip_mreqn.size, layouts.ip_mreqn.offsets.imr_ifindex], [12, 8]);
 * ```
 */
export const ip_mreqn: Struct<{
  imr_multiaddr: typeof in_addr;
  imr_address: typeof in_addr;
  imr_ifindex: I32;
}> = struct("ip_mreqn", { imr_multiaddr: in_addr, imr_address: in_addr, imr_ifindex: i32 });

/**
 * `struct ipv6_mreq` (netinet/in.h): an IPv6 multicast group to join or leave
 * (`IPV6_ADD_MEMBERSHIP`, `IPV6_DROP_MEMBERSHIP`) on an interface, by index
 * (0: the kernel picks one by its routes).
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.ipv6_mreq.size, layouts.ipv6_mreq.offsets.ipv6mr_interface], [20, 16]);
 * ```
 */
export const ipv6_mreq: Struct<{
  ipv6mr_multiaddr: typeof in6_addr;
  ipv6mr_interface: U32;
}> = struct("ipv6_mreq", { ipv6mr_multiaddr: in6_addr, ipv6mr_interface: u32 });

/**
 * `struct sockaddr_in` (netinet/in.h): an IPv4 socket address; `sin_port` and
 * `sin_addr` are in network byte order.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const addr = layouts.sockaddr_in.encode({
 *   sin_family: 2,
 *   sin_port: 0x5000, // port 80, byte-swapped
 *   sin_addr: { s_addr: 0x0100007f },
 *   sin_zero: new Uint8Array(8),
 * });
 * assert.equal(addr.length, 16);
 * ```
 */
export const sockaddr_in: Struct<{
  sin_family: U16;
  sin_port: U16;
  sin_addr: typeof in_addr;
  sin_zero: ArrayType<U8>;
}> = struct("sockaddr_in", {
  sin_family: u16,
  sin_port: u16,
  sin_addr: in_addr,
  sin_zero: array(u8, 8),
});

/**
 * `struct sockaddr_in6` (netinet/in.h): an IPv6 socket address; `sin6_port` and
 * `sin6_flowinfo` are in network byte order.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.sockaddr_in6.size, layouts.sockaddr_in6.offsets.sin6_addr], [28, 8]);
 * ```
 */
export const sockaddr_in6: Struct<{
  sin6_family: U16;
  sin6_port: U16;
  sin6_flowinfo: U32;
  sin6_addr: typeof in6_addr;
  sin6_scope_id: U32;
}> = struct("sockaddr_in6", {
  sin6_family: u16,
  sin6_port: u16,
  sin6_flowinfo: u32,
  sin6_addr: in6_addr,
  sin6_scope_id: u32,
});

/**
 * `struct iovec` (sys/uio.h): one buffer of a scatter/gather list.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const iov = layouts.iovec.encode({ iov_base: 0x1000n, iov_len: 64 });
 * assert.equal(iov.length, 16);
 * ```
 */
export const iovec: Struct<{ iov_base: PointerType; iov_len: SizeT }> = struct("iovec", {
  iov_base: pointer,
  iov_len: size_t,
});

/**
 * `struct msghdr` (sys/socket.h): the message of `sendmsg(2)`/`recvmsg(2)`.
 * C leaves 4 unnamed padding bytes after `msg_namelen` and after `msg_flags`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.msghdr.size, layouts.msghdr.offsets.msg_iov], [56, 16]);
 * ```
 */
export const msghdr: Struct<{
  msg_name: PointerType;
  msg_namelen: U32;
  msg_iov: PointerType;
  msg_iovlen: SizeT;
  msg_control: PointerType;
  msg_controllen: SizeT;
  msg_flags: I32;
}> = struct("msghdr", {
  msg_name: pointer,
  msg_namelen: u32,
  msg_iov: pointer,
  msg_iovlen: size_t,
  msg_control: pointer,
  msg_controllen: size_t,
  msg_flags: i32,
});

/**
 * `struct cmsghdr` (sys/socket.h): an ancillary data header, followed by its
 * data (`CMSG_DATA`), here the flexible array `__cmsg_data`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { cmsghdr } = layouts;
 * // SCM_RIGHTS with one fd: cmsg_len is CMSG_LEN(4).
 * const fd = new Uint8Array(new Int32Array([5]).buffer);
 * const bytes = cmsghdr.encode({ cmsg_len: cmsghdr.sizeFor(4), cmsg_level: 1, cmsg_type: 1, __cmsg_data: fd });
 * assert.equal(bytes.length, 20);
 * ```
 */
export const cmsghdr: Struct<{
  cmsg_len: SizeT;
  cmsg_level: I32;
  cmsg_type: I32;
  __cmsg_data: FlexType<U8>;
}> = struct("cmsghdr", {
  cmsg_len: size_t,
  cmsg_level: i32,
  cmsg_type: i32,
  __cmsg_data: flex(u8),
});

/**
 * `struct ucred` (sys/socket.h): peer credentials, `SO_PEERCRED` and `SCM_CREDENTIALS`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual(layouts.ucred.decode(new Uint8Array(12)), { pid: 0, uid: 0, gid: 0 });
 * ```
 */
export const ucred: Struct<{ pid: I32; uid: U32; gid: U32 }> = struct("ucred", {
  pid: i32,
  uid: u32,
  gid: u32,
});

/**
 * `struct pollfd` (poll.h): one entry of `poll(2)`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * const fds = new Uint8Array(layouts.pollfd.size * 2);
 * layouts.pollfd.encode({ fd: 0, events: 1, revents: 0 }, fds, 0);
 * layouts.pollfd.encode({ fd: 1, events: 4, revents: 0 }, fds, layouts.pollfd.size);
 * ```
 */
export const pollfd: Struct<{ fd: I32; events: I16; revents: I16 }> = struct("pollfd", {
  fd: i32,
  events: i16,
  revents: i16,
});

/**
 * `struct flock` (fcntl.h): a byte-range record lock, as `fcntl(2)` sets and
 * reports it (`F_OFD_SETLK`, `F_OFD_GETLK`).
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const bytes = layouts.flock.encode({ l_type: 1, l_whence: 0, l_start: 0, l_len: 10, l_pid: 0 });
 * assert.equal(bytes.length, 32);
 * assert.equal(layouts.flock.decode(bytes).l_len, 10n);
 * ```
 */
export const flock: Struct<{ l_type: I16; l_whence: I16; l_start: Long; l_len: Long; l_pid: I32 }> =
  struct("flock", {
    l_type: i16,
    l_whence: i16,
    l_start: long,
    l_len: long,
    l_pid: i32,
  });

/**
 * `struct signalfd_siginfo` (sys/signalfd.h): one 128-byte record read from a signalfd.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const info = layouts.signalfd_siginfo.decode(new Uint8Array(128));
 * assert.deepEqual([info.ssi_signo, info.ssi_ptr], [0, 0n]);
 * ```
 */
export const signalfd_siginfo: Struct<{
  ssi_signo: U32;
  ssi_errno: I32;
  ssi_code: I32;
  ssi_pid: U32;
  ssi_uid: U32;
  ssi_fd: I32;
  ssi_tid: U32;
  ssi_band: U32;
  ssi_overrun: U32;
  ssi_trapno: U32;
  ssi_status: I32;
  ssi_int: I32;
  ssi_ptr: U64;
  ssi_utime: U64;
  ssi_stime: U64;
  ssi_addr: U64;
  ssi_addr_lsb: U16;
  __pad2: U16;
  ssi_syscall: I32;
  ssi_call_addr: U64;
  ssi_arch: U32;
  __pad: ArrayType<U8>;
}> = struct("signalfd_siginfo", {
  ssi_signo: u32,
  ssi_errno: i32,
  ssi_code: i32,
  ssi_pid: u32,
  ssi_uid: u32,
  ssi_fd: i32,
  ssi_tid: u32,
  ssi_band: u32,
  ssi_overrun: u32,
  ssi_trapno: u32,
  ssi_status: i32,
  ssi_int: i32,
  ssi_ptr: u64,
  ssi_utime: u64,
  ssi_stime: u64,
  ssi_addr: u64,
  ssi_addr_lsb: u16,
  __pad2: u16,
  ssi_syscall: i32,
  ssi_call_addr: u64,
  ssi_arch: u32,
  __pad: array(u8, 28),
});

/**
 * `epoll_data_t` (sys/epoll.h): the caller's word in an epoll event, a union
 * of `ptr`, `fd`, `u32` and `u64`; declared here by its widest member.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.epoll_data_t.size, 8);
 * ```
 */
export const epoll_data_t: Struct<{ u64: U64 }> = struct("epoll_data_t", { u64: u64 }, {
  typedef: true,
});

/**
 * `struct epoll_event` (sys/epoll.h): packed on x86_64, so `data` starts at 4.
 *
 * @example
 * ```ts
 * import { layoutsFor } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { epoll_event } = layoutsFor("linux", "x86_64");
 * assert.deepEqual([epoll_event.size, epoll_event.offsets.data], [12, 4]);
 * ```
 */
export const epoll_event: Struct<{ events: U32; data: typeof epoll_data_t }> = struct(
  "epoll_event",
  { events: u32, data: epoll_data_t },
  { packed: true },
);

/**
 * `struct futex_waitv` (linux/futex.h): one word of `futex_waitv(2)`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.futex_waitv.size, 24);
 * ```
 */
export const futex_waitv: Struct<{ val: U64; uaddr: U64; flags: U32; __reserved: U32 }> = struct(
  "futex_waitv",
  { val: u64, uaddr: u64, flags: u32, __reserved: u32 },
);

/**
 * `sigset_t` (signal.h): glibc's 1024-bit signal set.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.sigset_t.size, 128);
 * ```
 */
export const sigset_t: Struct<{ __val: ArrayType<ULong> }> = struct("sigset_t", {
  __val: array(ulong, 16),
}, { typedef: true });

/**
 * `struct sigaction` (signal.h) as glibc declares it; `sa_handler` is the
 * union member `__sigaction_handler.sa_handler`.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.sigaction.size, layouts.sigaction.offsets.sa_flags], [152, 136]);
 * ```
 */
export const sigaction: Struct<{
  sa_handler: PointerType;
  sa_mask: typeof sigset_t;
  sa_flags: I32;
  sa_restorer: PointerType;
}> = struct("sigaction", {
  sa_handler: pointer,
  sa_mask: sigset_t,
  sa_flags: i32,
  sa_restorer: pointer,
});

/**
 * `sigval_t` (signal.h): a signal's payload, a union of `int sival_int` and
 * `void *sival_ptr`; declared here by its widest member.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.sigval_t.size, 8);
 * ```
 */
export const sigval_t: Struct<{ sival_ptr: PointerType }> = struct("sigval_t", {
  sival_ptr: pointer,
}, { typedef: true });

/**
 * `siginfo_t` (signal.h): what a signal carries, as `rt_sigqueueinfo(2)` and
 * `pidfd_send_signal(2)` take it. The union `_sifields` is declared by its
 * `_pad` member; for a signal a process sends (its `_kill` and `_rt`
 * members) its ints are the sender's pid, its uid, then the `sigval`, whose
 * `sival_int` is the low half on little-endian platforms.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.siginfo_t.size, layouts.siginfo_t.offsets["_sifields._pad"]], [128, 16]);
 * ```
 */
export const siginfo_t: Struct<{
  si_signo: I32;
  si_errno: I32;
  si_code: I32;
  __pad0: I32;
  "_sifields._pad": ArrayType<I32>;
}> = struct("siginfo_t", {
  si_signo: i32,
  si_errno: i32,
  si_code: i32,
  __pad0: i32,
  "_sifields._pad": array(i32, 28),
  // The union holds pointers and longs too.
}, { typedef: true, align: 8 });

/**
 * `struct sigevent` (signal.h): how a timer notifies. The union `_sigev_un`
 * is declared by its `_pad` member; its first `int` is `sigev_notify_thread_id`
 * (the thread `SIGEV_THREAD_ID` signals).
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.deepEqual([layouts.sigevent.size, layouts.sigevent.offsets["_sigev_un._pad"]], [64, 16]);
 * ```
 */
export const sigevent: Struct<{
  sigev_value: typeof sigval_t;
  sigev_signo: I32;
  sigev_notify: I32;
  "_sigev_un._pad": ArrayType<I32>;
}> = struct("sigevent", {
  sigev_value: sigval_t,
  sigev_signo: i32,
  sigev_notify: i32,
  "_sigev_un._pad": array(i32, 12),
});

/**
 * `struct itimerspec` (time.h): a timer's first expiry and its interval.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.itimerspec.size, 32);
 * ```
 */
export const itimerspec: Struct<{ it_interval: typeof timespec; it_value: typeof timespec }> =
  struct("itimerspec", { it_interval: timespec, it_value: timespec });

/**
 * `struct stat` (sys/stat.h) of glibc on x86_64.
 *
 * @example
 * ```ts
 * import { layoutsFor } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * const { stat } = layoutsFor("linux", "x86_64");
 * assert.deepEqual([stat.size, stat.offsets.st_mode], [144, 24]);
 * ```
 */
export const stat: Struct<{
  st_dev: ULong;
  st_ino: ULong;
  st_nlink: ULong;
  st_mode: U32;
  st_uid: U32;
  st_gid: U32;
  __pad0: I32;
  st_rdev: ULong;
  st_size: Long;
  st_blksize: Long;
  st_blocks: Long;
  st_atim: typeof timespec;
  st_mtim: typeof timespec;
  st_ctim: typeof timespec;
  __glibc_reserved: ArrayType<Long>;
}> = struct("stat", {
  st_dev: ulong,
  st_ino: ulong,
  st_nlink: ulong,
  st_mode: u32,
  st_uid: u32,
  st_gid: u32,
  __pad0: i32,
  st_rdev: ulong,
  st_size: long,
  st_blksize: long,
  st_blocks: long,
  st_atim: timespec,
  st_mtim: timespec,
  st_ctim: timespec,
  __glibc_reserved: array(long, 3),
});

/**
 * `struct dirent` (dirent.h): one directory entry as `readdir(3)` returns it.
 *
 * @example
 * ```ts
 * import { layouts } from "@libc/ipc/struct";
 * import assert from "node:assert/strict";
 * assert.equal(layouts.dirent.offsets.d_name, 19);
 * ```
 */
export const dirent: Struct<{
  d_ino: ULong;
  d_off: Long;
  d_reclen: U16;
  d_type: U8;
  d_name: ArrayType<U8>;
}> = struct("dirent", {
  d_ino: ulong,
  d_off: long,
  d_reclen: u16,
  d_type: u8,
  d_name: array(u8, 256),
});
