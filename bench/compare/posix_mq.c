/*
 * C baseline of bench/compare/posix_mq.ts: a 64 B ping-pong over two POSIX
 * message queues between a C parent and a C child (fork), with blocking
 * mq_send/mq_receive, so the ratios compare like with like.
 *
 *   posix_mq pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * Both queues are unlinked as soon as both processes hold them open, so none
 * is left behind whatever happens. A zero-length message ends the child.
 * Error exits, the clock, placement and the command line are common.h's.
 */
#include "common.h"

#include <fcntl.h>
#include <mqueue.h>

static void send_all(mqd_t q, const char *buf, size_t n) {
  while (mq_send(q, buf, n, 0) < 0) {
    if (errno != EINTR) die("mq_send");
  }
}

static ssize_t receive(mqd_t q, char *buf, size_t room) {
  for (;;) {
    ssize_t r = mq_receive(q, buf, room, NULL);
    if (r >= 0) return r;
    if (errno != EINTR) die("mq_receive");
  }
}

static mqd_t create(const char *name, size_t size) {
  struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = (long)size};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
  if (q < 0) die("mq_open");
  return q;
}

static void pingpong(struct rounds *r, size_t size, int child_cpu) {
  char down_name[64], up_name[64];
  snprintf(down_name, sizeof down_name, "/libc-ipc-bench-c-%d-down", (int)getpid());
  snprintf(up_name, sizeof up_name, "/libc-ipc-bench-c-%d-up", (int)getpid());
  mqd_t down = create(down_name, size);
  mqd_t up = create(up_name, size);
  /* Both processes hold the descriptors across fork: the names can go now. */
  mq_unlink(down_name);
  mq_unlink(up_name);
  char *buf = calloc(1, size);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    for (;;) {
      ssize_t n = receive(down, buf, size);
      if (n == 0) _exit(0);
      send_all(up, buf, (size_t)n);
    }
  }
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    send_all(down, buf, size);
    if (receive(up, buf, size) != (ssize_t)size) fail("posix_mq: short echo");
  }
  tick(r, r->warmup + r->rounds);
  send_all(down, buf, 0);
  reap(pid);
  mq_close(down);
  mq_close(up);
  free(buf);
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, "pingpong", pingpong)) return 0;
  fprintf(stderr, "usage: posix_mq pingpong ROUNDS WARMUP SIZE [CHILD_CPU]\n");
  return 2;
}
