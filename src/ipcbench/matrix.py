"""The benchmark matrix: a selection of axes becomes an ordered list of cells.

The order is part of the contract with pyperf: every worker process rebuilds the same list and
runs the cell at its `--worker-task` index, so it must not depend on anything but the selection.
"""

from dataclasses import dataclass, field

from ipcbench.payloads import KINDS
from ipcbench.sizes import format_size, parse_size

PATTERNS = ("pingpong", "stream")
METHODS = ("fork", "spawn", "forkserver", "exec", "none")
PLACEMENTS = ("split", "same", "free")
DEFAULT_SIZES = (64, 4 << 10, 64 << 10, 1 << 20)


class SelectionError(ValueError):
    """The user's selection is invalid or yields no cell; the message says why."""


@dataclass(frozen=True, order=True)
class Cell:
    """One benchmark: its name joins the axes in a fixed order; new axes are appended.

    An appended axis at its default value is left out of the name, so names written before the
    axis existed (`pingpong/os_pipe/spawn/64KiB/split`) still mean the same cell.
    """

    pattern: str
    transport: str
    method: str
    size: int
    placement: str
    kind: str = "bytes"

    @property
    def name(self) -> str:
        axes = [self.pattern, self.transport, self.method, format_size(self.size), self.placement]
        if self.kind != "bytes":
            axes.append(self.kind)
        return "/".join(axes)

    @classmethod
    def from_name(cls, name: str) -> "Cell":
        parts = name.split("/")
        if len(parts) not in (5, 6):
            raise ValueError(f"not an ipcbench cell name: {name!r}")
        pattern, transport, method, size, placement, *kind = parts
        return cls(pattern, transport, method, parse_size(size), placement, *kind)

    def metadata(self) -> dict[str, str | int]:
        """The cell's axes as separate pyperf metadata keys (see results.py)."""
        return {
            "pattern": self.pattern,
            "transport": self.transport,
            "method": self.method,
            "size_bytes": self.size,
            "placement": self.placement,
            "kind": self.kind,
        }


@dataclass
class Selection:
    """What the user asked for; an empty tuple means "every value that applies"."""

    transports: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    sizes: tuple[int, ...] = DEFAULT_SIZES
    patterns: tuple[str, ...] = PATTERNS
    placements: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("bytes",)
    notes: list[str] = field(default_factory=list)


def default_placements(cpu_count: int) -> tuple[str, ...]:
    # Parent and child on different CPUs is what IPC between two busy processes costs; on a
    # single CPU there is nothing to split.
    return ("split",) if cpu_count >= 2 else ("same",)


def build_cells(selection: Selection, registry, cpu_count: int) -> list[Cell]:
    """Every cell of the selection, in a stable order; notes on what was skipped and why.

    `registry` maps transport names to transport classes (see transports/__init__.py).
    """
    _check_known("pattern", selection.patterns, PATTERNS)
    _check_known("start method", selection.methods, METHODS)
    _check_known("placement", selection.placements, PLACEMENTS)
    _check_known("payload kind", selection.kinds, KINDS)
    names = _transport_names(selection.transports, registry)
    placements = selection.placements or default_placements(cpu_count)
    if cpu_count < 2 and "split" in placements:
        raise SelectionError("placement 'split' needs at least 2 CPUs; this machine has 1")

    cells = []
    for pattern in selection.patterns:
        for name in names:
            transport = registry[name]
            methods = [m for m in (selection.methods or METHODS) if m in transport.methods]
            for method in methods:
                for size in selection.sizes:
                    if transport.max_size is not None and size > transport.max_size:
                        continue
                    for placement in placements:
                        for kind in selection.kinds:
                            cells.append(Cell(pattern, name, method, size, placement, kind))
    selection.notes[:] = _skip_notes(selection, names, registry)
    if not cells:
        raise SelectionError("the selection yields no cell: " + "; ".join(selection.notes))
    return cells


def _transport_names(asked: tuple[str, ...], registry) -> tuple[str, ...]:
    """The transports to run: those asked for, `all`, or by default the default set."""
    if not asked:
        return tuple(t.name for t in registry if t.in_default_matrix and t.available())
    if asked == ("all",):
        return tuple(t.name for t in registry if t.available())
    unknown = [name for name in asked if name not in registry]
    if unknown:
        raise SelectionError(
            f"unknown transport {', '.join(unknown)} (known: {', '.join(registry.names())}, all)"
        )
    for name in asked:
        reason = registry[name].unavailable_reason()
        if reason:
            raise SelectionError(f"transport {name} is unavailable here: {reason}")
    return asked


def _check_known(axis: str, values, known) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise SelectionError(f"unknown {axis} {', '.join(unknown)} (known: {', '.join(known)})")


def _skip_notes(selection: Selection, names, registry) -> list[str]:
    """Say which asked-for combinations do not exist, so a smaller matrix is never a surprise."""
    notes = []
    for name in names:
        transport = registry[name]
        if selection.methods and not set(selection.methods) & set(transport.methods):
            notes.append(f"{name} runs only under {', '.join(transport.methods)}")
        too_big = [s for s in selection.sizes if transport.max_size and s > transport.max_size]
        if too_big:
            notes.append(
                f"{name} holds at most {format_size(transport.max_size)} per message: "
                f"skipped {', '.join(map(format_size, too_big))}"
            )
    return notes
