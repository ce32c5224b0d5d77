"""`tcp_loopback`: one TCP connection over 127.0.0.1 with TCP_NODELAY, length-framed.

The parent makes both ends (listen on an ephemeral port, connect, accept) and hands one to the
child, as it would a socketpair: the data path is the same as a child connecting itself, but no
other local process can slip in first, and a child that dies on start cannot leave the parent
waiting in accept().
"""

import socket

from ipcbench.transports.base import Transport
from ipcbench.transports.socket_stream import open_socket_pair


def loopback_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected TCP sockets over 127.0.0.1, Nagle off on both (no 40 ms delayed-ack waits)."""
    with socket.create_server(("127.0.0.1", 0), backlog=1) as listener:
        client = socket.create_connection(listener.getsockname())
        try:
            server, peer = listener.accept()
        except BaseException:
            client.close()
            raise
    if peer != client.getsockname():
        server.close()
        client.close()
        raise ConnectionError(f"tcp_loopback: unexpected peer {peer} connected first")
    for sock in (server, client):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server, client


class TcpLoopback(Transport):
    name = "tcp_loopback"
    summary = "TCP over 127.0.0.1 with TCP_NODELAY, length framing, sendall/recv_into"
    receive = "copy"
    in_default_matrix = False

    def open(self, ctx, capacity, child_cpus):
        parent_sock, child_sock = loopback_pair()
        return open_socket_pair(ctx, capacity, child_cpus, parent_sock, child_sock)
