"""The report's figures, as one registry: a name (`report --figure NAME`), a title, a caption,
the cells it draws and how. The page's figures, its pattern sections and `--figure` all read it.

Importing this module imports no plotting library: the drawing functions import matplotlib
(through the report's plot modules) when they run, so the command line can list the names.
"""

import io
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ipcbench.errors import UsageError
from ipcbench.output import write_atomically


@dataclass(frozen=True)
class Drawing:
    """What a figure is drawn with, besides its cells."""

    colours: dict  # transport -> colour, the same in every figure of a page
    title: str
    size: int | None = None  # the start-method heatmap's payload size
    grids: list | None = None  # its verdicts (significance.method_grids), computed once
    comparison: object = None  # the cross-machine heatmap's comparison.Comparison


@dataclass(frozen=True)
class Chart:
    name: str
    title: str  # drawn at its top (with a file's label on a page of several files)
    caption: str
    draw: object  # draw(cells, Drawing) -> matplotlib Figure, or None without cells for it
    pattern: str | None = None  # the pattern whose cells it draws (None: every cell)
    in_section: bool = False  # drawn in its pattern's section, not among the main figures
    across_files: bool = False  # one figure of every file (else one per file)


@dataclass
class Plot:
    """One figure on the page, with the command that draws it alone."""

    anchor: str
    title: str
    caption: str
    image: str  # data URI
    command: str
    # The figure's numbers as tables where a reader needs them (the start-method heatmap):
    # (title, headers, rows of (text, CSS class) cells).
    tables: list = field(default_factory=list)


def _latency(cells, drawing: Drawing):
    from ipcbench.report.sweeps import size_sweep

    ylabel = "round-trip latency, µs (lower is better)"
    return size_sweep(cells, ylabel, drawing.colours, drawing.title)


def _throughput(cells, drawing: Drawing):
    from ipcbench.report.sweeps import size_sweep

    ylabel = "throughput, MB/s = 10⁶ bytes/s (higher is better)"
    return size_sweep(cells, ylabel, drawing.colours, drawing.title)


def _cpu(cells, drawing: Drawing):
    from ipcbench.report.sweeps import cpu_vs_wall

    return cpu_vs_wall(cells, drawing.colours, drawing.title)


def _methods(cells, drawing: Drawing):
    from ipcbench.report.heatmaps import method_heatmap

    return method_heatmap(cells, drawing.size, drawing.title, grids=drawing.grids)


def _machines(cells, drawing: Drawing):
    from ipcbench.report.heatmaps import machines_heatmap

    return machines_heatmap(drawing.comparison)


def _startup(cells, drawing: Drawing):
    from ipcbench.report.pattern_plots import startup_bars

    return startup_bars(cells, drawing.title)


def _fanin(cells, drawing: Drawing):
    from ipcbench.report.pattern_plots import fanin_scaling

    return fanin_scaling(cells, drawing.colours, drawing.title)


def _pool(cells, drawing: Drawing):
    from ipcbench.report.pattern_plots import pool_sweep

    return pool_sweep(cells, drawing.title)


SIGNIFICANCE = (
    "a t-test on the workers' medians, Benjamini-Hochberg corrected over {what}, q < 0.05 and "
    "at least 5% apart"
)

CHARTS = {
    chart.name: chart
    for chart in (
        Chart(
            "latency",
            "Round-trip latency vs payload size",
            "Median round-trip time (the full payload there and back) in microseconds, one line "
            "per transport, one panel per start method; log-log; the band spans the 5th to 95th "
            "percentile. Lower is better.",
            _latency,
            pattern="pingpong",
        ),
        Chart(
            "throughput",
            "Throughput vs payload size",
            "Payload throughput one way in MB/s (10⁶ bytes per second) at the median time per "
            "message, one line per transport, one panel per start method; log-log; the band "
            "spans the 5th to 95th percentile. Higher is better.",
            _throughput,
            pattern="stream",
        ),
        Chart(
            "cpu",
            "CPU cost per message",
            "CPU time (user + system) of every process doing the work (parent, child and helpers "
            "such as a manager's server) per round trip (pingpong) or per message (stream), read "
            "around each timed value of each worker, against the median wall time. On the "
            "dotted line the processes are together busy exactly as long as the message takes; "
            "far above it, a transport burns CPU that its latency hides. Helpers run on the "
            "child's CPUs.",
            _cpu,
        ),
        Chart(
            "methods",
            "Start methods",
            "Each transport's median time with spawn or forkserver divided by its time with "
            "fork, at one payload size (above 1: slower than fork). Coloured only where the "
            f"difference is significant: {SIGNIFICANCE.format(what='the heatmap')}; grey ratios "
            "are not (or, with one worker per cell, cannot be) told apart from fork. Transports "
            "without fork (exec, none) have no ratio.",
            _methods,
        ),
        Chart(
            "startup",
            "Process start-up per start method",
            "Median time per start method, log scale: a do-nothing process from creation to "
            "join, and each transport's channel from open through one round trip to closed; the "
            "black tick is the first message alone (the part of the bar after open() returned). "
            "Lower is better.",
            _startup,
            pattern="startup",
            in_section=True,
        ),
        Chart(
            "fanin",
            "Fan-in: messages/s vs producers",
            "Messages per second into one consumer from all producers together, against the "
            "number of producer processes, one line per transport (one line style per start "
            "method), one panel per payload size; log-log. A line that rises scales with "
            "writers; a flat or falling one is limited by its reader or a lock. Higher is better.",
            _fanin,
            pattern="fanin",
            in_section=True,
        ),
        Chart(
            "pool",
            "Pool: time per task vs payload size",
            "Median time per task against the payload size (log-log), one line per call: "
            "apply_async().get() one task at a time, map and imap by chunksize; one panel per "
            "start method, one row per number of pool workers. Lower is better.",
            _pool,
            pattern="pool",
            in_section=True,
        ),
        Chart(
            "machines",
            "Across machines",
            "Each cell's median time on each machine divided by {base}'s (above 1: slower). * "
            f"marks a significant difference: {SIGNIFICANCE.format(what='all cells')}; grey "
            "ratios are not significant; ? marks cells with one worker on a side, which cannot "
            "be tested.",
            _machines,
            across_files=True,
        ),
    )
}


def cells_for(chart: Chart, frame):
    return frame if chart.pattern is None else frame[frame["pattern"] == chart.pattern]


def command(args: list[str]) -> str:
    return "python -m ipcbench " + shlex.join(args)


def slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in label).strip("-") or "file"


def plot(
    chart: Chart, cells, drawing: Drawing, label: str, paths: list[str], **page
) -> Plot | None:
    """`chart` drawn for one file (`label`, the path as typed), or None without cells for it.

    `page` overrides the Plot's anchor, title, caption or tables; `options` adds to the command
    that draws it alone, `output` names its file there.
    """
    from ipcbench.report.plot_kit import png_data_uri

    figure = chart.draw(cells_for(chart, cells), drawing)
    if figure is None:
        return None
    anchor = page.pop("anchor", f"{chart.name}-{slug(label)}")
    output = page.pop("output", f"{anchor}.png")
    options = page.pop("options", [])
    return Plot(
        anchor=anchor,
        title=page.pop("title", drawing.title),
        caption=page.pop("caption", chart.caption),
        image=png_data_uri(figure),
        command=command(["report", *paths, "--figure", chart.name, *options, "-o", output]),
        **page,
    )


def write_one(inputs, output: str | None, name: str, size: int | None) -> None:
    """`report --figure NAME -o FILE.png`: the figure exactly as the report draws it."""
    from ipcbench.comparison import compare
    from ipcbench.report.heatmaps import pick_heatmap_size
    from ipcbench.report.plot_kit import DPI, transport_colours

    chart = CHARTS[name]
    target = Path(output)
    colours = transport_colours(inputs.frame["transport"])
    if chart.name == "methods" and size is None:
        size = pick_heatmap_size(inputs.frame)
    comparison = compare(inputs) if chart.across_files else None
    drawing = Drawing(colours, chart.title, size=size, comparison=comparison)
    figure = chart.draw(cells_for(chart, inputs.frame), drawing)
    if figure is None:
        raise UsageError(f"{inputs.paths[0]}: no cells for the {name} figure")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=target.suffix.lower()[1:], dpi=DPI)
    write_atomically(target, buffer.getvalue())
    print(f"ipcbench: {name} figure in {target}", file=sys.stderr)
