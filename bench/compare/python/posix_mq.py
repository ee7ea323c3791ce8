"""Python row of bench/compare/posix_mq.ts: what posix_mq.c does, with
posix_ipc.MessageQueue (a third-party module: `pip install posix_ipc`) and
os.fork(): blocking send/receive over two queues, one each way; an empty
message ends the child. Both names are unlinked as soon as the queues are
open (the processes keep them through their descriptors), so none is left
behind whatever happens.

    posix_mq.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
"""

import os
import sys

from common import Forked, Rounds, main


def pingpong(rounds, warmup, size, cpu):
    try:
        import posix_ipc
    except ImportError:
        sys.exit("posix_mq.py: the posix_ipc module is not installed")
    base = f"/libc-ipc-bench-py-{os.getpid()}"
    queues = []
    try:
        for name in (f"{base}-down", f"{base}-up"):
            queues.append(
                posix_ipc.MessageQueue(
                    name, posix_ipc.O_CREX, mode=0o600, max_messages=10, max_message_size=size
                )
            )
    finally:
        for queue in queues:
            queue.unlink()
    down, up = queues

    def echo():
        while True:
            data, _ = down.receive()
            if not data:
                return
            up.send(data)

    try:
        with Forked(cpu, echo):
            data = bytes(size)
            clock = Rounds(rounds, warmup)
            for i in range(clock.total):
                clock.tick(i)
                down.send(data)
                data, _ = up.receive()
                if len(data) != size:
                    raise RuntimeError(f"short echo: {len(data)} bytes")
            clock.tick(clock.total)
            down.send(b"")  # ends the echo
    finally:
        down.close()
        up.close()
    return clock


if __name__ == "__main__":
    main("posix_mq.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]", [("pingpong", pingpong, 3)])
