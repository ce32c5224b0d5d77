"""The patterns: one module per pattern, each ending in its declaration (spec.Pattern).

The registry below is the one list of them, in display order. `pattern(name)` imports only
that pattern's module (a worker times one cell); `patterns()` imports them all (the matrix,
`list`, the analysis). `open_bench` is a lookup: the cell's pattern names the bench of its
transport or variant.
"""

import importlib

from ipcbench.benches.spec import Pattern
from ipcbench.units import TIME, Unit

# The patterns in display order; each lives in the module of its name.
PATTERNS = ("pingpong", "stream", "startup", "fanin", "pool", "counter")


def pattern(name: str):
    """The declaration (spec.Pattern) of pattern `name`; KeyError for an unknown one."""
    if name not in PATTERNS:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}").PATTERN


def pattern_or_plain(name: str) -> Pattern:
    """pattern(name), or for a name this ipcbench does not know (a result file from a newer
    one) a plain declaration: its values read as times in µs, and nothing more is claimed."""
    if name in PATTERNS:
        return pattern(name)
    return Pattern(name, name, Unit("µs", TIME, 1e6), "µs per operation", "one operation")


def patterns() -> dict:
    """Every pattern's declaration, by name, in display order."""
    return {name: pattern(name) for name in PATTERNS}


def message_loops() -> tuple[str, ...]:
    """The patterns timed by a channel's message loop: payload kinds apply, CPU time per message
    is measured, and the size sweeps and the heatmaps show them."""
    return tuple(name for name, each in patterns().items() if each.message_loop)


def variants() -> dict:
    """Every pattern's variants (things measured that are not transports), by name."""
    return {variant.name: variant for each in patterns().values() for variant in each.variants}


def open_bench(cell, transports=None):
    """The bench that runs `cell` (not yet entered). `transports` maps names to transport
    classes (the registry, or a worker's one transport); None: found here."""
    declared = pattern(cell.pattern)
    variant = declared.variant(cell.transport)
    if variant is not None:
        return variant.bench(cell)
    if transports is None:
        from ipcbench.transports import find

        transports = find(cell.transport)
    return declared.bench(cell, transports[cell.transport])
