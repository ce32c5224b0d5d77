"""The transport registry: the built-in adapters, then those of the entry-point group
`ipcbench.transports` (each entry point names a Transport subclass)."""

import importlib

from ipcbench.errors import UsageError
from ipcbench.transports.base import Transport

ENTRY_POINT_GROUP = "ipcbench.transports"
# Module and class of each built-in adapter. Imported only when the registry is built: a spawned
# child unpickling its endpoint imports this package, and must not pay for every adapter's
# imports (the managers alone cost ~30 ms) when it uses one.
BUILTIN_CLASSES = (
    ("os_pipe", "OsPipe"),
    ("mp_pipe", "MpPipe"),
    ("mp_queue", "MpQueue"),
    ("manager_queue", "ManagerQueue"),
    ("shared_array", "SharedArray"),
    ("subprocess_pipe", "SubprocessPipe"),
    ("null", "Null"),
    # Outside the default matrix (in_default_matrix = False): `-t all` or by name.
    ("mp_pipe_simplex", "MpPipeSimplex"),
    ("mp_simple_queue", "MpSimpleQueue"),
    ("shared_memory", "SharedMemoryTransport"),
    ("unix_socket", "UnixSocket"),
    ("tcp", "Tcp"),
    ("remote_manager", "RemoteManager"),
    ("thread_queue", "ThreadQueue"),
    ("zmq_pair", "ZmqIpc"),
    ("zmq_pair", "ZmqTcp"),
    ("mmap_file", "MmapFile"),
    ("fifo", "Fifo"),
    ("posix_mq", "PosixMq"),
    ("faster_fifo", "FasterFifo"),
    ("torch_mp", "TorchMp"),
    # Receive-in-place variants (receive = "view"): labelled, never ranked among the copies.
    ("shared_memory", "SharedMemoryInplace"),
    ("shared_array", "SharedArrayInplace"),
    # Last: a process that opens their channels keeps a private Ray (see ipcbench.cluster).
    ("ray_actor", "RayActor"),
    ("ray_object", "RayObject"),
)


def builtin() -> tuple[type[Transport], ...]:
    return tuple(
        getattr(importlib.import_module(f"{__name__}.{module}"), name)
        for module, name in BUILTIN_CLASSES
    )


class RegistryError(UsageError):
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
    return Registry(builtin() + tuple(load_plugins() if with_plugins else ()))


def find(name: str) -> dict[str, type[Transport]]:
    """`{name: transport}` for a worker, importing as little as possible.

    A worker needs one transport, and a full registry imports every adapter and reads every
    installed package's entry points (tens of ms, paid again by every worker of every cell).
    A built-in adapter lives in the module of its name (an in-place variant beside its transport);
    anything else takes the full registry.
    """
    home = name.removesuffix("_inplace")  # in-place variants live beside their transport
    if home in {module for module, _class_name in BUILTIN_CLASSES}:
        module = importlib.import_module(f"{__name__}.{home}")
        for module_name, class_name in BUILTIN_CLASSES:
            transport = getattr(module, class_name) if module_name == home else None
            if transport is not None and transport.name == name:
                return {name: transport}
    full = registry()
    return {name: full[name]} if name in full else {}
