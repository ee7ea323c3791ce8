"""Python row of bench/compare/pipe.ts: what pipe.c does, with os.pipe(),
os.fork() and blocking os.read/os.write.

    pipe.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> elapsed ns of ROUNDS round trips
    pipe.py transfer TOTAL CHUNK [CHILD_CPU]         -> "ns count checksum"

pingpong: SIZE bytes down one pipe, echoed back up another; the parent
closing its end ends the child. transfer: the child says "R" on the result
pipe, reads the data pipe to end of file folding the stamps, and answers
"count checksum"; the time runs from the first write to that answer.
"""

import os

from common import Forked, fold_stamps, main, now_ns, stamp_chunk


def read_full(fd, size):
    """Exactly `size` bytes; None at end of file before the first one."""
    data = os.read(fd, size)
    if not data:
        return None
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            raise EOFError("short read")
        data += more
    return data


def write_all(fd, data):
    n = os.write(fd, data)
    if n < len(data):
        view = memoryview(data)[n:]
        while view:
            view = view[os.write(fd, view) :]


def pingpong(rounds, warmup, size, cpu):
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()

    def echo():
        os.close(down_w)
        os.close(up_r)
        while True:
            data = read_full(down_r, size)
            if data is None:
                return
            write_all(up_w, data)

    with Forked(cpu, echo):
        os.close(down_r)
        os.close(up_w)
        data = bytes(size)
        t0 = now_ns()
        for i in range(warmup + rounds):
            if i == warmup:
                t0 = now_ns()
            write_all(down_w, data)
            data = read_full(up_r, size)
            if data is None:
                raise EOFError("the echo ended early")
        elapsed = now_ns() - t0
        os.close(down_w)  # ends the echo
    return elapsed


def transfer(total, chunk, cpu):
    data_r, data_w = os.pipe()
    res_r, res_w = os.pipe()

    def sink():
        os.close(data_w)
        os.close(res_r)
        write_all(res_w, b"R")
        pos = checksum = 0
        while True:
            buf = os.read(data_r, 65536)
            if not buf:
                break
            checksum = fold_stamps(checksum, buf, len(buf), pos)
            pos += len(buf)
        write_all(res_w, f"{pos} {checksum}".encode())

    with Forked(cpu, sink):
        os.close(data_r)
        os.close(res_w)
        if read_full(res_r, 1) != b"R":
            raise EOFError("the sink ended early")
        buf = bytearray(chunk)
        t0 = now_ns()
        for offset in range(0, total, chunk):
            stamp_chunk(buf, offset)
            write_all(data_w, buf)
        os.close(data_w)
        answer = b""
        while True:
            more = os.read(res_r, 64)
            if not more:
                break
            answer += more
        elapsed = now_ns() - t0
    return f"{elapsed} {answer.decode()}"


if __name__ == "__main__":
    main(
        "pipe.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU] | transfer TOTAL CHUNK [CHILD_CPU]",
        [("pingpong", pingpong, 3), ("transfer", transfer, 2)],
    )
