"""Python rows of bench/compare/socket.ts: what socket.c does, with the
socket module and os.fork(). Both ends of a connection are made before the
fork, a socket.socketpair() or a TCP connection on 127.0.0.1 connected and
accepted by the parent, both ends with TCP_NODELAY; blocking sendall and
recv_into.

    sockets.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> elapsed ns, over a Unix socketpair
    sockets.py tcp ROUNDS WARMUP SIZE [CHILD_CPU]       -> elapsed ns, over TCP on 127.0.0.1
    sockets.py transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum", over a socketpair

transfer sends WARM untimed bytes, then TOTAL timed ones; the child says
"R" first, counts and checksums the whole stream and answers on the same
socket. (Named sockets.py: a socket.py here would shadow the socket module.)
"""

import socket

from common import Forked, fold_stamps, main, now_ns, stamp_chunk


def connected(tcp):
    """Two connected stream sockets: a Unix socketpair, or both ends of a TCP connection."""
    if not tcp:
        return socket.socketpair()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        mine = socket.create_connection(listener.getsockname())
        theirs, _ = listener.accept()
    for s in (mine, theirs):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return mine, theirs


def read_full(sock, view):
    """Fills `view`; False at end of stream before its first byte."""
    got = sock.recv_into(view)
    if got == 0:
        return False
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("short read")
        got += n
    return True


def pingpong_over(tcp, rounds, warmup, size, cpu):
    mine, theirs = connected(tcp)

    def echo():
        mine.close()
        view = memoryview(bytearray(size))
        while read_full(theirs, view):
            theirs.sendall(view)

    with mine, Forked(cpu, echo):
        theirs.close()
        view = memoryview(bytearray(size))
        t0 = now_ns()
        for i in range(warmup + rounds):
            if i == warmup:
                t0 = now_ns()
            mine.sendall(view)
            if not read_full(mine, view):
                raise EOFError("the echo ended early")
        elapsed = now_ns() - t0
        mine.close()  # ends the echo
    return elapsed


def pingpong(rounds, warmup, size, cpu):
    return pingpong_over(False, rounds, warmup, size, cpu)


def tcp(rounds, warmup, size, cpu):
    return pingpong_over(True, rounds, warmup, size, cpu)


def transfer(total, chunk, warm, cpu):
    mine, theirs = connected(False)

    def sink():
        mine.close()
        theirs.sendall(b"R")
        buf = bytearray(65536)
        pos = checksum = 0
        while True:
            n = theirs.recv_into(buf)
            if n == 0:
                break
            checksum = fold_stamps(checksum, buf, n, pos)
            pos += n
        theirs.sendall(f"{pos} {checksum}".encode())

    with mine, Forked(cpu, sink):
        theirs.close()
        if mine.recv(1) != b"R":
            raise EOFError("the sink ended early")
        buf = bytearray(chunk)
        t0 = now_ns()
        for offset in range(0, warm + total, chunk):
            if offset == warm:
                t0 = now_ns()
            stamp_chunk(buf, offset)
            mine.sendall(buf)
        mine.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            more = mine.recv(64)
            if not more:
                break
            answer += more
        elapsed = now_ns() - t0
    return f"{elapsed} {answer.decode()}"


if __name__ == "__main__":
    main(
        "sockets.py pingpong|tcp ROUNDS WARMUP SIZE [CHILD_CPU]"
        " | transfer TOTAL CHUNK WARM [CHILD_CPU]",
        [("pingpong", pingpong, 3), ("tcp", tcp, 3), ("transfer", transfer, 3)],
    )
