"""The benchmark matrix: a selection of axes becomes an ordered list of cells.

The order is part of the contract with pyperf: every worker process rebuilds the same list and
runs the cell at its `--worker-task` index, so it must not depend on anything but the selection.
"""

from dataclasses import dataclass, field

from ipcbench import kind_rules, limits
from ipcbench.payloads import KINDS
from ipcbench.peers import LOCAL, parse_peer, peer_notes, peers_and_methods
from ipcbench.sizes import MAX_SIZE, format_size, parse_size
from ipcbench.transports.base import MP_METHODS

METHODS = ("fork", "spawn", "forkserver", "exec", "none")
PLACEMENTS = ("split", "same", "free")
DEFAULT_SIZES = (64, 4 << 10, 64 << 10, 1 << 20)
DEFAULT_PROCS = (1, 2, 4)
DEFAULT_CHUNKSIZES = (1, 16)


@dataclass(frozen=True)
class Variant:
    """Something a pattern measures that is not a transport: a Pool call, a counter's guard."""

    name: str
    summary: str
    methods: tuple[str, ...] = MP_METHODS
    sized: bool = True  # whether the payload size axis applies
    chunked: bool = False  # whether the chunksize axis applies
    # Whether the procs axis applies to this variant even where its pattern has none
    # (startup of a Pool of P workers).
    multi_process: bool = False


@dataclass(frozen=True)
class Pattern:
    name: str
    summary: str
    on_transports: bool = True  # measures the transports that list it in `Transport.patterns`
    variants: tuple[Variant, ...] = ()
    multi_process: bool = False  # whether the procs axis applies
    # startup: the first message's size hardly matters; one cell per transport, not one per size.
    smallest_size_only: bool = False
    # What it times depends on the worker process itself (forking copies the worker's memory;
    # a first start pays for imports), so each of its cells runs in a worker of its own, never
    # after other cells in a batch (see worker.py).
    fresh_worker: bool = False


PATTERN_SPECS = {
    p.name: p
    for p in (
        Pattern("pingpong", "round-trip latency of one payload"),
        Pattern("stream", "one-way throughput: N payloads, then one ack"),
        Pattern(
            "startup",
            "a channel opened, one round trip, closed; process: start and join a do-nothing one",
            fresh_worker=True,
            variants=(
                Variant(
                    "process",
                    "a process that does nothing: create, start, join",
                    methods=(*MP_METHODS, "exec"),
                    sized=False,
                ),
                Variant(
                    "mp_pool",
                    "multiprocessing.Pool(P): create, first result, close and join",
                    sized=False,
                    multi_process=True,
                ),
                Variant(
                    "executor",
                    "ProcessPoolExecutor(P): create, first result, shutdown(wait=True)",
                    sized=False,
                    multi_process=True,
                ),
            ),
            smallest_size_only=True,
        ),
        Pattern(
            "fanin",
            "P producer processes stream to one consumer over one shared channel",
            multi_process=True,
        ),
        Pattern(
            "pool",
            "multiprocessing.Pool with P workers: per-task time",
            on_transports=False,
            variants=(
                Variant("apply", "apply_async(echo, payload).get(): one task's round trip"),
                Variant("map", "map(echo, payloads, chunksize)", chunked=True),
                Variant("imap", "imap(echo, payloads, chunksize)", chunked=True),
                Variant(
                    "executor_submit",
                    "ProcessPoolExecutor: submit(echo, payload).result(): one task's round trip",
                ),
                Variant(
                    "executor_map",
                    "ProcessPoolExecutor: map(echo, payloads, chunksize=C)",
                    chunked=True,
                ),
            ),
            multi_process=True,
        ),
        Pattern(
            "counter",
            "P processes increment one shared counter: time per increment, lost updates",
            on_transports=False,
            variants=(
                Variant("value_lock", "multiprocessing.Value, `with get_lock()`", sized=False),
                Variant(
                    "manager_lock", "Manager().dict() entry, `with manager.Lock()`", sized=False
                ),
                Variant("unlocked", "multiprocessing.Value without its lock", sized=False),
            ),
            multi_process=True,
        ),
    )
}
PATTERNS = tuple(PATTERN_SPECS)
DEFAULT_PATTERNS = ("pingpong", "stream")
VARIANTS = {v.name: v for p in PATTERN_SPECS.values() for v in p.variants}


class SelectionError(ValueError):
    """The user's selection is invalid or yields no cell; the message says why."""


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
            elif key == "peer" and parse_peer(value) == value and value != LOCAL:
                axes[key] = value
            else:
                raise ValueError(f"not an ipcbench cell name: {name!r}")
        size_bytes = 0 if size == "0B" else parse_size(size)
        return cls(pattern, transport, method, size_bytes, placement, **axes)

    def metadata(self) -> dict[str, str | int]:
        """The cell's axes as separate pyperf metadata keys (see results.py)."""
        return {
            "pattern": self.pattern,
            "transport": self.transport,
            "method": self.method,
            "size_bytes": self.size,
            "placement": self.placement,
            "kind": self.kind,
            "procs": self.procs,
            "chunksize": self.chunksize,
            "peer": self.peer,
        }


@dataclass
class Selection:
    """What the user asked for; an empty tuple means "every value that applies"."""

    transports: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    sizes: tuple[int, ...] = DEFAULT_SIZES
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    placements: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("bytes",)
    procs: tuple[int, ...] = DEFAULT_PROCS
    chunksizes: tuple[int, ...] = DEFAULT_CHUNKSIZES
    peers: tuple[str, ...] = (LOCAL,)
    notes: list[str] = field(default_factory=list)
    max_cells: int = limits.DEFAULT_MAX_CELLS


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
    for peer in selection.peers:
        try:
            parse_peer(peer)
        except ValueError as error:
            raise SelectionError(str(error)) from None
    _check_limits(selection)
    names = _subject_names(selection, registry)
    placements = selection.placements or default_placements(cpu_count)
    if cpu_count < 2 and "split" in placements:
        raise SelectionError("placement 'split' needs at least 2 CPUs; this machine has 1")

    cells = []
    for pattern_name in selection.patterns:
        pattern = PATTERN_SPECS[pattern_name]
        for name in names:
            subject = _subject(pattern, name, registry)
            if subject is None:
                continue
            for peer, method in peers_and_methods(pattern, subject, selection, METHODS):
                for size in _sizes(pattern, subject, selection.sizes):
                    for placement in placements:
                        for kind in kind_rules.carried(
                            pattern_name, subject, size, selection.kinds
                        ):
                            for procs in _procs(pattern, subject, selection.procs):
                                for chunksize in _chunksizes(subject, selection.chunksizes):
                                    if len(cells) == selection.max_cells:
                                        _limit(
                                            limits.check_cell_count,
                                            len(cells) + 1,
                                            selection.max_cells,
                                        )
                                    axes = (size, placement, kind, procs, chunksize, peer)
                                    cells.append(Cell(pattern_name, name, method, *axes))
    selection.notes[:] = _skip_notes(selection, names, registry)
    if not cells:
        raise SelectionError("the selection yields no cell: " + "; ".join(selection.notes))
    _limit(limits.check_memory, cells)
    return cells


def cells_of_names(names: list[str], registry, cpu_count: int, max_cells: int) -> list[Cell]:
    """Cells named in a file (`--resume`), each checked as if it had been selected on the
    command line: it must be one that build_cells plans for its own axes, within every limit."""
    _limit(limits.check_cell_count, len(names), max_cells)
    cells = []
    for name in names:
        try:
            cell = Cell.from_name(name)
            selection = Selection(
                transports=(cell.transport,),
                methods=(cell.method,),
                sizes=(cell.size,) if cell.size else DEFAULT_SIZES[:1],
                patterns=(cell.pattern,),
                placements=(cell.placement,),
                kinds=(cell.kind,),
                procs=(cell.procs,),
                chunksizes=(cell.chunksize,),
                peers=(cell.peer,),
            )
            planned = build_cells(selection, registry, cpu_count)
        except ValueError as error:  # SelectionError, LimitError, a bad name or size
            raise SelectionError(f"planned cell {name!r}: {error}") from None
        if cell not in planned:
            raise SelectionError(f"planned cell {name!r} is not a cell this ipcbench would run")
        cells.append(cell)
    _limit(limits.check_memory, cells)
    return cells


def _check_limits(selection: Selection) -> None:
    for key in ("procs", "chunksizes"):
        for value in getattr(selection, key):
            _limit(limits.check_count, key, value)
    for size in selection.sizes:
        if not 1 <= size <= MAX_SIZE:
            raise SelectionError(f"size {size} is outside 1 B to {format_size(MAX_SIZE)}")


def _limit(check, *args) -> None:
    try:
        check(*args)
    except limits.LimitError as error:
        raise SelectionError(str(error)) from None


def _subject(pattern: Pattern, name: str, registry):
    """The transport class or Variant that `pattern` measures under `name`, or None."""
    for variant in pattern.variants:
        if variant.name == name:
            return variant
    if pattern.on_transports and name in registry:
        transport = registry[name]
        if pattern.name in transport.patterns:
            return transport
    return None


def _sizes(pattern: Pattern, subject, sizes: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(subject, Variant):
        return sizes if subject.sized else (0,)
    limit = subject.size_limit(pattern.name)
    fitting = tuple(size for size in sizes if limit is None or size <= limit)
    if pattern.smallest_size_only and fitting:
        return (min(fitting),)
    return fitting


def _procs(pattern: Pattern, subject, procs: tuple[int, ...]) -> tuple[int, ...]:
    multi_process = pattern.multi_process or getattr(subject, "multi_process", False)
    return procs if multi_process else (1,)


def _chunksizes(subject, chunksizes: tuple[int, ...]) -> tuple[int, ...]:
    return chunksizes if isinstance(subject, Variant) and subject.chunked else (1,)


def _subject_names(selection: Selection, registry) -> tuple[str, ...]:
    """The transports and variants to run: those asked for, `all`, or by default the default set.

    Variants belong to their pattern, so by default every variant of a selected pattern runs.
    """
    variants = tuple(v.name for p in selection.patterns for v in PATTERN_SPECS[p].variants)
    if not any(PATTERN_SPECS[p].on_transports for p in selection.patterns):
        registry = ()  # no selected pattern measures transports
    if not selection.transports:
        defaults = tuple(t.name for t in registry if t.in_default_matrix and t.available())
        return defaults + variants
    if selection.transports == ("all",):
        return tuple(t.name for t in registry if t.available()) + variants
    unknown = [n for n in selection.transports if n not in registry and n not in VARIANTS]
    if unknown:
        raise SelectionError(
            f"unknown transport {', '.join(unknown)} (known: {', '.join(registry.names())}, "
            f"all; variants of startup/pool/counter: {', '.join(VARIANTS)})"
        )
    for name in selection.transports:
        if name in registry:
            reason = registry[name].unavailable_reason()
            if reason:
                raise SelectionError(f"transport {name} is unavailable here: {reason}")
    return selection.transports


def _check_known(axis: str, values, known) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise SelectionError(f"unknown {axis} {', '.join(unknown)} (known: {', '.join(known)})")


def _skip_notes(selection: Selection, names, registry) -> list[str]:
    """Say which asked-for combinations do not exist, so a smaller matrix is never a surprise."""
    notes = []
    transports = [registry[name] for name in names if name in registry]
    variants = [VARIANTS[name] for name in names if name not in registry]
    for subject in transports + variants:
        if selection.methods and not set(selection.methods) & set(subject.methods):
            notes.append(f"{subject.name} runs only under {', '.join(subject.methods)}")
    for transport in transports:
        too_big = [s for s in selection.sizes if transport.max_size and s > transport.max_size]
        if too_big:
            notes.append(
                f"{transport.name} holds at most {format_size(transport.max_size)} per message: "
                f"skipped {', '.join(map(format_size, too_big))}"
            )
    for pattern in selection.patterns:
        if PATTERN_SPECS[pattern].on_transports:
            left_out = [t.name for t in transports if pattern not in t.patterns]
            if left_out:
                notes.append(f"{pattern} does not apply to {', '.join(left_out)}")
    if "fanin" in selection.patterns:
        for transport in transports:
            limit = transport.size_limit("fanin")
            too_big = [
                s for s in selection.sizes if limit and limit < s <= (transport.max_size or s)
            ]
            if "fanin" in transport.patterns and too_big:
                notes.append(
                    f"{transport.name} keeps messages of several writers apart only up to "
                    f"{format_size(limit)}: fanin skipped {', '.join(map(format_size, too_big))}"
                )
    for variant in variants:
        owner = next(p for p in PATTERN_SPECS.values() if variant in p.variants)
        if owner.name not in selection.patterns:
            notes.append(f"{variant.name} is measured by {owner.name}, which is not selected")
    notes.extend(peer_notes(selection, transports))
    notes += kind_rules.notes(
        selection.patterns, selection.kinds, selection.sizes, transports, registry
    )
    return notes
