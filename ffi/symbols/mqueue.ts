/**
 * Symbols of `<mqueue.h>` (POSIX message queues; in libc.so.6 since glibc
 * 2.34), with `fchmod` used on them. On Linux an `mqd_t` is a
 * file descriptor (`int`).
 *
 * Byte counts are declared `u32`: a message is at most 16 MiB (the kernel's
 * `HARD_MSGSIZEMAX`), and 32-bit arguments keep the call on V8's fast path.
 *
 * @module
 */

/**
 * Kernel ceilings that no `/proc/sys/fs/mqueue` setting or capability lifts
 * (`HARD_MSGMAX`, `HARD_MSGSIZEMAX` in the kernel's `include/linux/ipc_namespace.h`;
 * no user header has them).
 */
export const MQ_HARD_LIMITS = { maxMessages: 65536, messageSize: 16 * 1024 * 1024 } as const;

export const mqueue = {
  // mqd_t mq_open(const char *name, int oflag, ... /* mode_t mode, struct mq_attr *attr */);
  // Declared with the two optional parameters fixed (Linux passes variadics in registers).
  mq_open: { parameters: ["buffer", "i32", "u32", "buffer"], result: "i32" },
  // int mq_close(mqd_t mqdes);
  mq_close: { parameters: ["i32"], result: "i32" },
  // int mq_unlink(const char *name);
  mq_unlink: { parameters: ["buffer"], result: "i32" },
  // int mq_send(mqd_t mqdes, const char *msg_ptr, size_t msg_len, unsigned int msg_prio);
  mq_send: { parameters: ["i32", "buffer", "u32", "u32"], result: "i32" },
  // ssize_t mq_receive(mqd_t mqdes, char *msg_ptr, size_t msg_len, unsigned int *msg_prio);
  mq_receive: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
  // With a deadline already past: the tries, which must not wait whatever O_NONBLOCK says.
  mq_timedsend: { parameters: ["i32", "buffer", "u32", "u32", "buffer"], result: "i32" },
  mq_timedreceive: {
    parameters: ["i32", "buffer", "u32", "buffer", "buffer"],
    result: "i32",
  },
  // int mq_getattr(mqd_t mqdes, struct mq_attr *attr);
  mq_getattr: { parameters: ["i32", "buffer"], result: "i32" },
  // int mq_notify(mqd_t mqdes, const struct sigevent *sevp);  (NULL: unregister)
  mq_notify: { parameters: ["i32", "buffer"], result: "i32" },
  // int fchmod(int fd, mode_t mode);  (sys/stat.h) mq_open applies the umask; this undoes it
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
} as const;
