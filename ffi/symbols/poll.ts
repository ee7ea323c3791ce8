/** Symbols of `<poll.h>`, `<sys/epoll.h>` and `<sys/eventfd.h>`. @module */

export const poll = {
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: { parameters: ["buffer", "u32", "i32"], result: "i32" },
  // The same, parked on a pool thread: with no fds, a turn of the event loop that no fake
  // clock of a test replaces (a timeout lets the runtime idle, and its I/O driver run).
  poll_parked: {
    name: "poll",
    parameters: ["buffer", "u32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // int epoll_create1(int flags);
  epoll_create1: { parameters: ["i32"], result: "i32" },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
  // With timeout 0: what is ready now, when nothing keeps the parked call going.
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  // The same, parked on a pool thread: the one thread that serves every fd wait.
  epoll_wait_parked: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // int eventfd(unsigned int initval, int flags);
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
} as const;
