/*
 * C baseline of bench/compare/posix_mq.ts: a 64 B ping-pong over two POSIX
 * message queues between a C parent and a C child (fork), with blocking
 * mq_send/mq_receive, so the ratios compare like with like.
 *
 *   posix_mq pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> elapsed ns of ROUNDS round trips
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * Both queues are unlinked as soon as both processes hold them open, so none
 * is left behind whatever happens. A zero-length message ends the child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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

/* Places the calling process on one CPU (cpu < 0: leaves it where it is). */
static void place(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static mqd_t create(const char *name, size_t size) {
  struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = (long)size};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
  if (q < 0) die("mq_open");
  return q;
}

static int64_t pingpong(long rounds, long warmup, size_t size, int child_cpu) {
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
  int64_t t0 = 0;
  for (long i = 0; i < warmup + rounds; i++) {
    if (i == warmup) t0 = now_ns();
    send_all(down, buf, size);
    if (receive(up, buf, size) != (ssize_t)size) {
      fprintf(stderr, "posix_mq: short echo\n");
      exit(1);
    }
  }
  int64_t elapsed = now_ns() - t0;
  send_all(down, buf, 0);
  if (waitpid(pid, NULL, 0) < 0) die("waitpid");
  mq_close(down);
  mq_close(up);
  free(buf);
  return elapsed;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "pingpong") == 0) {
    int cpu = argc >= 6 ? atoi(argv[5]) : -1;
    printf("%lld\n", (long long)pingpong(atol(argv[2]), atol(argv[3]), (size_t)atol(argv[4]), cpu));
  } else {
    fprintf(stderr, "usage: posix_mq pingpong ROUNDS WARMUP SIZE [CHILD_CPU]\n");
    return 2;
  }
  return 0;
}
