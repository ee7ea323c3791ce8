/*
 * C baselines of bench/compare/wait.ts (the waiting engine's figures): the
 * same receivers as wait_child.ts, blocking in the kernel, and the senders
 * that tick at a fixed period. Every kernel object is created and removed by
 * the driver; these programs only use them.
 *
 *   wait tick-sysv QID PERIOD_US COUNT
 *   wait tick-posix NAME PERIOD_US COUNT
 *       Sends COUNT 8-byte messages, one every PERIOD_US (absolute deadlines
 *       on CLOCK_MONOTONIC), then a 1-byte one.
 *   wait recv-sysv QID WARM ACK
 *   wait recv-posix NAME WARM ACK
 *       Acks "ready" (its CLOCK_MONOTONIC time, int64 ns, as a type-1 message on
 *       the System V queue ACK), receives until the 1-byte message -> "cpu_ns wall_ns count":
 *       this process's CPU time and the wall time from message WARM to the end,
 *       and the messages received in that span.
 *
 * Error exits and the clock are common.h's.
 */
#include "common.h"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>

struct stamp {
  long mtype;
  int64_t ns;
};

struct message {
  long mtype;
  char text[64];
};

static int ack_queue = -1;

static void ack(int64_t ns) {
  struct stamp s = {.mtype = 1, .ns = ns};
  while (msgsnd(ack_queue, &s, sizeof s.ns, 0) < 0) {
    if (errno != EINTR) die("msgsnd ack");
  }
}

/* CPU time of this process (every thread), ns. */
static int64_t cpu_ns(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) < 0) die("getrusage");
  return ((int64_t)u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000;
}

static ssize_t sysv_receive(int q, struct message *m) {
  for (;;) {
    ssize_t n = msgrcv(q, m, sizeof m->text, 0, 0);
    if (n >= 0) return n;
    if (errno != EINTR) die("msgrcv");
  }
}

static ssize_t posix_receive(mqd_t q, char *buf, size_t room) {
  for (;;) {
    ssize_t n = mq_receive(q, buf, room, NULL);
    if (n >= 0) return n;
    if (errno != EINTR) die("mq_receive");
  }
}

static mqd_t posix_open(const char *name, int flags) {
  mqd_t q = mq_open(name, flags | O_CLOEXEC);
  if (q < 0) die("mq_open");
  return q;
}

/* Sleeps until `start` + `i` periods. */
static void tick_wait(int64_t start, long i, long period_us) {
  int64_t at = start + (int64_t)i * period_us * 1000;
  struct timespec ts = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

static void tick_sysv(int q, long period_us, long count) {
  struct message m = {.mtype = 1};
  int64_t start = now_ns();
  for (long i = 0; i <= count; i++) {
    tick_wait(start, i + 1, period_us);
    while (msgsnd(q, &m, i < count ? 8 : 1, 0) < 0) {
      if (errno != EINTR) die("msgsnd");
    }
  }
}

static void tick_posix(const char *name, long period_us, long count) {
  mqd_t q = posix_open(name, O_WRONLY);
  char buf[8] = {0};
  int64_t start = now_ns();
  for (long i = 0; i <= count; i++) {
    tick_wait(start, i + 1, period_us);
    while (mq_send(q, buf, i < count ? 8 : 1, 0) < 0) {
      if (errno != EINTR) die("mq_send");
    }
  }
  mq_close(q);
}

/* Counts messages until the 1-byte one; CPU and wall time from message `warm` on. */
static void recv_report(long count, long warm, int64_t cpu0, int64_t wall0) {
  if (count < warm) fail("recv: fewer messages than WARM");
  printf("%lld %lld %ld\n", (long long)(cpu_ns() - cpu0), (long long)(now_ns() - wall0),
         count - warm);
}

static void recv_sysv(int q, long warm) {
  struct message m;
  long count = 0;
  int64_t cpu0 = 0, wall0 = 0;
  ack(now_ns());
  while (sysv_receive(q, &m) != 1) {
    if (++count == warm) cpu0 = cpu_ns(), wall0 = now_ns();
  }
  recv_report(count, warm, cpu0, wall0);
}

static void recv_posix(const char *name, long warm) {
  mqd_t q = posix_open(name, O_RDONLY);
  static char buf[8192];
  long count = 0;
  int64_t cpu0 = 0, wall0 = 0;
  ack(now_ns());
  while (posix_receive(q, buf, sizeof buf) != 1) {
    if (++count == warm) cpu0 = cpu_ns(), wall0 = now_ns();
  }
  mq_close(q);
  recv_report(count, warm, cpu0, wall0);
}

static int is(int argc, char **argv, const char *mode, int args) {
  return argc == args + 2 && strcmp(argv[1], mode) == 0;
}

int main(int argc, char **argv) {
  if (is(argc, argv, "tick-sysv", 3)) {
    tick_sysv(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
  } else if (is(argc, argv, "tick-posix", 3)) {
    tick_posix(argv[2], atol(argv[3]), atol(argv[4]));
  } else if (is(argc, argv, "recv-sysv", 3)) {
    ack_queue = atoi(argv[4]);
    recv_sysv(atoi(argv[2]), atol(argv[3]));
  } else if (is(argc, argv, "recv-posix", 3)) {
    ack_queue = atoi(argv[4]);
    recv_posix(argv[2], atol(argv[3]));
  } else {
    fprintf(stderr, "usage: see the comment at the top of wait.c\n");
    return 2;
  }
  fflush(stdout);
  return 0;
}
