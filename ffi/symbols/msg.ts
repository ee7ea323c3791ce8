/**
 * Symbols of `<sys/msg.h>` and `<sys/ipc.h>`: System V message queues. Sizes
 * are `u32`/`i32` (a message is at most `msgmax`, far below 2^31), which keeps
 * the calls on V8's fast path.
 *
 * @module
 */

export const msg = {
  // key_t ftok(const char *pathname, int proj_id);
  ftok: { parameters: ["buffer", "i32"], result: "i32" },
  // int msgget(key_t key, int msgflg);
  msgget: { parameters: ["i32", "i32"], result: "i32" },
  // int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
  msgsnd: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // The same, parked on a pool thread: a send that waits for room.
  msgsnd_parked: {
    name: "msgsnd",
    parameters: ["i32", "buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
  msgrcv: { parameters: ["i32", "buffer", "u32", "i64", "i32"], result: "i32" },
  // The same, parked on a pool thread: a receive that waits for a message.
  msgrcv_parked: {
    name: "msgrcv",
    parameters: ["i32", "buffer", "u32", "i64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // int msgctl(int msqid, int cmd, struct msqid_ds *buf);
  msgctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
} as const;
