"""Worker-level verdicts for the report's heatmaps: which ratios are real, which are noise.

The start-method heatmap shows ratios of medians; each is tested on the workers' medians, all of
one heatmap as one family (stats.decide, as `compare` does for the cross-machine heatmap), and a
cell is called only where the verdict is faster or slower. The figure greys the rest, and the
page repeats the heatmap as a table whose cells carry the verdict as a CSS class.
"""

from dataclasses import dataclass

from ipcbench import benches, stats
from ipcbench.cell import METHODS

CALLED = ("faster", "slower")
# The CSS class (and the figure's treatment) of a ratio by its verdict.
VERDICT_CLASSES = {
    "faster": "faster",
    "slower": "slower",
    "same": "not-significant",
    "too few runs": "untested",
}


@dataclass
class MethodGrid:
    """One pattern's start-method heatmap: transport x method, time / the same transport's
    fork time, and the verdict of each ratio (None where the cell was not measured)."""

    pattern: str
    transports: list[str]
    methods: list[str]
    ratios: list[list[float | None]]
    verdicts: list[list[str | None]]


def method_grids(frame, size: int) -> list[MethodGrid]:
    """The start-method heatmap at one payload size: a grid per message-loop pattern.

    Transports without a fork cell (exec, none), or with fork alone, have no ratio to show.
    Two placements are two different costs, so each pattern uses one (split where measured).
    """
    cells = frame[frame["size_bytes"] == size]
    grids, tests = [], []
    for pattern in benches.message_loops():
        subset = cells[cells["pattern"] == pattern]
        if subset.empty:
            continue
        placements = set(subset["placement"])
        placement = "split" if "split" in placements else subset["placement"].iloc[0]
        subset = subset[subset["placement"] == placement]
        # Each payload kind is a line of its own (`os_pipe [numpy]`), as elsewhere in the report.
        by_cell = {
            (_label(record["transport"], record["kind"]), record["method"]): record
            for record in subset.to_dict("records")
        }
        others = {t for t, m in by_cell if m not in ("fork", "exec", "none")}
        transports = sorted({t for t, m in by_cell if m == "fork"} & others)
        present = {m for _t, m in by_cell}
        methods = [m for m in METHODS if m in present and m not in ("exec", "none")]
        if not transports or methods == ["fork"] or "fork" not in methods:
            continue
        grid = MethodGrid(pattern, transports, methods, [], [])
        for transport in transports:
            fork = by_cell[(transport, "fork")]
            ratios, verdicts = [], []
            for method in methods:
                cell = by_cell.get((transport, method))
                if cell is None:
                    ratios.append(None)
                    verdicts.append(None)
                    continue
                pair = (list(fork["worker_medians"]), list(cell["worker_medians"]))
                ratios.append(stats.ratio(*pair))
                verdicts.append("baseline" if method == "fork" else None)
                if method != "fork":
                    tests.append((verdicts, len(verdicts) - 1, pair))
            grid.ratios.append(ratios)
            grid.verdicts.append(verdicts)
        grids.append(grid)
    _settle(tests)
    return grids


def _label(transport: str, kind: str) -> str:
    if kind == "bytes" or transport.endswith(f"[{kind}]"):  # the report may have labelled it
        return transport
    return f"{transport} [{kind}]"


def _settle(tests) -> None:
    """Test one heatmap's pairs as one family and write each verdict in its place."""
    decisions = stats.decide([pair for _row, _index, pair in tests])
    for (row, index, _pair), decision in zip(tests, decisions, strict=True):
        row[index] = decision.verdict


def grid_table(grid) -> tuple[str, list[str], list[list[tuple[str, str]]]]:
    """A start-method grid as a table: the ratio and its verdict, the verdict as CSS class."""
    rows = []
    for transport, ratios, verdicts in zip(
        grid.transports, grid.ratios, grid.verdicts, strict=True
    ):
        cells = [(transport, "")]
        for method, ratio, verdict in zip(grid.methods, ratios, verdicts, strict=True):
            if method == "fork":
                continue
            if ratio is None:
                cells.append(("—", "num"))
                continue
            label = {"same": "not significant", "too few runs": "untested"}.get(verdict, verdict)
            css = VERDICT_CLASSES.get(verdict, "")
            cells.append((f"{ratio:.2f} ({label})", f"num {css}"))
        rows.append(cells)
    headers = ["transport", *(f"{m} / fork" for m in grid.methods if m != "fork")]
    return (f"{grid.pattern}: time / fork's time", headers, rows)
