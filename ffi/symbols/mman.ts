/**
 * Symbols of `<sys/mman.h>` (with `ftruncate`, `fstat`): POSIX shared memory
 * and anonymous shared mappings. `mmap` returns `MAP_FAILED` (`(void *) -1`)
 * on failure, which FFI gives as a pointer whose value is 2^64-1.
 *
 * @module
 */

export const mman = {
  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  // int munmap(void *addr, size_t length);
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  // int shm_open(const char *name, int oflag, mode_t mode);  (in libc.so.6 since glibc 2.34)
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int shm_unlink(const char *name);
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  // int memfd_create(const char *name, unsigned int flags);
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  // int ftruncate(int fd, off_t length);  (unistd.h)
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  // int flock(int fd, int operation);  (sys/file.h): openers size an object one at a time
  flock: { parameters: ["i32", "i32"], result: "i32" },
  // int fstat(int fd, struct stat *statbuf);  (sys/stat.h)
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
} as const;
