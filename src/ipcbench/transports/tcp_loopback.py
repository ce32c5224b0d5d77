"""`tcp_loopback`: one TCP connection over 127.0.0.1 with TCP_NODELAY, length-framed.

The parent makes both ends (listen on an ephemeral port, connect, accept) and hands one to the
child, as it would a socketpair: the data path is the same as a child connecting itself, and a
child that dies on start cannot leave the parent waiting in accept(). Another local process can
still connect to the port in between: a connection is kept only if its peer address is the
parent's own connecting socket (the kernel reports it; it cannot be forged from another socket
on the machine while ours holds that port); others are closed unread.
"""

import socket

from ipcbench.transports.base import Transport
from ipcbench.transports.socket_stream import open_socket_pair

# Foreign connections closed before giving up: a port scan must not fail the cell, a flood may.
MAX_STRANGERS = 16
ACCEPT_TIMEOUT = 10.0


def loopback_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected TCP sockets over 127.0.0.1, Nagle off on both (no 40 ms delayed-ack waits)."""
    with socket.create_server(("127.0.0.1", 0), backlog=MAX_STRANGERS) as listener:
        return connect_pair(listener)


def connect_pair(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    """Connect to `listener` and accept that very connection, closing any other peer's."""
    listener.settimeout(ACCEPT_TIMEOUT)
    client = socket.create_connection(listener.getsockname())
    try:
        server = _accept_own(listener, client.getsockname())
    except BaseException:
        client.close()
        raise
    for sock in (server, client):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server, client


def _accept_own(listener: socket.socket, own: tuple) -> socket.socket:
    for _ in range(MAX_STRANGERS + 1):
        server, peer = listener.accept()
        if peer == own:
            server.settimeout(None)
            return server
        server.close()  # not ours: nothing it sent is read
    raise ConnectionError(
        f"tcp_loopback: {MAX_STRANGERS} other local connections came first; "
        "is something flooding 127.0.0.1?"
    )


class TcpLoopback(Transport):
    name = "tcp_loopback"
    summary = "TCP over 127.0.0.1 with TCP_NODELAY, length framing, sendall/recv_into"
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        parent_sock, child_sock = loopback_pair()
        return open_socket_pair(ctx, capacity, child_cpus, parent_sock, child_sock)
