"""The benchmark matrix: a selection of axes becomes an ordered list of cells.

The order is part of the contract with pyperf: every worker process rebuilds the same list and
runs the cell at its `--worker-task` index, so it must not depend on anything but the selection.
"""

from dataclasses import dataclass, field

from ipcbench import benches, kind_rules, limits
from ipcbench.benches.spec import Pattern, Variant
from ipcbench.cell import METHODS, PLACEMENTS, Cell
from ipcbench.errors import UsageError, did_you_mean
from ipcbench.payloads import KINDS
from ipcbench.peers import LOCAL, parse_peer, peer_notes, peers_and_methods
from ipcbench.sizes import MAX_SIZE, format_size

DEFAULT_SIZES = (64, 4 << 10, 64 << 10, 1 << 20)
DEFAULT_PROCS = (1, 2, 4)
DEFAULT_CHUNKSIZES = (1, 16)


def default_patterns() -> tuple[str, ...]:
    """What a plain `run` measures."""
    return tuple(pattern.name for pattern in benches.patterns().values() if pattern.default)


class SelectionError(UsageError, ValueError):
    """The user's selection is invalid or yields no cell; the message says why."""


@dataclass
class Selection:
    """What the user asked for; an empty tuple means "every value that applies"."""

    transports: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    sizes: tuple[int, ...] = DEFAULT_SIZES
    patterns: tuple[str, ...] = field(default_factory=default_patterns)
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
    _check_known("pattern", selection.patterns, benches.PATTERNS)
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
        pattern = benches.pattern(pattern_name)
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
    variant = pattern.variant(name)
    if variant is not None:
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
    patterns = [benches.pattern(name) for name in selection.patterns]
    variants = tuple(v.name for p in patterns for v in p.variants)
    known_variants = benches.variants()
    if not any(p.on_transports for p in patterns):
        registry = ()  # no selected pattern measures transports
    if not selection.transports:
        defaults = tuple(t.name for t in registry if t.in_default_matrix and t.available())
        return defaults + variants
    if selection.transports == ("all",):
        return tuple(t.name for t in registry if t.available()) + variants
    unknown = [n for n in selection.transports if n not in registry and n not in known_variants]
    if unknown:
        owners = "/".join(p.name for p in benches.patterns().values() if p.variants)
        raise SelectionError(
            f"unknown transport {', '.join(unknown)}"
            f"{did_you_mean(unknown, [*registry.names(), *known_variants])} (known: "
            f"{', '.join(registry.names())}, all; variants of {owners}: "
            f"{', '.join(known_variants)})"
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
        raise SelectionError(
            f"unknown {axis} {', '.join(unknown)}{did_you_mean(unknown, known)} "
            f"(known: {', '.join(known)})"
        )


def _skip_notes(selection: Selection, names, registry) -> list[str]:
    """Say which asked-for combinations do not exist, so a smaller matrix is never a surprise."""
    notes = []
    patterns = [benches.pattern(name) for name in selection.patterns]
    known_variants = benches.variants()
    transports = [registry[name] for name in names if name in registry]
    variants = [known_variants[name] for name in names if name not in registry]
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
    for pattern in (p for p in patterns if p.on_transports):
        left_out = [t.name for t in transports if pattern.name not in t.patterns]
        if left_out:
            notes.append(f"{pattern.name} does not apply to {', '.join(left_out)}")
        for transport in (t for t in transports if pattern.name in t.patterns):
            limit = transport.size_limit(pattern.name)
            too_big = [
                s for s in selection.sizes if limit and limit < s <= (transport.max_size or s)
            ]
            if too_big:
                notes.append(
                    f"{transport.name} {pattern.size_limit_note} {format_size(limit)}: "
                    f"{pattern.name} skipped {', '.join(map(format_size, too_big))}"
                )
    for variant in variants:
        owner = next(p for p in benches.patterns().values() if variant in p.variants)
        if owner.name not in selection.patterns:
            notes.append(f"{variant.name} is measured by {owner.name}, which is not selected")
    notes.extend(peer_notes(selection, transports))
    notes += kind_rules.notes(
        selection.patterns, selection.kinds, selection.sizes, transports, registry
    )
    return notes
