"""The report's figures: a tidy frame (results.load_results) in, a matplotlib Figure out.

Figures are built with `matplotlib.figure.Figure` directly, never pyplot: no global state and
no display. `savefig` renders them with the Agg canvas (PNG) or the SVG one, anywhere (CI, a
server without X), without switching the backend of a notebook that imports this module.
"""

import base64
import io
import math

from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from ipcbench.cell import METHODS
from ipcbench.sizes import format_size

HEATMAP_SIZE_LIMIT = 64 << 10
DPI = 96


def transport_colours(transports) -> dict[str, str]:
    """One colour per transport, the same in every figure of a report."""
    palette = [f"C{index}" for index in range(10)]
    return {name: palette[i % len(palette)] for i, name in enumerate(sorted(set(transports)))}


def _methods_in(frame) -> list[str]:
    present = set(frame["method"])
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


def size_sweep(frame, pattern: str, colours: dict[str, str], title: str) -> Figure | None:
    """Median vs payload size (log-log), one line per transport, one panel per start method.

    Latency for pingpong (round-trip µs, lower is better), throughput for stream (MB/s, higher
    is better); the shaded band is the 5th-95th percentile of the values.
    """
    cells = frame[frame["pattern"] == pattern]
    if cells.empty:
        return None
    methods = _methods_in(cells)
    figure, axes, _ = _panels(len(methods), panel=(3.2, 2.6), left=0.8, right=1.8, wspace=0.12)
    for ax in axes[1:]:
        ax.sharey(axes[0])
        ax.tick_params(labelleft=False)
    several_placements = cells["placement"].nunique() > 1
    for ax, method in zip(axes, methods, strict=True):
        for (transport, placement), line in cells[cells["method"] == method].groupby(
            ["transport", "placement"]
        ):
            line = line.sort_values("size_bytes")
            x = line["size_bytes"].to_numpy()
            if pattern == "stream":
                y = (line["size_bytes"] / line["median"] / 1e6).to_numpy()
                low = (line["size_bytes"] / line["p95"] / 1e6).to_numpy()
                high = (line["size_bytes"] / line["p5"] / 1e6).to_numpy()
            else:
                y = (line["median"] * 1e6).to_numpy()
                low, high = (line["p5"] * 1e6).to_numpy(), (line["p95"] * 1e6).to_numpy()
            label = f"{transport} ({placement})" if several_placements else transport
            style = "--" if several_placements and placement != "split" else "-"
            ax.plot(x, y, style, marker="o", markersize=3, color=colours[transport], label=label)
            ax.fill_between(x, low, high, color=colours[transport], alpha=0.12, linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"start method: {method}", fontsize=10)
        ax.set_xlabel("payload size")
        sizes = sorted(cells["size_bytes"].unique())
        ax.set_xticks(sizes, [format_size(int(s)) for s in sizes], fontsize=8)
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel(
        "round-trip latency, µs (lower is better)"
        if pattern == "pingpong"
        else "throughput, MB/s = 10⁶ bytes/s (higher is better)"
    )
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    figure.legend(
        [handles[label] for label in labels], labels, loc="upper right", fontsize=9, frameon=False
    )
    figure.suptitle(title, fontsize=11)
    return figure


def cpu_vs_wall(frame, colours: dict[str, str], title: str) -> Figure | None:
    """CPU time per message against wall time per message, a point per cell, a panel per pattern.

    On the dotted line y = x the two processes together are busy for as long as the message
    takes; a transport far above it burns CPU (spinning, extra threads) that its latency hides.
    """
    cells = frame[frame["cpu_us_per_message"].notna()]
    patterns = [p for p in ("pingpong", "stream") if p in set(cells["pattern"])]
    if not patterns:
        return None
    figure, axes, _ = _panels(len(patterns), panel=(3.4, 2.8), left=0.8, right=1.8, wspace=0.7)
    for ax, pattern in zip(axes, patterns, strict=True):
        subset = cells[cells["pattern"] == pattern]
        for transport, points in subset.groupby("transport"):
            ax.scatter(
                points["median"] * 1e6,
                points["cpu_us_per_message"],
                s=12,
                color=colours[transport],
                label=transport,
            )
        low = min(subset["median"].min() * 1e6, subset["cpu_us_per_message"].min())
        high = max(subset["median"].max() * 1e6, subset["cpu_us_per_message"].max())
        ax.plot([low, high], [low, high], ":", color="grey", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(pattern, fontsize=10)
        ax.set_xlabel("wall time per message (µs)")
        ax.set_ylabel("CPU time per message (µs)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", fontsize=9, frameon=False)
    figure.suptitle(title, fontsize=11)
    return figure


# -- the patterns beyond pingpong and stream (see findings.py for their tables) ---------------

# Start methods keep one colour (and fanin one line style) in every figure that shows them.
METHOD_COLOURS = {"fork": "C0", "spawn": "C1", "forkserver": "C2", "exec": "C3", "none": "C7"}
METHOD_STYLES = {"fork": "-", "spawn": "--", "forkserver": ":", "exec": "-."}


def _one_placement(cells):
    """Cells at one CPU placement (split where measured): two placements are two costs."""
    placement = "split" if "split" in set(cells["placement"]) else cells["placement"].iloc[0]
    return cells[cells["placement"] == placement]


def _figure_legend(figure: Figure, axes) -> None:
    """One legend for all panels, each label once, in the order first drawn; in the right
    margin from the panels' top down, clear of the title above."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    right = max(ax.get_position().x1 for ax in axes)
    top = max(ax.get_position().y1 for ax in axes)
    figure.legend(
        list(handles.values()),
        list(handles),
        loc="upper left",
        bbox_to_anchor=(right + 0.1 / figure.get_figwidth(), top),
        fontsize=9,
        frameon=False,
    )


def _short(value: float) -> str:
    """A tick label: `500k`, `1M`, `20`."""
    for factor, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def _legend_width(labels) -> float:
    """Inches for a figure legend of these labels (marker, gap and text at 9 pt)."""
    return 0.7 + _label_width(labels, fontsize=9)


def _plain_log_ticks(ax, text=lambda value: f"{value:g}") -> None:
    """Log-scale y ticks at 1, 2 and 5 per decade, written out (`20`, `500k`), not 2×10¹."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: text(value)))
    ax.yaxis.set_minor_locator(NullLocator())


def startup_bars(frame, title: str) -> Figure | None:
    """Start-up time per start method (bars, log scale): the bare process first, then each
    transport's channel opened, used for one round trip and closed, with a tick at the time of
    the first message alone."""
    from ipcbench.report.findings import BARE_PROCESS

    cells = frame[frame["pattern"] == "startup"]
    if cells.empty:
        return None
    # All None where no cell has a first message (the bare process only): make that NaN.
    cells = _one_placement(cells).astype({"first_message_us": float})
    transports = sorted(set(cells["transport"]) - {BARE_PROCESS})
    subjects = ([BARE_PROCESS] if BARE_PROCESS in set(cells["transport"]) else []) + transports
    methods = _methods_in(cells)
    figure, axes, _ = _panels(
        1,
        panel=(max(3.0, 0.35 + 0.22 * len(methods) * len(subjects)), 2.8),
        left=0.8,
        right=_legend_width([*methods, "first message alone"]),
    )
    ax = axes[0]
    width = 0.8 / len(methods)
    for number, method in enumerate(methods):
        by_subject = cells[cells["method"] == method].groupby("transport")
        medians = by_subject["median"].median()
        firsts = by_subject["first_message_us"].median()
        places = [i for i, subject in enumerate(subjects) if subject in medians]
        x = [i - 0.4 + width * (number + 0.5) for i in places]
        ax.bar(
            x,
            [medians[subjects[i]] * 1e3 for i in places],
            width * 0.9,
            color=METHOD_COLOURS.get(method, "C9"),
            label=method,
        )
        ticks = [(xi, firsts[subjects[i]] / 1e3) for xi, i in zip(x, places, strict=True)]
        ticks = [(xi, ms) for xi, ms in ticks if ms == ms]  # NaN: the bare process has none
        if ticks:
            ax.scatter(
                *zip(*ticks, strict=True),
                marker="_",
                s=(width * 60) ** 2 / 4,
                color="black",
                linewidths=1.5,
                label="first message alone",
                zorder=3,
            )
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    names = ["do-nothing\nprocess" if s == BARE_PROCESS else s for s in subjects]
    ax.set_xticks(range(len(subjects)), names, fontsize=8, rotation=20)
    ax.set_ylabel("ms (lower is better)")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    _figure_legend(figure, axes)
    figure.suptitle(title, fontsize=11)
    return figure


def fanin_scaling(frame, colours: dict[str, str], title: str) -> Figure | None:
    """Messages/s into one consumer vs the number of producers, one line per transport (one
    line style per start method), one panel per payload size."""
    cells = frame[frame["pattern"] == "fanin"]
    if cells.empty:
        return None
    cells = _one_placement(cells)
    sizes = sorted(cells["size_bytes"].unique())
    several_methods = cells["method"].nunique() > 1
    labels = {
        f"{transport} ({method})" if several_methods else transport
        for transport, method in zip(cells["transport"], cells["method"], strict=True)
    }
    figure, axes, _ = _panels(
        len(sizes), panel=(3.0, 2.6), left=0.9, right=_legend_width(labels), wspace=0.3
    )
    for ax in axes[1:]:
        ax.sharey(axes[0])
        ax.tick_params(labelleft=False)
    procs = sorted(cells["procs"].unique())
    for ax, size in zip(axes, sizes, strict=True):
        subset = cells[cells["size_bytes"] == size]
        for (transport, method), line in subset.groupby(["transport", "method"]):
            rates = line.groupby("procs")["per_second"].median()
            ax.plot(
                rates.index,
                rates.to_numpy(),
                METHOD_STYLES.get(method, "-") if several_methods else "-",
                marker="o",
                markersize=3,
                color=colours[transport],
                label=f"{transport} ({method})" if several_methods else transport,
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_log_ticks(ax, _short)
        ax.set_xticks(procs, [str(p) for p in procs])
        ax.minorticks_off()
        ax.set_title(f"payload {format_size(int(size))}", fontsize=10)
        ax.set_xlabel("producer processes")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("messages/s into one consumer\n(higher is better)")
    _figure_legend(figure, axes)
    figure.suptitle(title, fontsize=11)
    return figure


def pool_sweep(frame, title: str) -> Figure | None:
    """Time per task vs payload size (log-log): a line per call (apply; map and imap by
    chunksize), a panel per start method, a row per number of pool workers."""
    from ipcbench.report.findings import pool_lines

    cells = frame[frame["pattern"] == "pool"]
    if cells.empty:
        return None
    cells = _one_placement(cells)
    methods = _methods_in(cells)
    workers = sorted(cells["procs"].unique())
    lines = pool_lines(cells)
    line_colours = {label: f"C{i % 10}" for i, (label, _v, _c) in enumerate(lines)}
    figure, axes, _ = _panels(
        len(methods),
        panel=(3.0, 2.2),
        left=1.05,  # two-line label beside five-digit ticks
        right=_legend_width([label for label, _v, _c in lines]),
        wspace=0.15,
        rows=len(workers),
    )
    for ax in axes[1:]:
        ax.sharey(axes[0])
    sizes = sorted(cells["size_bytes"].unique())
    for number, ax in enumerate(axes):
        procs, method = workers[number // len(methods)], methods[number % len(methods)]
        subset = cells[(cells["procs"] == procs) & (cells["method"] == method)]
        for label, variant, chunksize in lines:
            line = subset[(subset["transport"] == variant) & (subset["chunksize"] == chunksize)]
            line = line.groupby("size_bytes")["median"].median()
            if not line.empty:
                ax.plot(
                    line.index,
                    line.to_numpy() * 1e6,
                    marker="o",
                    markersize=3,
                    color=line_colours[label],
                    label=label,
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xticks(sizes, [format_size(int(s)) for s in sizes], fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"{method}, {procs} worker{'s' if procs > 1 else ''}", fontsize=10)
        if number % len(methods):
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("µs per task\n(lower is better)")
        if number >= len(axes) - len(methods):
            ax.set_xlabel("payload size")
    _figure_legend(figure, axes)
    figure.suptitle(title, fontsize=11)
    return figure


def pick_heatmap_size(frame) -> int:
    """The largest size of at most 64 KiB with a fork cell (big enough that the transport's
    copying shows, small enough to be measured by every transport), else the smallest size.
    Only the sizes of the heatmap's patterns count, when the file has any."""
    swept = frame[frame["pattern"].isin(("pingpong", "stream"))]
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
    figure, axes, colorbar_axes = _panels(
        len(grids),
        panel=(2.8, 0.42 * rows),
        left=_label_width(names),
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
        what = "round trip" if grid.pattern == "pingpong" else "per message"
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
    patterns = [p for p in ("pingpong", "stream") if any(c.key[0] == p for c in comparison.cells)]
    if not others or not patterns:
        return None
    several_placements = len({c.key[4] for c in comparison.cells}) > 1
    panels = []
    for pattern in patterns:
        cells = [c for c in comparison.cells if c.key[0] == pattern]
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
        panels.append((pattern, names, values, marks, called))
    rows = max(len(names) for _p, names, _v, _m, _c in panels)
    figure, axes, colorbar_axes = _panels(
        len(panels),
        panel=(0.9 * len(others) + 0.3, 0.19 * rows),
        left=_label_width([n for _p, names, _v, _m, _c in panels for n in names], fontsize=7),
        right=1.4,
        bottom=0.75,
        colorbar=True,
    )
    norm = _ratio_norm([v for _p, _n, values, _m, _c in panels for v in values.ravel()])
    base = comparison.labels[comparison.baseline]
    for ax, (pattern, names, values, marks, called) in zip(axes, panels, strict=True):
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


def _panels(
    count: int,
    panel: tuple[float, float],
    left: float,
    right: float,
    wspace: float | None = None,
    bottom: float = 0.65,
    top: float = 0.6,
    colorbar: bool = False,
    rows: int = 1,
):
    """`rows` rows of `count` axes with margins fixed in inches (the axes listed row by row),
    and the colour bar's axes if asked.

    matplotlib's constrained layout measures every tick label again and again; with a dozen
    figures per report that was most of the report's time. Fixed margins sized from the longest
    label are good enough for these few, regular figures.
    """
    panel_width, panel_height = panel
    panel_height = max(panel_height, 1.0)
    gap = left if wspace is None else wspace  # each panel carries its own row labels
    row_gap = 0.75  # room for the x labels and the next row's panel titles
    width = left + count * panel_width + (count - 1) * gap + right
    height = bottom + rows * panel_height + (rows - 1) * row_gap + top
    figure = Figure(figsize=(width, height), dpi=DPI)
    axes = figure.subplots(
        rows,
        count,
        squeeze=False,
        gridspec_kw={
            "left": left / width,
            "right": 1 - right / width,
            "bottom": bottom / height,
            "top": 1 - top / height,
            "wspace": gap / panel_width,
            "hspace": row_gap / panel_height,
        },
    ).ravel()
    colorbar_axes = None
    if colorbar:
        colorbar_axes = figure.add_axes(
            (1 - (right - 0.25) / width, bottom / height, 0.18 / width, 1 - (bottom + top) / height)
        )
    return figure, list(axes), colorbar_axes


def _label_width(labels, fontsize: float = 10) -> float:
    """Inches taken by the longest tick label (a rough average glyph width is plenty)."""
    longest = max((len(str(label)) for label in labels), default=4)
    return 0.25 + longest * fontsize * 0.6 / 72


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


def png_data_uri(figure: Figure) -> str:
    """The figure as a `data:image/png;base64,...` URI, so the HTML needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(figure)).decode("ascii")


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # zlib's fastest level: a fifth of the encoding time for a page about 8% larger, which
    # keeps a report of three full files within its 10 s.
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
