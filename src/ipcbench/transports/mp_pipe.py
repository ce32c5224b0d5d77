"""`mp_pipe`: multiprocessing.Pipe(duplex=True), a socketpair, with send_bytes/recv_bytes_into."""

from ipcbench.transports.base import ChildEndpoint, Transport, start_serving


class ConnectionEndpoint(ChildEndpoint):
    """Whole messages over a multiprocessing Connection, received into one reused buffer."""

    def __init__(self, connection, capacity: int, process=None) -> None:
        self.connection, self.capacity, self.process = connection, capacity, process
        self._buffer = bytearray(capacity)
        self._view = memoryview(self._buffer)
        self.send = connection.send_bytes
        # Connection.send/recv pickle objects themselves: the object API.
        self.send_object, self.recv_object = connection.send, connection.recv

    def recv(self) -> memoryview:
        return self._view[: self.connection.recv_bytes_into(self._buffer)]

    def close_channel(self) -> None:
        self.connection.close()  # idempotent

    def child_args(self) -> tuple:
        return self.connection, self.capacity


class MpPipe(Transport):
    name = "mp_pipe"
    summary = "multiprocessing.Pipe(duplex=True) (a socketpair), send_bytes/recv_bytes_into"
    receive = "copy"

    def open(self, ctx, capacity, child_cpus):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        parent = ConnectionEndpoint(parent_conn, capacity)
        return start_serving(ctx, parent, ConnectionEndpoint(child_conn, capacity), child_cpus)
