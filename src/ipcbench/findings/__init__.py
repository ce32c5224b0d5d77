"""What the cells of the patterns beyond the message loop say: a table and a sentence each.

One module per pattern (findings/<pattern>.py), each with `table(frame)` and `finding(frame)`
over one file's cells (the tidy frame of loader.load_results): a Table of display strings, or a
sentence computed from the figures, or None when the file has no such cells. The report puts
them in the pattern's section; `show` prints the findings that are warnings. pandas only here:
`show` imports this package and must not pay for matplotlib.
"""

import importlib
from dataclasses import dataclass, field

from ipcbench.cell import METHODS
from ipcbench.units import number


def presenter(pattern: str):
    """The findings module of a pattern that has a report section (its declaration says)."""
    return importlib.import_module(f"{__name__}.{pattern}")


@dataclass
class Table:
    """Headers, rows of display strings, the right-aligned (numeric) columns, a class per row."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    right: set[int] = field(default_factory=set)
    classes: list[str] = field(default_factory=list)

    def add(self, cells: list[str], css_class: str = "") -> None:
        self.rows.append(cells)
        self.classes.append(css_class)


def method_order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def cells_of(frame, pattern: str):
    """The pattern's cells at one CPU placement: two placements are two different costs."""
    cells = frame[frame["pattern"] == pattern]
    if cells.empty:
        return cells
    placements = list(cells["placement"])
    placement = "split" if "split" in placements else placements[0]
    return cells[cells["placement"] == placement]


def ratio(value: float) -> str:
    return f"{number(value)}×"


def percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"
