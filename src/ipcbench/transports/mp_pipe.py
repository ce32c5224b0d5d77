"""`mp_pipe`: multiprocessing.Pipe(duplex=True), a socketpair, with send_bytes/recv_bytes_into."""

from ipcbench.transports.base import Transport, start_child, stop_process


class ConnectionEndpoint:
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

    def close(self) -> None:
        self.connection.close()
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def __reduce__(self):
        # Only the connection travels to the child (the process handle stays with the parent).
        return ConnectionEndpoint, (self.connection, self.capacity)


class MpPipe(Transport):
    name = "mp_pipe"
    summary = "multiprocessing.Pipe(duplex=True) (a socketpair), send_bytes/recv_bytes_into"
    receive = "copy"

    def open(self, ctx, capacity, child_cpus):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        try:
            process = start_child(ctx, ConnectionEndpoint(child_conn, capacity), child_cpus)
        finally:
            child_conn.close()
        return ConnectionEndpoint(parent_conn, capacity, process)
