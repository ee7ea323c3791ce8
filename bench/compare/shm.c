/*
 * C baselines of bench/compare/shm.ts: shared memory and the ways to wait on
 * it, with a C parent and a C child (fork) on memory both map
 * (MAP_SHARED | MAP_ANONYMOUS).
 *
 *   shm pingpong ROUNDS WARMUP SIZE [CHILD_CPU]     futex ping-pong
 *   shm sysv ROUNDS WARMUP SIZE [CHILD_CPU]         System V semaphore ping-pong
 *   shm posix ROUNDS WARMUP SIZE [CHILD_CPU]        POSIX semaphore ping-pong
 *                                                   -> the ns of each of ROUNDS round trips
 *   shm copy ROUNDS WARMUP SIZE [CHILD_CPU]         SIZE bytes written by the parent and read
 *                                                   by the child per round -> elapsed ns
 *
 * A ping-pong hands one turn word (futex) or two semaphores back and forth;
 * SIZE is unused there. Error exits, the clock and placement are common.h's.
 */
#include "common.h"

#include <linux/futex.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/syscall.h>

static void *shared(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

static void futex_wait(int *word, int value) {
  if (syscall(SYS_futex, word, FUTEX_WAIT, value, NULL, NULL, 0) < 0 && errno != EAGAIN &&
      errno != EINTR)
    die("futex wait");
}

static void futex_wake(int *word) {
  if (syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0) < 0) die("futex wake");
}

/* Waits until *word holds `value`. */
static void await_value(int *word, int value) {
  int v;
  while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != value) futex_wait(word, v);
}

static void set_value(int *word, int value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
  futex_wake(word);
}

/* The turn word: odd = the child's turn, even = the parent's. */
static void futex_pingpong(struct rounds *r, size_t size, int child_cpu) {
  (void)size;
  int *turn = shared(4096);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    for (long i = 0; i < r->warmup + r->rounds; i++) {
      await_value(turn, 2 * (int)i + 1);
      set_value(turn, 2 * (int)i + 2);
    }
    _exit(0);
  }
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    set_value(turn, 2 * (int)i + 1);
    await_value(turn, 2 * (int)i + 2);
  }
  tick(r, r->warmup + r->rounds);
  reap(pid);
}

static int semid = -1;

static void remove_set(void) {
  if (semid >= 0) semctl(semid, 0, IPC_RMID);
}

static void sem_add(int set, unsigned short index, short delta) {
  struct sembuf op = {index, delta, 0};
  while (semop(set, &op, 1) < 0) {
    if (errno != EINTR) die("semop");
  }
}

/* Member 0: the child's turn; member 1: the parent's. */
static void sysv_pingpong(struct rounds *r, size_t size, int child_cpu) {
  (void)size;
  on_exit_failure = remove_set;
  semid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (semid < 0) die("semget");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    for (long i = 0; i < r->warmup + r->rounds; i++) {
      sem_add(semid, 0, -1);
      sem_add(semid, 1, 1);
    }
    _exit(0);
  }
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    sem_add(semid, 0, 1);
    sem_add(semid, 1, -1);
  }
  tick(r, r->warmup + r->rounds);
  reap(pid);
  remove_set();
}

static void sem_take(sem_t *s) {
  while (sem_wait(s) < 0) {
    if (errno != EINTR) die("sem_wait");
  }
}

/* Two unnamed process-shared semaphores: the child's turn, the parent's. */
static void posix_pingpong(struct rounds *r, size_t size, int child_cpu) {
  (void)size;
  sem_t *sems = shared(4096);
  if (sem_init(&sems[0], 1, 0) < 0 || sem_init(&sems[1], 1, 0) < 0) die("sem_init");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    for (long i = 0; i < r->warmup + r->rounds; i++) {
      sem_take(&sems[0]);
      if (sem_post(&sems[1]) < 0) die("sem_post");
    }
    _exit(0);
  }
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    if (sem_post(&sems[0]) < 0) die("sem_post");
    sem_take(&sems[1]);
  }
  tick(r, r->warmup + r->rounds);
  reap(pid);
}

/* A page for the turn word, then the data. */
static int64_t copy(long rounds, long warmup, size_t size, int child_cpu) {
  int *turn = shared(4096 + size);
  unsigned char *data = (unsigned char *)turn + 4096;
  unsigned char *buf = malloc(size);
  if (buf == NULL) die("malloc");
  memset(buf, 7, size);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    for (long i = 0; i < warmup + rounds; i++) {
      await_value(turn, 2 * (int)i + 1);
      memcpy(buf, data, size);
      set_value(turn, 2 * (int)i + 2);
    }
    _exit(buf[size - 1] == 7 ? 0 : 1);
  }
  int64_t t0 = 0;
  for (long i = 0; i < warmup + rounds; i++) {
    if (i == warmup) t0 = now_ns();
    memcpy(data, buf, size);
    set_value(turn, 2 * (int)i + 1);
    await_value(turn, 2 * (int)i + 2);
  }
  int64_t elapsed = now_ns() - t0;
  reap(pid);
  return elapsed;
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, "pingpong", futex_pingpong) ||
      pingpong_command(argc, argv, "sysv", sysv_pingpong) ||
      pingpong_command(argc, argv, "posix", posix_pingpong)) {
    return 0;
  } else if (argc >= 5 && strcmp(argv[1], "copy") == 0) {
    int cpu = argc >= 6 ? atoi(argv[5]) : -1;
    printf("%lld\n", (long long)copy(atol(argv[2]), atol(argv[3]), (size_t)atol(argv[4]), cpu));
    return 0;
  }
  fprintf(stderr, "usage: see the comment at the top of shm.c\n");
  return 2;
}
