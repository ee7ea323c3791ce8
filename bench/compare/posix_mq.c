/*
 * C baseline of bench/compare/posix_mq.ts: the same two workloads as the Deno
 * rows over two POSIX message queues (DOWN parent -> child, UP back), between
 * a C parent and a C child (fork), with blocking mq_send/mq_receive, so the
 * ratios compare like with like.
 *
 *   posix_mq pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
 *   posix_mq transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum"
 *
 * transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
 * messages on DOWN (10 at most in the queue); the child says "R" on UP first,
 * counts and checksums every message's bytes (the block stamps of common.ts)
 * and answers "count checksum" on UP; the clock stops when the answer arrives.
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * Both queues are unlinked as soon as both processes hold them open, so none
 * is left behind whatever happens. A zero-length message ends the child.
 * Error exits, the clock, placement and the ping-pong command line are
 * common.h's.
 */
#include "common.h"

#include <fcntl.h>
#include <mqueue.h>

/* The data protocol of common.ts (as stream.h, which is for streams). */
#define BLOCK 4096
static unsigned char stamp(uint64_t i) { return (unsigned char)((i * 131 + 7) & 255); }

/* The room of UP's messages in a transfer: "R", then "count checksum\n". */
#define ANSWER 64

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

/*
 * Creates the queues DOWN (messages of down_size bytes) and UP (up_size) under
 * names of this process, and unlinks both names: both processes hold the
 * descriptors across fork.
 */
static void create_both(mqd_t *down, size_t down_size, mqd_t *up, size_t up_size) {
  char down_name[64], up_name[64];
  snprintf(down_name, sizeof down_name, "/libc-ipc-bench-c-%d-down", (int)getpid());
  snprintf(up_name, sizeof up_name, "/libc-ipc-bench-c-%d-up", (int)getpid());
  *down = create(down_name, down_size);
  *up = create(up_name, up_size);
  mq_unlink(down_name);
  mq_unlink(up_name);
}

static void pingpong(struct rounds *r, size_t size, int child_cpu) {
  mqd_t down, up;
  create_both(&down, size, &up, size);
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

/* The child of a transfer: "R", then the stamps of every message of DOWN folded, the answer. */
static void sink(mqd_t down, mqd_t up, char *buf, size_t chunk) {
  uint64_t pos = 0;
  uint32_t sum = 0;
  send_all(up, "R", 1);
  for (ssize_t n; (n = receive(down, buf, chunk)) > 0;) {
    uint64_t end = pos + (uint64_t)n;
    for (uint64_t o = (pos + BLOCK - 1) / BLOCK * BLOCK; o < end; o += BLOCK) {
      sum = sum * 31 + (unsigned char)buf[o - pos];
    }
    pos = end;
  }
  char line[ANSWER];
  int len = snprintf(line, sizeof line, "%llu %u\n", (unsigned long long)pos, sum);
  send_all(up, line, (size_t)len);
}

static void transfer(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  mqd_t down, up;
  create_both(&down, chunk, &up, ANSWER);
  char *buf = calloc(1, chunk);
  if (buf == NULL) die("calloc");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    sink(down, up, buf, chunk);
    _exit(0);
  }
  char line[ANSWER + 1];
  if (receive(up, line, ANSWER) != 1 || line[0] != 'R') {
    fail("posix_mq: no ready from the child");
  }
  int64_t t0 = 0;
  for (uint64_t off = 0; off < warm + total; off += chunk) {
    if (off == warm) t0 = now_ns();
    for (size_t o = 0; o < chunk; o += BLOCK) buf[o] = (char)stamp((off + o) / BLOCK);
    send_all(down, buf, chunk);
  }
  send_all(down, buf, 0);
  ssize_t n = receive(up, line, ANSWER);
  int64_t elapsed = now_ns() - t0;
  line[n] = 0;
  reap(pid);
  mq_close(down);
  mq_close(up);
  free(buf);
  printf("%lld %s", (long long)elapsed, line);
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, "pingpong", pingpong)) return 0;
  if (transfer_command(argc, argv, "transfer", transfer)) return 0;
  fprintf(stderr,
          "usage: posix_mq pingpong ROUNDS WARMUP SIZE [CHILD_CPU]"
          " | transfer TOTAL CHUNK WARM [CHILD_CPU]\n");
  return 2;
}
