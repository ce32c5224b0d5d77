"""The report page: result files in, one self-contained HTML page out (jinja2 template,
embedded PNGs).

Everything the page shows is in the file: figures as base64 data URIs, styles and the table
sorter inline. It fetches nothing, so it opens the same from a laptop, a CI artifact or a mail.
Its parts: the answer (answer.py), payload kinds (kinds.py), the figures (figures.py, drawn
by sweeps.py, heatmaps.py, pattern_plots.py), the pattern sections (sections.py).
"""

import datetime
from dataclasses import replace
from pathlib import Path

from ipcbench import benches
from ipcbench.cell import Cell
from ipcbench.comparison import compare, machine_facts
from ipcbench.conditions import noise_warning
from ipcbench.loader import Inputs, cell_order
from ipcbench.report import answer, significance
from ipcbench.report.figures import CHARTS, Drawing, Plot, command, plot
from ipcbench.report.kinds import kind_columns, kind_rows, kinds_as_transports, peers_as_transports
from ipcbench.report.sections import headlines, pattern_sections
from ipcbench.sizes import format_size
from ipcbench.units import missing

TEMPLATES = Path(__file__).parent / "templates"


def render_report(inputs: Inputs, heatmap_size: int | None = None, command_paths=None) -> str:
    """The whole page as a string; `command_paths` are the paths as the user typed them."""
    import jinja2

    from ipcbench.report.plot_kit import transport_colours

    command_paths = [str(p) for p in (command_paths or inputs.paths)]
    inputs = peers_as_transports(inputs)
    kinds = kind_rows(inputs)
    # Before the kinds become labels: the answer ranks within one kind, in-process cells apart.
    answers = answer.answer_rows(inputs.frame, inputs.labels)
    inputs = kinds_as_transports(inputs)
    comparison = compare(inputs) if len(inputs.paths) > 1 else None
    colours = transport_colours(inputs.frame["transport"])
    present = set(inputs.frame["pattern"])
    declared = [pattern for name, pattern in benches.patterns().items() if name in present]
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html")
    return template.render(
        generated=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        command=command(["report", *command_paths]),
        machines=_machines(inputs, command_paths),
        comparison=comparison,
        answers=answers,
        kinds=kinds,
        kind_columns=kind_columns(inputs.frame),
        several=len(inputs.paths) > 1,
        popular=answer.POPULAR,
        in_process=answer.IN_PROCESS_TRANSPORTS,
        plots=_plots(inputs, heatmap_size, command_paths, comparison, colours),
        sections=pattern_sections(inputs, command_paths, colours),
        headlines=headlines(inputs),
        table=table_rows(inputs),
        axes=[
            axis
            for axis in ("procs", "chunksize")
            if (inputs.frame[axis] != 1).any()
            or any(_axis_applies(declared, axis) for declared in _subjects(inputs.frame))
        ],
        patterns=declared,
        failed=[
            (label, name, reason)
            for label, result in zip(inputs.labels, inputs.results, strict=True)
            for name, reason in result.failed.items()
        ],
    )


def _subjects(frame) -> set[tuple[str, str]]:
    return set(zip(frame["pattern"], frame["transport"], strict=True))


def _axis_applies(subject: tuple[str, str], axis: str) -> bool:
    pattern, transport = subject
    declared = benches.pattern_or_plain(pattern)
    return (
        declared.procs_apply(transport)
        if axis == "procs"
        else (declared.chunksize_applies(transport))
    )


def _machines(inputs: Inputs, command_paths: list[str]) -> list[dict]:
    """Facts plus each run's settings, in the order of the files."""
    machines = []
    for facts, result, path in zip(
        machine_facts(inputs), inputs.results, command_paths, strict=True
    ):
        argv = result.settings.get("argv")
        machines.append(
            {
                **facts,
                "file": path,
                "profile": result.settings.get("profile", "?"),
                "run_command": command(argv) if isinstance(argv, list) else None,
                "cells": len(result.benchmarks),
                "failed": len(result.failed),
                "not_run": len([n for n in result.missing() if n not in result.failed]),
                "notes": result.notes,
                "noise": noise_warning(result.conditions),
            }
        )
    return machines


def table_rows(inputs: Inputs) -> list[dict]:
    """The full table: every cell of every file, figures in spelled-out units."""
    frame = inputs.frame
    rows = []
    for row in frame.itertuples():
        rows.append(
            {
                "machine": row.machine,
                "pattern": row.pattern,
                "transport": row.transport,
                "method": row.method,
                "size": row.size,
                "size_bytes": int(row.size_bytes),
                "placement": row.placement,
                "median_us": row.median * 1e6,
                "ci_low_us": None if missing(row.ci_low) else row.ci_low * 1e6,
                "ci_high_us": None if missing(row.ci_high) else row.ci_high * 1e6,
                "workers": int(row.workers),
                "unstable": row.unstable,
                "mad_us": row.mad * 1e6,
                "p5_us": row.p5 * 1e6,
                "p95_us": row.p95 * 1e6,
                "procs": int(row.procs),
                "chunksize": int(row.chunksize),
                "per_second": row.per_second,
                "throughput": None if missing(row.throughput_MBps) else row.throughput_MBps,
                "cpu_us": None if missing(row.cpu_us_per_message) else row.cpu_us_per_message,
                "n": int(row.n),
                "key": (
                    inputs.labels.index(row.machine),
                    # Placement aside: a cell's placements stay together in the table.
                    cell_order(replace(Cell.from_metadata(row._asdict()), placement="")),
                ),
            }
        )
    return sorted(rows, key=lambda r: r["key"])


def _plots(inputs: Inputs, heatmap_size, command_paths, comparison, colours) -> list[Plot]:
    """The figures after the answer: each file's, then the one across files."""
    from ipcbench.report.heatmaps import pick_heatmap_size

    found = []
    charts = [chart for chart in CHARTS.values() if not chart.in_section]
    for label, path in zip(inputs.labels, command_paths, strict=True):
        cells = inputs.frame[inputs.frame["machine"] == label]
        suffix = f" — {label}" if len(inputs.labels) > 1 else ""
        for chart in (chart for chart in charts if not chart.across_files):
            drawing = Drawing(colours, chart.title + suffix)
            page = {}
            if chart.name == "methods":
                size = heatmap_size if heatmap_size is not None else pick_heatmap_size(cells)
                grids = significance.method_grids(cells, size)
                drawing = Drawing(colours, chart.title + suffix, size=size, grids=grids)
                page = {
                    "title": f"Start-method effect at {format_size(size)}{suffix}",
                    "options": ["--heatmap-size", format_size(size)],
                    "tables": [significance.grid_table(g) for g in grids if len(g.methods) > 1],
                }
            drawn = plot(chart, cells, drawing, label, [path], **page)
            if drawn is not None:
                found.append(drawn)
    if comparison is not None:
        base = comparison.labels[comparison.baseline]
        for chart in (chart for chart in charts if chart.across_files):
            drawing = Drawing(colours, chart.title, comparison=comparison)
            drawn = plot(
                chart,
                inputs.frame,
                drawing,
                base,
                command_paths,
                anchor="across-machines",
                output="machines.png",
                title=f"Across machines, relative to {base}",
                caption=chart.caption.format(base=base),
            )
            if drawn is not None:
                found.append(drawn)
    return found
