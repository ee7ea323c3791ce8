"""Python rows of bench/compare/shm.ts: the semaphore ping-pongs and the
shared-memory throughput of shm.c, with os.fork(). Pure Python has no futex,
so shm.c's futex ping-pong has no counterpart here.

    shm.py sysv ROUNDS WARMUP SIZE [CHILD_CPU]   System V semaphore ping-pong
    shm.py posix ROUNDS WARMUP SIZE [CHILD_CPU]  POSIX semaphore ping-pong
                                                 -> the ns of each of ROUNDS round trips
    shm.py copy ROUNDS WARMUP SIZE [CHILD_CPU]   SIZE bytes written by the parent and read
                                                 by the child per round -> elapsed ns

sysv: two sysv_ipc.Semaphore (a third-party module: `pip install sysv_ipc`,
or Debian's python3-sysv-ipc), each a private set of one, where shm.c uses
one set of two: the same semop per turn. Both sets are removed whatever
happens, short of SIGKILL.

posix and copy: multiprocessing's Semaphore of the "fork" context is a
process-shared sem_t made by sem_open and unlinked at once (nothing is left
in /dev/shm); acquire() is sem_trywait then sem_wait, release() is
sem_post, as shm.c's sem_wait/sem_post on two unnamed semaphores. copy
writes into and reads from an anonymous shared mmap (MAP_SHARED, as shm.c),
memoryview slice assignments (memcpy), and hands the turn over by those
semaphores where shm.c uses a futex word. SIZE is unused by the ping-pongs.
"""

import contextlib
import mmap
import multiprocessing
import sys

from common import Forked, Rounds, main, now_ns


def turns(rounds, warmup, cpu, theirs, mine):
    """The ping-pong: the parent releases `theirs` and takes `mine`, the child the other way."""

    def echo():
        for _ in range(warmup + rounds):
            theirs.acquire()
            mine.release()

    with Forked(cpu, echo):
        clock = Rounds(rounds, warmup)
        for i in range(clock.total):
            clock.tick(i)
            theirs.release()
            mine.acquire()
        clock.tick(clock.total)
        return clock


def sysv(rounds, warmup, size, cpu):
    try:
        import sysv_ipc
    except ImportError:
        sys.exit("shm.py: the sysv_ipc module is not installed")
    with contextlib.ExitStack() as stack:
        sems = []
        for _ in range(2):
            sem = sysv_ipc.Semaphore(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX, 0o600, 0)
            stack.callback(sem.remove)
            sems.append(sem)
        return turns(rounds, warmup, cpu, *sems)


def semaphores():
    fork = multiprocessing.get_context("fork")
    return fork.Semaphore(0), fork.Semaphore(0)


def posix(rounds, warmup, size, cpu):
    return turns(rounds, warmup, cpu, *semaphores())


def copy(rounds, warmup, size, cpu):
    go, back = semaphores()
    with mmap.mmap(-1, size) as shared, memoryview(shared) as data:
        src = bytes([7]) * size

        def reader():
            out = memoryview(bytearray(size))  # a memoryview slice assignment is one memcpy
            for _ in range(warmup + rounds):
                go.acquire()
                out[:] = data
                back.release()
            if out[-1] != 7:
                raise RuntimeError("the copy lost its data")

        with Forked(cpu, reader):
            t0 = now_ns()
            for i in range(warmup + rounds):
                if i == warmup:
                    t0 = now_ns()
                data[:] = src
                go.release()
                back.acquire()
            return now_ns() - t0


if __name__ == "__main__":
    main(
        "shm.py sysv|posix|copy ROUNDS WARMUP SIZE [CHILD_CPU]",
        [("sysv", sysv, 3), ("posix", posix, 3), ("copy", copy, 3)],
    )
