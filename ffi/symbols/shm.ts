/**
 * Symbols of `<sys/shm.h>`: System V shared memory. `shmat` returns
 * `(void *) -1` on failure, which FFI gives as a pointer whose value is
 * 2^64-1: callers compare the value, not `null`.
 *
 * @module
 */

export const shm = {
  // int shmget(key_t key, size_t size, int shmflg);
  shmget: { parameters: ["i32", "usize", "i32"], result: "i32" },
  // void *shmat(int shmid, const void *shmaddr, int shmflg);
  shmat: { parameters: ["i32", "pointer", "i32"], result: "pointer" },
  // int shmdt(const void *shmaddr);
  shmdt: { parameters: ["pointer"], result: "i32" },
  // int shmctl(int shmid, int cmd, struct shmid_ds *buf);
  shmctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
} as const;
