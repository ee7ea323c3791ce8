/*
 * C baseline of bench/compare/socket.ts: the same workloads as the Deno rows,
 * with a C parent and a C child (fork) on blocking sockets, so the ratios
 * compare like with like. Both ends of a connection are made before the fork
 * (a socketpair, or a TCP loopback connection connected and accepted by the
 * parent), as the Deno rows make them before handing one end to the child.
 *
 *   socket pingpong ROUNDS WARMUP SIZE [CHILD_CPU]   -> elapsed ns, over a Unix socketpair
 *   socket tcp ROUNDS WARMUP SIZE [CHILD_CPU]        -> elapsed ns, over TCP on 127.0.0.1
 *   socket transfer TOTAL CHUNK WARM [CHILD_CPU]     -> "ns count checksum", over a socketpair
 *
 * transfer sends WARM untimed bytes, then TOTAL timed ones; the child counts
 * and checksums the whole stream (common.ts's block stamps) and sends the
 * result back on the same socket. The parent stays on the CPUs it was started
 * on; CHILD_CPU moves the child.
 */
#include "common.h"
#include "stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void no_delay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("setsockopt");
}

/* Two connected stream sockets: a Unix socketpair, or both ends of a TCP loopback connection. */
static void connected(int tcp, int sv[2]) {
  if (!tcp) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
    return;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(listener, 1) < 0) die("listen");
  if (getsockname(listener, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
  sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sv[0] < 0) die("socket");
  if (connect(sv[0], (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  sv[1] = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (sv[1] < 0) die("accept4");
  close(listener);
  no_delay(sv[0]);
  no_delay(sv[1]);
}

/* Forks a child that runs `role` on sv[1] and exits; the parent keeps sv[0]. */
static pid_t start(int sv[2], int child_cpu, void (*role)(int fd, size_t size), size_t size) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    close(sv[0]);
    role(sv[1], size);
    _exit(0);
  }
  close(sv[1]);
  return pid;
}

static void echo_role(int fd, size_t size) { echo(fd, fd, size); }

static void sink_role(int fd, size_t size) {
  (void)size;
  sink(fd, fd);
}

static int64_t pingpong_over(int tcp, long rounds, long warmup, size_t size, int child_cpu) {
  int sv[2];
  connected(tcp, sv);
  pid_t pid = start(sv, child_cpu, echo_role, size);
  unsigned char *buf = calloc(1, size);
  int64_t t0 = 0;
  for (long i = 0; i < warmup + rounds; i++) {
    if (i == warmup) t0 = now_ns();
    write_full(sv[0], buf, size);
    if (!read_full(sv[0], buf, size)) fail("socket: echo ended early");
  }
  int64_t elapsed = now_ns() - t0;
  close(sv[0]);
  free(buf);
  reap(pid);
  return elapsed;
}

static int64_t pingpong_unix(long rounds, long warmup, size_t size, int child_cpu) {
  return pingpong_over(0, rounds, warmup, size, child_cpu);
}

static void transfer(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  int sv[2];
  connected(0, sv);
  pid_t pid = start(sv, child_cpu, sink_role, 0);
  unsigned char *buf = calloc(1, chunk);
  char line[64];
  if (!read_full(sv[0], (unsigned char *)line, 1)) fail("socket: sink ended early");
  int64_t t0 = 0;
  for (uint64_t off = 0; off < warm + total; off += chunk) {
    if (off == warm) t0 = now_ns();
    for (size_t o = 0; o < chunk; o += BLOCK) buf[o] = stamp((off + o) / BLOCK);
    write_full(sv[0], buf, chunk);
  }
  if (shutdown(sv[0], SHUT_WR) < 0) die("shutdown");
  read_to_end(sv[0], line, sizeof line);
  int64_t elapsed = now_ns() - t0;
  close(sv[0]);
  free(buf);
  reap(pid);
  printf("%lld %s", (long long)elapsed, line);
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, pingpong_unix)) return 0;
  if (argc >= 5 && strcmp(argv[1], "tcp") == 0) {
    size_t size = (size_t)atol(argv[4]);
    if (size == 0) fail("tcp: SIZE must be at least 1");
    int cpu = argc >= 6 ? atoi(argv[5]) : -1;
    printf("%lld\n", (long long)pingpong_over(1, atol(argv[2]), atol(argv[3]), size, cpu));
    return 0;
  }
  if (argc >= 5 && strcmp(argv[1], "transfer") == 0) {
    transfer(strtoull(argv[2], NULL, 10), (size_t)atol(argv[3]), strtoull(argv[4], NULL, 10),
             argc >= 6 ? atoi(argv[5]) : -1);
    return 0;
  }
  fprintf(stderr,
          "usage: socket pingpong|tcp ROUNDS WARMUP SIZE [CHILD_CPU]"
          " | transfer TOTAL CHUNK WARM [CHILD_CPU]\n");
  return 2;
}
