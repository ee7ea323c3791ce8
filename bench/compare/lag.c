/*
 * C receivers of bench/compare/lag.ts, blocking in the kernel. Descriptors and
 * control page as in lag_common.ts (these numbers repeat its):
 *
 *   lag MECH ROW [ARGS...]
 *
 *   pipe | unix | dgram | tcp   read/recv on fd 5
 *   fifo PATH DIR               open(PATH, O_RDONLY), then read
 *   sysvq ID                    msgrcv of any type
 *   posixq NAME PREFIX          mq_receive
 *   futex                       FUTEX_WAIT on the row's word of the page
 *   sysvsem ID                  semop -1 on member 0
 *   posixsem OFFSET             sem_wait on the sem_t at OFFSET of the page
 *   signal NUMBER               sigwaitinfo, the signal blocked first
 *
 * It acks "ready", then each message's CLOCK_MONOTONIC time, until the
 * command word says MANY: then it makes 100 objects of its own that nothing
 * reaches, waits on them, and acks "ready". The waits: one poll over 100
 * descriptors where the mechanism has them (pipes, FIFOs, POSIX queues,
 * sockets, signalfds), as a C program waits on many descriptors; otherwise
 * 100 threads, each blocked in its call (msgrcv of types 1..100, semop on
 * members 1..100, FUTEX_WAIT, sem_wait). lag.ts ends it.
 *
 * Error exits and the clock are common.h's.
 */
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define PAGE_SIZE 4096
#define COMMAND 0
#define MANY 2
#define FUTEX_BASE 16
#define SEM_SIZE 32
#define WAITS 100

static int *page;
static long row;
static char **args; /* ARGS... */
static char buf[8192];

static void ack(int64_t ns) {
  int64_t record[2] = {row, ns};
  if (write(4, record, sizeof record) != sizeof record) die("write ack");
}

/* ---------------------------------------------------------------- one wait */

static int chan = 5;
static mqd_t queue;
static int seen;
static sigset_t signals;

static void take_read(void) {
  for (;;) {
    ssize_t n = read(chan, buf, sizeof buf);
    if (n > 0) return;
    if (n == 0) fail("lag: end of the channel");
    if (errno != EINTR) die("read");
  }
}

static void take_sysvq(void) {
  struct {
    long mtype;
    char text[64];
  } m;
  while (msgrcv(atoi(args[0]), &m, sizeof m.text, 0, 0) < 0) {
    if (errno != EINTR) die("msgrcv");
  }
}

static void take_posixq(void) {
  while (mq_receive(queue, buf, sizeof buf, NULL) < 0) {
    if (errno != EINTR) die("mq_receive");
  }
}

static void futex_wait(int *word, int value) {
  if (syscall(SYS_futex, word, FUTEX_WAIT, value, NULL, NULL, 0) < 0 && errno != EAGAIN &&
      errno != EINTR)
    die("futex wait");
}

static void take_futex(void) {
  int *word = &page[FUTEX_BASE + row];
  int v;
  while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) == seen) futex_wait(word, v);
  seen = v;
}

static void semop_one(int id, unsigned short member) {
  struct sembuf op = {member, -1, 0};
  while (semop(id, &op, 1) < 0) {
    if (errno != EINTR) die("semop");
  }
}

static void take_sysvsem(void) { semop_one(atoi(args[0]), 0); }

static void sem_take(sem_t *s) {
  while (sem_wait(s) < 0) {
    if (errno != EINTR) die("sem_wait");
  }
}

static void take_posixsem(void) { sem_take((sem_t *)((char *)page + atoi(args[0]))); }

static void take_signal(void) {
  while (sigwaitinfo(&signals, NULL) < 0) {
    if (errno != EINTR) die("sigwaitinfo");
  }
}

/* ---------------------------------------------------------------- many waits */

static void *shared(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

/* One poll over `fds`, for ever: nothing is to arrive. */
static void poll_all(int *fds) {
  struct pollfd p[WAITS];
  for (int i = 0; i < WAITS; i++) p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
  ack(0);
  for (;;) {
    int n = poll(p, WAITS, -1);
    if (n > 0) fail("lag: something arrived at the many waits");
    if (n < 0 && errno != EINTR) die("poll");
  }
}

/* WAITS threads running `wait_on(i)`, for ever. */
static void threads(void *(*wait_on)(void *)) {
  for (long i = 0; i < WAITS; i++) {
    pthread_t t;
    int rc = pthread_create(&t, NULL, wait_on, (void *)i);
    if (rc != 0) {
      errno = rc;
      die("pthread_create");
    }
  }
  ack(0);
  for (;;) pause();
}

static void *msgrcv_type(void *i) {
  struct {
    long mtype;
    char text[64];
  } m;
  /* Each of its own type, as the library's async rows wait. */
  while (msgrcv(atoi(args[0]), &m, sizeof m.text, (long)i + 1, 0) < 0) {
    if (errno != EINTR) die("msgrcv");
  }
  fail("lag: a message came to the many waits");
  return NULL;
}

static int *many_words;
static void *futex_word(void *i) {
  for (;;) futex_wait(&many_words[(long)i], 0);
  return NULL;
}

static void *semop_member(void *i) {
  semop_one(atoi(args[0]), (unsigned short)((long)i + 1));
  fail("lag: a semaphore came to the many waits");
  return NULL;
}

static sem_t *many_sems;
static void *sem_wait_own(void *i) {
  sem_take(&many_sems[(long)i]);
  fail("lag: a semaphore came to the many waits");
  return NULL;
}

/* A TCP connection to `port` of 127.0.0.1, accepted on `listener`: the accepted end. */
static int tcp_pair(int listener, struct sockaddr_in *at, int *client) {
  *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (*client < 0) die("socket");
  if (connect(*client, (struct sockaddr *)at, sizeof *at) < 0) die("connect");
  int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) die("accept4");
  return fd;
}

static void many(const char *mech) {
  int fds[WAITS];
  if (strcmp(mech, "sysvq") == 0) threads(msgrcv_type);
  if (strcmp(mech, "sysvsem") == 0) threads(semop_member);
  if (strcmp(mech, "futex") == 0) {
    many_words = shared(WAITS * sizeof(int));
    threads(futex_word);
  }
  if (strcmp(mech, "posixsem") == 0) {
    many_sems = shared(WAITS * sizeof(sem_t));
    for (int i = 0; i < WAITS; i++) {
      if (sem_init(&many_sems[i], 1, 0) < 0) die("sem_init");
    }
    threads(sem_wait_own);
  }
  int listener = -1;
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (strcmp(mech, "tcp") == 0) {
    socklen_t len = sizeof at;
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&at, sizeof at) < 0 ||
        listen(listener, WAITS) < 0 || getsockname(listener, (struct sockaddr *)&at, &len) < 0)
      die("tcp listener");
  }
  for (int i = 0; i < WAITS; i++) {
    int pair[2];
    char name[256];
    if (strcmp(mech, "pipe") == 0) {
      if (pipe2(pair, O_CLOEXEC) < 0) die("pipe2");
      fds[i] = pair[0];
    } else if (strcmp(mech, "unix") == 0 || strcmp(mech, "dgram") == 0) {
      int type = strcmp(mech, "unix") == 0 ? SOCK_STREAM : SOCK_DGRAM;
      if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pair) < 0) die("socketpair");
      fds[i] = pair[0];
    } else if (strcmp(mech, "tcp") == 0) {
      fds[i] = tcp_pair(listener, &at, &pair[1]);
    } else if (strcmp(mech, "fifo") == 0) {
      snprintf(name, sizeof name, "%s/c-%ld-%d", args[1], row, i);
      if (mkfifo(name, 0600) < 0) die("mkfifo");
      /* Non-blocking: no writer yet; then a writer of its own, so a read would wait. */
      fds[i] = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fds[i] < 0 || open(name, O_WRONLY | O_CLOEXEC) < 0) die("open fifo");
    } else if (strcmp(mech, "posixq") == 0) {
      struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};
      snprintf(name, sizeof name, "%s%d", args[1], i);
      fds[i] = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
      if (fds[i] < 0) die("mq_open");
      mq_unlink(name);
    } else if (strcmp(mech, "signal") == 0) {
      fds[i] = signalfd(-1, &signals, SFD_CLOEXEC);
      if (fds[i] < 0) die("signalfd");
    } else {
      fail("lag: no many waits for this mechanism");
    }
  }
  poll_all(fds);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: see the comment at the top of lag.c");
  const char *mech = argv[1];
  row = atol(argv[2]);
  args = argv + 3;
  page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
  if (page == MAP_FAILED) die("mmap fd 3");
  void (*take)(void) = take_read;
  if (strcmp(mech, "fifo") == 0) {
    chan = open(args[0], O_RDONLY | O_CLOEXEC);
    if (chan < 0) die("open");
  } else if (strcmp(mech, "sysvq") == 0) {
    take = take_sysvq;
  } else if (strcmp(mech, "posixq") == 0) {
    queue = mq_open(args[0], O_RDONLY | O_CLOEXEC);
    if (queue < 0) die("mq_open");
    take = take_posixq;
  } else if (strcmp(mech, "futex") == 0) {
    seen = __atomic_load_n(&page[FUTEX_BASE + row], __ATOMIC_ACQUIRE);
    take = take_futex;
  } else if (strcmp(mech, "sysvsem") == 0) {
    take = take_sysvsem;
  } else if (strcmp(mech, "posixsem") == 0) {
    take = take_posixsem;
  } else if (strcmp(mech, "signal") == 0) {
    sigemptyset(&signals);
    sigaddset(&signals, atoi(args[0]));
    if (sigprocmask(SIG_BLOCK, &signals, NULL) < 0) die("sigprocmask");
    take = take_signal;
  } else if (strcmp(mech, "unix") == 0 || strcmp(mech, "dgram") == 0 || strcmp(mech, "tcp") == 0) {
    /* A socket's description is the one lag.ts made, non-blocking: this read blocks. */
    int flags = fcntl(chan, F_GETFL);
    if (flags < 0 || fcntl(chan, F_SETFL, flags & ~O_NONBLOCK) < 0) die("fcntl");
  } else if (strcmp(mech, "pipe") != 0) {
    fail("usage: see the comment at the top of lag.c");
  }
  ack(0);
  for (;;) {
    take();
    int64_t t = now_ns();
    if (__atomic_load_n(&page[COMMAND], __ATOMIC_ACQUIRE) == MANY) many(mech);
    ack(t);
  }
}
