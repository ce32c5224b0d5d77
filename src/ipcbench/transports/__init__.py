"""The transport registry: the built-in adapters, then those of the entry-point group
`ipcbench.transports` (each entry point names a Transport subclass)."""

from ipcbench.transports.base import Transport
from ipcbench.transports.manager_queue import ManagerQueue
from ipcbench.transports.mp_pipe import MpPipe
from ipcbench.transports.mp_pipe_simplex import MpPipeSimplex
from ipcbench.transports.mp_queue import MpQueue
from ipcbench.transports.mp_simple_queue import MpSimpleQueue
from ipcbench.transports.null import Null
from ipcbench.transports.os_pipe import OsPipe
from ipcbench.transports.remote_manager import RemoteManager
from ipcbench.transports.shared_array import SharedArray
from ipcbench.transports.shared_memory import SharedMemoryTransport
from ipcbench.transports.subprocess_pipe import SubprocessPipe
from ipcbench.transports.tcp_loopback import TcpLoopback
from ipcbench.transports.thread_queue import ThreadQueue
from ipcbench.transports.unix_socket import UnixSocket
from ipcbench.transports.zmq_pair import ZmqIpc, ZmqTcp

ENTRY_POINT_GROUP = "ipcbench.transports"
BUILTIN = (
    OsPipe,
    MpPipe,
    MpQueue,
    ManagerQueue,
    SharedArray,
    SubprocessPipe,
    Null,
    # Outside the default matrix (in_default_matrix = False): `-t all` or by name.
    MpPipeSimplex,
    MpSimpleQueue,
    SharedMemoryTransport,
    UnixSocket,
    TcpLoopback,
    RemoteManager,
    ThreadQueue,
    ZmqIpc,
    ZmqTcp,
)


class RegistryError(Exception):
    """A third-party entry point is broken; the message names it."""


class Registry:
    """Transport classes by name, in a stable order: built-ins first, then plug-ins by name."""

    def __init__(self, transports) -> None:
        self._by_name: dict[str, type[Transport]] = {}
        for transport in transports:
            if transport.name in self._by_name:
                raise RegistryError(f"two transports are called {transport.name!r}")
            self._by_name[transport.name] = transport

    def names(self) -> list[str]:
        return list(self._by_name)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> type[Transport]:
        return self._by_name[name]

    def __iter__(self):
        return iter(self._by_name.values())


def load_plugins() -> list[type[Transport]]:
    from importlib.metadata import entry_points

    plugins = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            transport = entry.load()
        except Exception as error:
            raise RegistryError(
                f"transport plug-in {entry.name!r} ({entry.value}) failed to load: {error}"
            ) from error
        if not (isinstance(transport, type) and issubclass(transport, Transport)):
            raise RegistryError(
                f"transport plug-in {entry.name!r} ({entry.value}) is not a Transport subclass"
            )
        plugins.append(transport)
    return plugins


def registry(with_plugins: bool = True) -> Registry:
    return Registry(BUILTIN + tuple(load_plugins() if with_plugins else ()))
