"""A cell: one benchmark, the key of every table. Its axes, their order and their spelling.

Everywhere a cell is named or compared (result files, the frame, compare, show, the report) it is
this Cell: a name joins the axes in one fixed order, metadata and frame columns use the AXES
names, and files from before an axis existed read as that axis's default.
"""

from dataclasses import astuple, dataclass

from ipcbench.sizes import format_size, parse_size

METHODS = ("fork", "spawn", "forkserver", "exec", "none")
PLACEMENTS = ("split", "same", "free")
# Where a cell's child runs: this host, or a cluster node by its IP address (see peers.py).
LOCAL = "local"
# The metadata keys (and frame columns) of a cell's axes, in the order of the name.
AXES = (
    "pattern",
    "transport",
    "method",
    "size_bytes",
    "placement",
    "kind",
    "procs",
    "chunksize",
    "peer",
)
# Every ipcbench file has these; axes added later are absent from older files: their defaults.
REQUIRED_AXES = AXES[:5]
APPENDED_AXES = {"kind": "bytes", "procs": 1, "chunksize": 1, "peer": LOCAL}


@dataclass(frozen=True, order=True)
class Cell:
    """One benchmark: its name joins the axes in a fixed order; new axes are appended.

    An appended axis at its default value is left out of the name, so names written before the
    axis existed (`pingpong/os_pipe/spawn/64KiB/split`) still mean the same cell. `transport` is
    the transport measured, or the pattern's variant (`pool/map/...`, `startup/process/...`).
    Size 0 means the pattern carries no payload (a counter, a do-nothing process).
    """

    pattern: str
    transport: str
    method: str
    size: int
    placement: str
    kind: str = "bytes"
    procs: int = 1  # processes: fanin producers, pool workers, counter incrementers
    chunksize: int = 1  # pool map/imap
    peer: str = LOCAL  # where the child runs: this host, or a cluster node's address

    @property
    def name(self) -> str:
        axes = [self.pattern, self.transport, self.method, format_size(self.size), self.placement]
        if self.kind != "bytes":
            axes.append(self.kind)
        if self.procs != 1:
            axes.append(f"procs={self.procs}")
        if self.chunksize != 1:
            axes.append(f"chunksize={self.chunksize}")
        if self.peer != LOCAL:
            axes.append(f"peer={self.peer}")
        return "/".join(axes)

    @classmethod
    def from_name(cls, name: str) -> "Cell":
        parts = name.split("/")
        if not 5 <= len(parts) <= 9:
            raise ValueError(f"not an ipcbench cell name: {name!r}")
        pattern, transport, method, size, placement, *extra = parts
        axes = {}
        for part in extra:
            key, equals, value = part.partition("=")
            if not equals:
                axes["kind"] = part
            elif key in ("procs", "chunksize") and value.isdigit() and int(value) >= 1:
                axes[key] = int(value)
            elif key == "peer" and value != LOCAL and parse_peer(value) == value:
                axes[key] = value
            else:
                raise ValueError(f"not an ipcbench cell name: {name!r}")
        size_bytes = 0 if size == "0B" else parse_size(size)
        return cls(pattern, transport, method, size_bytes, placement, **axes)

    def metadata(self) -> dict[str, str | int]:
        """The cell's axes as separate pyperf metadata keys (see results.py), named as AXES."""
        return dict(zip(AXES, astuple(self), strict=True))

    @classmethod
    def from_metadata(cls, axes) -> "Cell":
        """The cell of a benchmark's metadata or a frame row (a mapping with the AXES keys).

        Axes appended later (kind, procs, chunksize) take the default that files from before
        them mean.
        """
        found = {key: _plain(axes[key]) for key in REQUIRED_AXES}
        found.update(
            {key: _plain(axes.get(key, default)) for key, default in APPENDED_AXES.items()}
        )
        return cls(*(found[key] for key in AXES))


def _plain(value):
    """numpy scalars (a frame row's) -> Python ones: cells hash and print alike either way."""
    return value.item() if hasattr(value, "item") else value


def parse_peer(text: str) -> str:
    """A peer as given (`local`, or a node's IP address); ValueError if it is neither."""
    import ipaddress

    if text != LOCAL:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"peer {text!r} is not a node's IP address (nor {LOCAL})") from None
    return text
