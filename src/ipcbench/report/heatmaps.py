"""The heatmaps: start methods against fork at one payload size, and machines against the
baseline; ratios the worker-level test does not call are greyed."""

import math

from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ipcbench import benches
from ipcbench.report.plot_kit import label_width, panels
from ipcbench.sizes import format_size
from ipcbench.units import LATENCY

HEATMAP_SIZE_LIMIT = 64 << 10


def pick_heatmap_size(frame) -> int:
    """The largest size of at most 64 KiB with a fork cell (big enough that the transport's
    copying shows, small enough to be measured by every transport), else the smallest size.
    Only the sizes of the heatmap's patterns count, when the file has any."""
    swept = frame[frame["pattern"].isin(benches.message_loops())]
    frame = swept if not swept.empty else frame
    forked = frame[frame["method"] == "fork"]
    sizes = sorted((forked if not forked.empty else frame)["size_bytes"].unique())
    fitting = [s for s in sizes if s <= HEATMAP_SIZE_LIMIT]
    return int(fitting[-1] if fitting else sizes[0])


def method_heatmap(frame, size: int, title: str, grids=None) -> Figure | None:
    """Transport x start method at one size: median time / the same transport's fork time.

    One panel per pattern (significance.method_grids). Ratios the worker-level test does not
    call faster or slower (after correction over the heatmap) are greyed: the colour would
    claim a difference the data cannot back. Transports without a fork cell have no ratio.
    """
    import numpy as np

    from ipcbench.report.significance import CALLED, method_grids

    grids = method_grids(frame, size) if grids is None else grids
    grids = [g for g in grids if len(g.methods) > 1]
    if not grids:
        return None
    rows = max(len(g.transports) for g in grids)
    names = [name for g in grids for name in g.transports]
    figure, axes, colorbar_axes = panels(
        len(grids),
        panel=(2.8, 0.42 * rows),
        left=label_width(names),
        right=1.5,
        top=0.85,
        colorbar=True,
    )
    values = [[np.nan if r is None else r for r in line] for g in grids for line in g.ratios]
    norm = _ratio_norm([v for line in values for v in line])
    for ax, grid in zip(axes, grids, strict=True):
        ratios = np.array([[np.nan if r is None else r for r in line] for line in grid.ratios])
        called = np.array(
            [[v in CALLED or v == "baseline" for v in line] for line in grid.verdicts]
        )
        image = ax.imshow(np.where(called, ratios, np.nan), cmap="RdBu_r", norm=norm, aspect="auto")
        _grey(ax, ratios, called)
        ax.set_xticks(range(len(grid.methods)), grid.methods)
        ax.set_yticks(range(len(grid.transports)), grid.transports)
        for (row, column), value in _cells(ratios):
            colour = "black" if called[row, column] else "dimgrey"
            ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour)
        latency = benches.pattern(grid.pattern).unit.reading == LATENCY
        what = "round trip" if latency else "per message"
        ax.set_title(f"{grid.pattern}: time {what} / fork's", fontsize=10)
    _ratio_colorbar(figure, image, colorbar_axes, "ratio to fork (above 1 = slower)")
    figure.suptitle(
        f"{title} — start-method effect at {format_size(size)} \n"
        "(grey: not significantly different from fork)",
        fontsize=11,
    )
    return figure


def _grey(ax, ratios, called) -> None:
    """Light grey squares under the ratios that are measured but not called."""
    from matplotlib.patches import Rectangle

    for (row, column), _value in _cells(ratios):
        if not called[row, column]:
            ax.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, color="#e4e4e4", linewidth=0))


def machines_heatmap(comparison) -> Figure | None:
    """Cell x machine: each file's median / the baseline's (compare.Comparison), `*` where the
    worker-level verdict is faster or slower after correction, `?` where there are too few
    workers to test; the ratios not called are greyed."""
    import numpy as np

    others = [i for i in range(len(comparison.labels)) if i != comparison.baseline]
    present = {c.key.pattern for c in comparison.cells}
    patterns = [p for p in benches.message_loops() if p in present]
    if not others or not patterns:
        return None
    several_placements = len({c.key.placement for c in comparison.cells}) > 1
    blocks = []
    for pattern in patterns:
        cells = [c for c in comparison.cells if c.key.pattern == pattern]
        names = [
            "/".join(c.name.split("/")[1:] if several_placements else c.name.split("/")[1:4])
            for c in cells
        ]
        values = np.array(
            [[np.nan if c.ratios[i] is None else c.ratios[i] for i in others] for c in cells]
        )
        found = [c.verdicts for c in cells]
        marks = [[_mark(line[i]) for i in others] for line in found]
        called = np.array([[line[i] in ("faster", "slower") for i in others] for line in found])
        blocks.append((pattern, names, values, marks, called))
    rows = max(len(names) for _p, names, _v, _m, _c in blocks)
    figure, axes, colorbar_axes = panels(
        len(blocks),
        panel=(0.9 * len(others) + 0.3, 0.19 * rows),
        left=label_width([n for _p, names, _v, _m, _c in blocks for n in names], fontsize=7),
        right=1.4,
        bottom=0.75,
        colorbar=True,
    )
    norm = _ratio_norm([v for _p, _n, values, _m, _c in blocks for v in values.ravel()])
    base = comparison.labels[comparison.baseline]
    for ax, (pattern, names, values, marks, called) in zip(axes, blocks, strict=True):
        image = ax.imshow(
            np.where(called, values, np.nan),
            cmap="RdBu_r",
            norm=norm,
            aspect="auto",
            interpolation="none",
        )
        _grey(ax, values, called)
        ax.set_xticks(range(len(others)), [comparison.labels[i] for i in others], rotation=20)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        for (row, column), value in _cells(values):
            ax.text(
                column,
                row,
                f"{value:.2f}{marks[row][column]}",
                ha="center",
                va="center",
                fontsize=6.5,
            )
        ax.set_title(f"{pattern}: time / {base}'s", fontsize=10)
    _ratio_colorbar(figure, image, colorbar_axes, f"ratio to {base} (above 1 = slower)")
    figure.suptitle(
        "Across machines (* significant, corrected q < 0.05 and at least 5%; "
        "? too few workers to test; grey: not significant)",
        fontsize=11,
    )
    return figure


def _ratio_colorbar(figure: Figure, image, axes, label: str) -> None:
    """A colour bar with plain ratio ticks (0.5, 1, 2) instead of powers of ten."""
    bar = figure.colorbar(image, cax=axes, label=label)
    low, high = image.norm.vmin, image.norm.vmax
    ticks = [t for t in (0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4) if low <= t <= high]
    bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    bar.ax.minorticks_off()


def _mark(verdict: str | None) -> str:
    return {"slower": "*", "faster": "*", "too few runs": "?"}.get(verdict, "")


def _cells(grid):
    for row, line in enumerate(grid):
        for column, value in enumerate(line):
            if not (isinstance(value, float) and math.isnan(value)):
                yield (row, column), float(value)


def _ratio_norm(values) -> LogNorm:
    """Symmetric on a log scale around 1 (twice as slow and twice as fast get equal colour)."""
    finite = [abs(math.log(v)) for v in values if v and math.isfinite(v) and v > 0]
    spread = max(max(finite, default=0.0), math.log(1.1))
    return LogNorm(vmin=math.exp(-spread), vmax=math.exp(spread))
