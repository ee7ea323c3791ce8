/**
 * Symbols of `<unistd.h>`. Byte counts are declared `u32`/`i32`: callers never
 * pass more than {@link MAX_IO} bytes, and 32-bit arguments keep the call on
 * V8's fast path (a `usize` costs more than the syscall's own overhead).
 *
 * @module
 */

/** Largest byte count passed to one `read`/`write` (Linux caps one call at 0x7ffff000). */
export const MAX_IO = 0x7ffff000;

export const unistd = {
  // ssize_t read(int fd, void *buf, size_t count);
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // ssize_t pread(int fd, void *buf, size_t count, off_t offset);  (counts ≤ 2^31 - 1 here)
  pread: { parameters: ["i32", "buffer", "u32", "i64"], result: "i32" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // int dup3(int oldfd, int newfd, int flags);
  dup3: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int pipe2(int pipefd[2], int flags);
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // char *getcwd(char *buf, size_t size);
  getcwd: { parameters: ["buffer", "usize"], result: "pointer" },
  // int faccessat(int dirfd, const char *pathname, int mode, int flags);
  faccessat: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  // int unlink(const char *pathname);
  unlink: { parameters: ["buffer"], result: "i32" },
  // pid_t getpid(void);
  getpid: { parameters: [], result: "i32" },
  // pid_t getppid(void);
  getppid: { parameters: [], result: "i32" },
  // pid_t getpgid(pid_t pid);
  getpgid: { parameters: ["i32"], result: "i32" },
  // int prctl(int option, unsigned long arg2, ...);  (sys/prctl.h; the variadic arguments
  // are unsigned longs, passed as the fixed ones are on Linux's 64-bit ABIs)
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  // uid_t geteuid(void);
  geteuid: { parameters: [], result: "u32" },
  // uid_t getuid(void);
  getuid: { parameters: [], result: "u32" },
} as const;
