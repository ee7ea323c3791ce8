/**
 * Generates `ffi/constants/linux_<arch>.ts` from a C probe: every value comes
 * from the C compiler and the system headers, none is typed by hand.
 *
 * Run: `deno run --allow-read --allow-write --allow-run ffi/gen/constants.ts [--target <arch>] [outFile]`
 * (the tasks `gen:constants` and `gen:constants:aarch64`). Needs `cc`, or for
 * another CPU its cross compiler and qemu (see `c_probe.ts`).
 *
 * @module
 */
import { run, runCProbe, type Target, target, targetArg } from "./c_probe.ts";

/** Headers the probe includes. */
const HEADERS = [
  "errno.h",
  "fcntl.h",
  "poll.h",
  "signal.h",
  "spawn.h",
  "sys/epoll.h",
  "sys/eventfd.h",
  "sys/ipc.h",
  "sys/msg.h",
  "sys/sem.h",
  "sys/shm.h",
  "sys/socket.h",
  "sys/un.h",
  "netinet/in.h",
  "netinet/tcp.h",
  "sys/signalfd.h",
  "sys/stat.h",
  "sys/file.h",
  "sys/syscall.h",
  "sys/wait.h",
  "mqueue.h",
  "unistd.h",
  "limits.h",
  "stddef.h",
  "linux/futex.h",
  "linux/capability.h",
  "sys/mman.h",
  "time.h",
  "semaphore.h",
  "sys/prctl.h",
];

/** Integer constants, by the C name they have in the headers above. */
const INTEGERS = [
  // open(2), fcntl(2)
  "O_RDONLY",
  "O_WRONLY",
  "O_RDWR",
  "O_CREAT",
  "O_EXCL",
  "O_TRUNC",
  "O_NONBLOCK",
  "O_CLOEXEC",
  "O_NOCTTY",
  "O_NOFOLLOW",
  "O_PATH",
  "F_GETFD",
  "F_SETFD",
  "F_GETFL",
  "F_SETFL",
  "F_DUPFD_CLOEXEC",
  "FD_CLOEXEC",
  "F_GETPIPE_SZ",
  "F_SETPIPE_SZ",
  // fcntl(2) record locks (open file description locks)
  "F_OFD_GETLK",
  "F_OFD_SETLK",
  "F_OFD_SETLKW",
  "F_GETLK",
  "F_SETLK",
  "F_RDLCK",
  "F_WRLCK",
  "F_UNLCK",
  "SEEK_SET",
  // stat(2)
  "S_IFMT",
  "S_IFIFO",
  "S_IFREG",
  "S_IFDIR",
  "S_IFSOCK",
  "S_IFLNK",
  "S_IFCHR",
  // flock(2)
  "LOCK_EX",
  "LOCK_UN",
  // faccessat(2)
  "F_OK",
  "X_OK",
  "AT_FDCWD",
  "AT_EACCESS",
  // poll(2), epoll(7), eventfd(2)
  "POLLIN",
  "POLLOUT",
  "POLLERR",
  "POLLHUP",
  "POLLNVAL",
  "POLLPRI",
  "EPOLLIN",
  "EPOLLOUT",
  "EPOLLERR",
  "EPOLLHUP",
  "EPOLLRDHUP",
  "EPOLLONESHOT",
  "EPOLL_CTL_ADD",
  "EPOLL_CTL_DEL",
  "EPOLL_CTL_MOD",
  "EPOLL_CLOEXEC",
  "EFD_CLOEXEC",
  "EFD_NONBLOCK",
  // wait(2), posix_spawn(3)
  "WNOHANG",
  "POSIX_SPAWN_SETSIGMASK",
  "POSIX_SPAWN_SETSIGDEF",
  "POSIX_SPAWN_SETPGROUP",
  "SIG_BLOCK",
  "SIG_UNBLOCK",
  "SIG_SETMASK",
  "SIG_IGN",
  "SIG_DFL",
  // prctl(2)
  "PR_SET_PDEATHSIG",
  // signal(7)
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
  "SIGRTMIN",
  "SIGRTMAX",
  // System V IPC
  "IPC_PRIVATE",
  "IPC_CREAT",
  "IPC_EXCL",
  "IPC_NOWAIT",
  "IPC_RMID",
  "IPC_SET",
  "IPC_STAT",
  "IPC_INFO",
  "MSG_NOERROR",
  "MSG_EXCEPT",
  "MSG_COPY",
  "SEM_UNDO",
  "GETVAL",
  "SETVAL",
  "GETALL",
  "SETALL",
  "GETPID",
  "GETNCNT",
  "GETZCNT",
  "SHM_RDONLY",
  "SHM_RND",
  "SHM_DEST",
  "SHM_LOCKED",
  "SHM_STAT",
  "SEM_STAT",
  "SEM_INFO",
  "SHM_INFO",
  "SHMLBA",
  // sockets
  "AF_UNIX",
  "AF_INET",
  "AF_INET6",
  "SOCK_STREAM",
  "SOCK_DGRAM",
  "SOCK_SEQPACKET",
  "SOCK_NONBLOCK",
  "SOCK_CLOEXEC",
  "SOL_SOCKET",
  "SO_PEERCRED",
  "SO_PASSCRED",
  "SO_ERROR",
  "SO_REUSEADDR",
  "SO_BROADCAST",
  "SCM_RIGHTS",
  "SCM_CREDENTIALS",
  "MSG_DONTWAIT",
  "MSG_NOSIGNAL",
  "MSG_PEEK",
  "MSG_TRUNC",
  "MSG_CTRUNC",
  "MSG_CMSG_CLOEXEC",
  "SHUT_RD",
  "SHUT_WR",
  "SHUT_RDWR",
  "SO_KEEPALIVE",
  "SO_RCVBUF",
  "SO_SNDBUF",
  "SO_RCVBUFFORCE",
  "SO_SNDBUFFORCE",
  "SO_TYPE",
  "SO_ACCEPTCONN",
  "SO_DOMAIN",
  "SO_REUSEPORT",
  "SO_LINGER",
  "SOMAXCONN",
  "MSG_WAITALL",
  "MSG_EOR",
  "IPPROTO_TCP",
  "IPPROTO_IPV6",
  "IPV6_V6ONLY",
  // ip(7), ipv6(7): multicast
  "IPPROTO_IP",
  "IP_ADD_MEMBERSHIP",
  "IP_DROP_MEMBERSHIP",
  "IP_MULTICAST_IF",
  "IP_MULTICAST_TTL",
  "IP_MULTICAST_LOOP",
  "IPV6_ADD_MEMBERSHIP",
  "IPV6_DROP_MEMBERSHIP",
  "IPV6_MULTICAST_IF",
  "IPV6_MULTICAST_HOPS",
  "IPV6_MULTICAST_LOOP",
  "TCP_NODELAY",
  "TCP_KEEPIDLE",
  "TCP_KEEPINTVL",
  "TCP_KEEPCNT",
  "INADDR_ANY",
  "INADDR_LOOPBACK",
  // signalfd(2), sigqueue(3), sigprocmask(2)
  "SFD_CLOEXEC",
  "SFD_NONBLOCK",
  "SI_USER",
  "SI_QUEUE",
  "SI_TKILL",
  "SI_KERNEL",
  "SI_TIMER",
  "SI_MESGQ",
  "SI_ASYNCIO",
  "SI_SIGIO",
  // syscall numbers and futex(2)
  "SYS_futex",
  "SYS_read",
  "SYS_futex_waitv",
  "SYS_pidfd_open",
  "SYS_pidfd_send_signal",
  "FUTEX_WAIT",
  "FUTEX_WAKE",
  "FUTEX_WAIT_BITSET",
  "FUTEX_BITSET_MATCH_ANY",
  "FUTEX_PRIVATE_FLAG",
  "FUTEX_32",
  "SYS_msgrcv",
  "SYS_msgsnd",
  "SYS_semtimedop",
  "SYS_openat",
  "SYS_fcntl",
  // sigaction(2), timer_create(2), mq_notify(3)
  "SA_RESTART",
  "SIGEV_THREAD_ID",
  "SIGEV_SIGNAL",
  "CLOCK_MONOTONIC",
  // mmap(2), memfd_create(2)
  "PROT_READ",
  "PROT_WRITE",
  "MAP_SHARED",
  "PROT_NONE",
  "MFD_ALLOW_SEALING",
  "MFD_CLOEXEC",
  "O_DIRECTORY",
  // limits
  "PIPE_BUF",
  "MQ_PRIO_MAX",
  "CAP_SYS_RESOURCE",
  "PATH_MAX",
  "NAME_MAX",
  "SEM_VALUE_MAX",
];

/** `sizeof` of opaque types the library allocates for libc (structs it reads are in ffi/struct). */
const SIZES: [name: string, cType: string][] = [
  ["sigset_t", "sigset_t"],
  ["posix_spawn_file_actions_t", "posix_spawn_file_actions_t"],
  ["posix_spawnattr_t", "posix_spawnattr_t"],
  ["pid_t", "pid_t"],
  ["mode_t", "mode_t"],
  ["key_t", "key_t"],
  ["mqd_t", "mqd_t"],
  ["sem_t", "sem_t"],
  ["off_t", "off_t"],
  ["sockaddr_storage", "struct sockaddr_storage"],
];

/** Where two errno names share a number, the one `code` reports. */
const PREFERRED_ERRNO = ["EAGAIN", "EDEADLK", "ENOTSUP"];

/** Every `E*` errno name the target's errno.h defines. */
async function errnoNames(t: Target): Promise<string[]> {
  const defines = await run(t.cc, ["-dM", "-E", "-"], "#include <errno.h>\n");
  const names = [...defines.matchAll(/^#define (E[A-Z0-9]+) /gm)].map((m) => m[1]);
  return [...new Set(names)].sort();
}

function probeSource(errnos: string[]): string {
  const lines = [
    "#define _GNU_SOURCE",
    ...HEADERS.map((h) => `#include <${h}>`),
    "#include <stdio.h>",
    "int main(void) {",
  ];
  for (const n of INTEGERS) lines.push(`  printf("I %s %lld\\n", "${n}", (long long)(${n}));`);
  for (const [name, t] of SIZES) lines.push(`  printf("S %s %zu\\n", "${name}", sizeof(${t}));`);
  for (const e of errnos) lines.push(`  printf("E %s %d\\n", "${e}", (int)(${e}));`);
  lines.push("  return 0;", "}");
  return lines.join("\n") + "\n";
}

/** Compiles and runs the probe for `t`; returns the generated TypeScript source. */
export async function generate(t: Target = target()): Promise<string> {
  const errnos = await errnoNames(t);
  const output = await runCProbe(probeSource(errnos), t);
  const ints: string[] = [];
  const sizes: string[] = [];
  const byNumber = new Map<number, string>();
  for (const line of output.trim().split("\n")) {
    const [kind, name, value] = line.split(" ");
    if (kind === "I") ints.push(`  ${name}: ${value},`);
    if (kind === "S") sizes.push(`  ${name}: ${value},`);
    if (kind === "E") {
      const n = Number(value);
      const had = byNumber.get(n);
      if (had === undefined || PREFERRED_ERRNO.includes(name)) byNumber.set(n, name);
    }
  }
  const errnoLines = [...byNumber].sort((a, b) => a[0] - b[0]).map(([n, name]) =>
    `  ${n}: "${name}",`
  );
  return [
    `// DO NOT EDIT: generated by ffi/gen/constants.ts from a C probe`,
    `// (linux ${t.arch}).`,
    "",
    "/** Integer constants of the C headers, by their C names. */",
    "export const constants = {",
    ...ints,
    "} as const;",
    "",
    "/** `sizeof` of opaque C types. */",
    "export const sizes = {",
    ...sizes,
    "} as const;",
    "",
    "/** errno number to its C name. */",
    "export const errnoNames: Readonly<Record<number, string>> = {",
    ...errnoLines,
    "};",
    "",
  ].join("\n");
}

/** Where the constants of Linux on `arch` are committed. */
export function constantsFile(arch: string): URL {
  return new URL(`../constants/linux_${arch}.ts`, import.meta.url);
}

if (import.meta.main) {
  const [t, [outFile]] = targetArg(Deno.args);
  const out = outFile ?? constantsFile(t.arch).pathname;
  await Deno.writeTextFile(out, await generate(t));
  console.log(`wrote ${out}`);
}
