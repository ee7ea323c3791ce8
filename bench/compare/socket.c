/*
 * C baseline of bench/compare/socket.ts and datagram.ts: the same workloads
 * as the Deno rows, with a C parent and a C child (fork) on blocking sockets,
 * so the ratios compare like with like. Both ends of a connection are made
 * before the fork (a socketpair, or a TCP loopback connection connected and
 * accepted by the parent), as the Deno rows make them before handing one end
 * to the child.
 *
 *   socket pingpong ROUNDS WARMUP SIZE [CHILD_CPU]   over a Unix stream socketpair
 *   socket tcp ROUNDS WARMUP SIZE [CHILD_CPU]        over TCP on 127.0.0.1
 *   socket dgram ROUNDS WARMUP SIZE [CHILD_CPU]      over a Unix datagram socketpair
 *                                                    -> the ns of each of ROUNDS round trips
 *   socket transfer TOTAL CHUNK WARM [CHILD_CPU]     over a Unix stream socketpair
 *   socket tcp-transfer TOTAL CHUNK WARM [CHILD_CPU] over TCP on 127.0.0.1
 *   socket dgram-transfer TOTAL CHUNK WARM [CHILD_CPU]  over a Unix datagram socketpair
 *                                                    -> "ns count checksum"
 *
 * transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
 * writes (datagrams: one datagram each, CHUNK at most 64 KiB); the child
 * counts and checksums the whole stream (common.ts's block stamps) and sends
 * the result back on the same socket. A datagram socket has no end of
 * stream: an empty datagram stands for it. The parent stays on the CPUs it
 * was started on; CHILD_CPU moves the child.
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

enum kind { UNIX_STREAM, TCP, UNIX_DGRAM };

/* The largest datagram the sink reads whole (stream.h's buffer). */
#define MAX_DGRAM 65536

/* Two connected sockets: a Unix socketpair, or both ends of a TCP loopback connection. */
static void connected(enum kind kind, int sv[2]) {
  if (kind != TCP) {
    int type = kind == UNIX_DGRAM ? SOCK_DGRAM : SOCK_STREAM;
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
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

/* Ends what the peer reads: end of stream, or an empty datagram. */
static void end_stream(enum kind kind, int fd) {
  if (kind == UNIX_DGRAM) {
    while (send(fd, NULL, 0, 0) < 0) {
      if (errno != EINTR) die("send");
    }
  } else if (shutdown(fd, SHUT_WR) < 0) {
    die("shutdown");
  }
}

static void pingpong_over(enum kind kind, struct rounds *r, size_t size, int child_cpu) {
  int sv[2];
  connected(kind, sv);
  pid_t pid = start(sv, child_cpu, echo_role, size);
  unsigned char *buf = calloc(1, size);
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    write_full(sv[0], buf, size);
    if (!read_full(sv[0], buf, size)) fail("socket: echo ended early");
  }
  tick(r, r->warmup + r->rounds);
  end_stream(kind, sv[0]);
  close(sv[0]);
  free(buf);
  reap(pid);
}

static void pingpong_unix(struct rounds *r, size_t size, int child_cpu) {
  pingpong_over(UNIX_STREAM, r, size, child_cpu);
}

static void pingpong_tcp(struct rounds *r, size_t size, int child_cpu) {
  pingpong_over(TCP, r, size, child_cpu);
}

static void pingpong_dgram(struct rounds *r, size_t size, int child_cpu) {
  pingpong_over(UNIX_DGRAM, r, size, child_cpu);
}

static void transfer(enum kind kind, uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  if (kind == UNIX_DGRAM && chunk > MAX_DGRAM) fail("dgram-transfer: CHUNK must be at most 65536");
  int sv[2];
  connected(kind, sv);
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
  end_stream(kind, sv[0]);
  if (kind == UNIX_DGRAM) {
    /* The answer is one datagram. */
    ssize_t n;
    while ((n = read(sv[0], line, sizeof line - 1)) < 0) {
      if (errno != EINTR) die("read");
    }
    line[n] = 0;
  } else {
    read_to_end(sv[0], line, sizeof line);
  }
  int64_t elapsed = now_ns() - t0;
  close(sv[0]);
  free(buf);
  reap(pid);
  printf("%lld %s", (long long)elapsed, line);
}

/* Runs `transfer` over `kind` if argv asks for command `name`; returns whether it did. */
static void transfer_unix(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  transfer(UNIX_STREAM, total, chunk, warm, child_cpu);
}

static void transfer_tcp(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  transfer(TCP, total, chunk, warm, child_cpu);
}

static void transfer_dgram(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  transfer(UNIX_DGRAM, total, chunk, warm, child_cpu);
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, "pingpong", pingpong_unix) ||
      pingpong_command(argc, argv, "tcp", pingpong_tcp) ||
      pingpong_command(argc, argv, "dgram", pingpong_dgram)) {
    return 0;
  }
  if (transfer_command(argc, argv, "transfer", transfer_unix) ||
      transfer_command(argc, argv, "tcp-transfer", transfer_tcp) ||
      transfer_command(argc, argv, "dgram-transfer", transfer_dgram)) {
    return 0;
  }
  fprintf(stderr,
          "usage: socket pingpong|tcp|dgram ROUNDS WARMUP SIZE [CHILD_CPU]"
          " | transfer|tcp-transfer|dgram-transfer TOTAL CHUNK WARM [CHILD_CPU]\n");
  return 2;
}
