"""Python row of bench/compare/msg_queue.ts: what msg_queue.c does, with
sysv_ipc.MessageQueue (a third-party module: `pip install sysv_ipc`, or
Debian's python3-sysv-ipc) and os.fork(): blocking send/receive on one
private queue, type 1 parent -> child, type 2 back; an empty type-1
message ends the child. The queue is removed whatever happens, short of
SIGKILL.

    msg_queue.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
"""

import sys

from common import Forked, Rounds, main

DOWN = 1
UP = 2


def pingpong(rounds, warmup, size, cpu):
    try:
        import sysv_ipc
    except ImportError:
        sys.exit("msg_queue.py: the sysv_ipc module is not installed")
    queue = sysv_ipc.MessageQueue(
        sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX, mode=0o600, max_message_size=size
    )

    def echo():
        while True:
            data, _ = queue.receive(type=DOWN)
            if not data:
                return
            queue.send(data, type=UP)

    try:
        with Forked(cpu, echo):
            data = bytes(size)
            clock = Rounds(rounds, warmup)
            for i in range(clock.total):
                clock.tick(i)
                queue.send(data, type=DOWN)
                data, _ = queue.receive(type=UP)
                if len(data) != size:
                    raise RuntimeError(f"short echo: {len(data)} bytes")
            clock.tick(clock.total)
            queue.send(b"", type=DOWN)  # ends the echo
    finally:
        queue.remove()
    return clock


if __name__ == "__main__":
    main("msg_queue.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]", [("pingpong", pingpong, 3)])
