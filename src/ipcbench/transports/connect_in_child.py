"""The child-side endpoint of a channel that only the child itself can open.

A zmq socket or a manager connection can be neither inherited through fork nor pickled for spawn:
the child must connect by address once it runs. Under fork no hook runs in the child before
`child.serve` does (the endpoint object is simply there), so the connection is made on first use
of the endpoint's calls; only the connecting function and its arguments travel to the child.
"""

# The calls child.serve looks up; the object ones and fixed_calls (unframed messages of a known
# size) exist only where the real endpoint has them, and then the parent's side uses them too.
# send_frames/recv_frames likewise (transports/frames.py builds them on send/recv otherwise).
CALLS = ("send", "recv", "send_object", "recv_object", "fixed_calls", "send_frames", "recv_frames")


class ConnectInChild:
    def __init__(self, connect, *args) -> None:
        self._connect, self._args = connect, args  # connect: a module-level function (picklable)
        self._endpoint = None

    def __getattr__(self, name):
        # Called only for attributes not set yet, i.e. each call's first lookup.
        if name not in CALLS:
            raise AttributeError(name)
        if self._endpoint is None:
            self._endpoint = self._connect(*self._args)
        call = getattr(self._endpoint, name)
        setattr(self, name, call)  # later lookups skip __getattr__
        return call

    def close(self) -> None:
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:
            endpoint.close()
