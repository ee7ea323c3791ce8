"""Python row of bench/compare/signal.ts: the round trip of signal.c with
the signal module and os.fork(). Both processes block SIGRTMIN+1 (to the
child) and SIGRTMIN+2 (back) before the fork and take them with
signal.sigtimedwait (the call sigwaitinfo makes, with a deadline so that a
peer that died cannot hang the run). Python has no sigqueue, so a signal
carries no value: each side checks the signal's sender instead of the
round's number. (Named signals.py: a signal.py here would shadow the signal
module.)

    signals.py roundtrip ROUNDS WARMUP [CHILD_CPU]  -> the ns of each of ROUNDS round trips
"""

import os
import signal

from common import Forked, Rounds, main

TIMEOUT_S = 10


def take(signum, sender):
    """Waits for `signum` from process `sender`."""
    info = signal.sigtimedwait({signum}, TIMEOUT_S)
    if info is None:
        raise TimeoutError(f"no signal {signum} in {TIMEOUT_S} s")
    if info.si_pid != sender:
        raise RuntimeError(f"signal {signum} came from {info.si_pid}, not {sender}")


def roundtrip(rounds, warmup, cpu):
    there = signal.SIGRTMIN + 1
    back = signal.SIGRTMIN + 2
    signal.pthread_sigmask(signal.SIG_BLOCK, {there, back})
    parent = os.getpid()

    def echo():
        for _ in range(warmup + rounds):
            take(there, parent)
            os.kill(parent, back)

    with Forked(cpu, echo) as child:
        clock = Rounds(rounds, warmup)
        for i in range(clock.total):
            clock.tick(i)
            os.kill(child.pid, there)
            take(back, child.pid)
        clock.tick(clock.total)
        return clock


if __name__ == "__main__":
    main("signals.py roundtrip ROUNDS WARMUP [CHILD_CPU]", [("roundtrip", roundtrip, 2)])
