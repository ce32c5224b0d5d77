"""Worker-level verdicts for the report's heatmaps: which ratios are real, which are noise.

Both heatmaps show ratios of medians; each ratio is tested on the workers' medians
(stats.difference), the p-values of one heatmap corrected together (stats.adjust), and a cell
is called only where stats.verdict says faster or slower. The figures grey the rest, and the
page repeats the start-method heatmap as a table whose cells carry the verdict as a CSS class.
"""

from dataclasses import dataclass

from ipcbench import stats
from ipcbench.matrix import METHODS

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
    """The start-method heatmap at one payload size: a grid per pattern (pingpong, stream).

    Transports without a fork cell (exec, none), or with fork alone, have no ratio to show.
    Two placements are two different costs, so each pattern uses one (split where measured).
    """
    cells = frame[frame["size_bytes"] == size]
    grids, tests = [], []
    for pattern in ("pingpong", "stream"):
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
                difference = stats.difference(
                    list(fork["worker_medians"]), list(cell["worker_medians"])
                )
                ratios.append(difference.ratio)
                verdicts.append("baseline" if method == "fork" else None)
                if method != "fork":
                    tests.append((verdicts, len(verdicts) - 1, difference))
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
    """Correct the p-values of one heatmap together and write each verdict in its place."""
    q_values = stats.adjust([difference.p_value for _row, _index, difference in tests])
    for (row, index, difference), q_value in zip(tests, q_values, strict=True):
        row[index] = stats.verdict(difference.ratio, q_value)


def machine_verdicts(frame, comparison) -> dict[tuple, list[str | None]]:
    """Per compared cell, per file: the worker-level verdict against the baseline file,
    corrected over the whole comparison (the cross-machine heatmap's `*`)."""
    from ipcbench.compare import KEY

    labels = comparison.labels
    base_label = labels[comparison.baseline]
    records = {}
    for record in frame.to_dict("records"):
        key = tuple(_plain(record[k]) for k in KEY)
        records[(record["machine"], key)] = record
    found: dict[tuple, list[str | None]] = {}
    tests = []
    for cell in comparison.cells:
        verdicts: list[str | None] = [None] * len(labels)
        base = records.get((base_label, cell.key))
        for index, label in enumerate(labels):
            other = records.get((label, cell.key))
            if base is None or other is None:
                continue
            if index == comparison.baseline:
                verdicts[index] = "baseline"
                continue
            difference = stats.difference(
                list(base["worker_medians"]), list(other["worker_medians"])
            )
            tests.append((verdicts, index, difference))
        found[cell.key] = verdicts
    _settle(tests)
    return found


def _plain(value):
    return value.item() if hasattr(value, "item") else value
