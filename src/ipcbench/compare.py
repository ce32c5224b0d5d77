"""Compare result files cell by cell: ratios to a baseline, significance, regressions.

Cells are aligned by (pattern, transport, method, size, placement, kind, procs, chunksize,
peer); files from before the procs, chunksize and peer axes load with 1, 1 and local, so they
align with the cells of newer files at those values. The ratio is always `time / baseline time`
on the medians (pyperf stores seconds per round trip, message, task, process or increment), so
a ratio above 1 is slower for every pattern, rates included. CPU time per message (pingpong,
stream) is shown beside each median but takes no part in the ratio or the test.

Significance is decided where the noise is (see stats.py): on worker medians, not raw values
(values inside one worker agree far better than workers minutes apart do), with a t-test on
their logarithms whose spread is shrunk toward the typical spread of all cells, the p-values
corrected across every test of the comparison (Benjamini-Hochberg), and no difference smaller
than the minimum effect ever called.

`report` reuses `load_inputs` and `compare` so both commands agree on every number.
"""

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ipcbench import conditions, machine, stats
from ipcbench.errors import UsageError
from ipcbench.machine import Machine
from ipcbench.results import ResultFile, ResultFileError, frame_of, load
from ipcbench.stats import ALPHA, DEFAULT_MIN_EFFECT, MIN_WORKERS
from ipcbench.tables import cell_sort_key, format_figure, missing, render

KEY = (
    "pattern",
    "transport",
    "method",
    "size_bytes",
    "placement",
    "kind",
    "procs",
    "chunksize",
    "peer",
)
FORMATS = ("text", "md", "csv", "json")

# Machine facts in the order shown; the ones that can explain different timings get a warning.
FACTS = (
    ("name", "machine"),
    ("fingerprint", "fingerprint"),
    ("cpu", "CPU"),
    ("cpu_count", "cores"),
    ("memory", "memory"),
    ("kernel", "kernel"),
    ("python", "Python"),
    ("python_implementation", "implementation"),
    ("ipcbench_version", "ipcbench"),
)
EXPLAINING_FACTS = ("cpu", "cpu_count", "kernel", "python", "python_implementation")


@dataclass
class Inputs:
    """Loaded result files, each with a short unique label, plus their cells as one frame."""

    paths: list[Path]
    labels: list[str]
    results: list[ResultFile]
    frame: object  # pandas.DataFrame from results.load_results, with `machine` = the label
    machines: list[Machine] = field(default_factory=list)  # who measured each file


def load_inputs(paths) -> Inputs:
    """Load and check every file first, so a bad file fails the command before any output."""
    paths = [Path(p) for p in paths]
    results = [load(path) for path in paths]
    for path, result in zip(paths, results, strict=True):
        if not result.benchmarks:
            why = f"all {len(result.failed)} cells failed" if result.failed else "empty list"
            raise ResultFileError(f"{path}: holds no results ({why}: no benchmark to read)")
    import pandas as pd  # only now: a bad file should fail fast

    machines = [machine.of_result(result) for result in results]
    labels = machine.labels(machines, paths)
    frames = []
    for path, result, label in zip(paths, results, labels, strict=True):
        frame = frame_of([(path, result)])
        frame["machine"] = label
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return Inputs(paths, labels, results, frame, machines)


def machine_facts(inputs: Inputs) -> list[dict]:
    """Per file: label, path, its machine's name, fingerprint and facts (machine.py), and the
    host name and ipcbench version of its first cell."""
    facts = []
    for label, path, who in zip(inputs.labels, inputs.paths, inputs.machines, strict=True):
        first = inputs.frame[inputs.frame["machine"] == label].iloc[0]
        entry = {
            "label": label,
            "file": str(path),
            "name": who.name,
            "fingerprint": who.fingerprint,
            "cpu": who.facts["cpu_model_name"],
            "cpu_count": who.facts["cpu_count"],
            "memory": machine.memory_text(who.facts),
            "kernel": who.facts["platform"],
            "python": who.facts["python_version"],
            "python_implementation": who.facts["python_implementation"],
            "python_compiler": who.facts["python_compiler"],
        }
        for column in ("hostname", "ipcbench_version"):
            value = first[column]
            entry[column] = None if missing(value) else _plain(value)
        facts.append(entry)
    return facts


def fact_warnings(facts: list[dict]) -> list[str]:
    """One line per fact that differs between files and can explain different timings."""
    warnings = []
    for column, title in FACTS:
        if column not in EXPLAINING_FACTS and column != "ipcbench_version":
            continue
        values = {f["label"]: f[column] for f in facts}
        if len(set(map(str, values.values()))) > 1:
            listed = ", ".join(f"{label}: {value}" for label, value in values.items())
            warnings.append(f"different {title} ({listed}): timings may differ for that reason")
    return warnings


@dataclass
class CellComparison:
    """One cell across files; per-file lists hold None where the file lacks the cell."""

    key: tuple
    medians: list = field(default_factory=list)  # median of worker medians, seconds
    workers: list = field(default_factory=list)  # worker processes behind each median
    ratios: list = field(default_factory=list)  # median / baseline median
    ratio_lows: list = field(default_factory=list)  # 95% interval of the ratio (None: no test)
    ratio_highs: list = field(default_factory=list)
    p_values: list = field(default_factory=list)  # t-test on log worker medians, uncorrected
    q_values: list = field(default_factory=list)  # p corrected across the whole comparison
    verdicts: list = field(default_factory=list)  # "baseline", stats.VERDICTS, None
    cpu_us: list = field(default_factory=list)  # CPU µs per message; None: not measured
    unstable: list = field(default_factory=list)  # why a file's figure is shaky, '' if not
    # (baseline worker medians, this file's) per file; None for the baseline and absent files
    pairs: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return _cell_name(self.key)


@dataclass
class Comparison:
    labels: list[str]
    baseline: int
    facts: list[dict]
    warnings: list[str]
    cells: list[CellComparison]  # cells in the baseline and at least one other file
    partial: list[tuple[str, list[str]]]  # (cell name, labels holding it), not in every file
    failed: list[tuple[str, str, str]]  # (label, cell name, reason) as recorded by `run`
    geomeans: dict[str, list]  # transport (and "all") -> geometric mean ratio per file
    regressions: list[tuple[str, str, float, float]] = field(default_factory=list)
    threshold_pct: float | None = None
    min_effect: float = DEFAULT_MIN_EFFECT


def compare(
    inputs: Inputs,
    baseline: int = 0,
    fail_above_pct: float | None = None,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> Comparison:
    """Align every file's cells with the baseline file's and test each difference."""
    frame = inputs.frame
    labels = inputs.labels
    by_file = [
        {
            tuple(_plain(row[k]) for k in KEY): row
            # records, not iterrows: a dict per row is several times cheaper than a Series
            for row in frame[frame["machine"] == label].to_dict("records")
        }
        for label in labels
    ]
    all_keys = sorted(set().union(*by_file), key=cell_sort_key)
    reference = by_file[baseline]
    cells, partial = [], []
    for key in all_keys:
        holders = [label for label, rows in zip(labels, by_file, strict=True) if key in rows]
        if len(holders) < len(labels):
            partial.append((_cell_name(key), holders))
        if key not in reference or len(holders) < 2:
            continue
        base = reference[key]
        cell = CellComparison(key)
        for index, rows in enumerate(by_file):
            row = rows.get(key)
            _add_file(cell, row, base, is_baseline=index == baseline)
        cells.append(cell)
    _decide(cells, min_effect)

    facts = machine_facts(inputs)
    result = Comparison(
        labels=labels,
        baseline=baseline,
        facts=facts,
        warnings=machine.difference_lines(inputs.machines, labels)
        + fact_warnings(facts)
        + condition_warnings(inputs),
        cells=cells,
        partial=partial,
        failed=[
            (label, name, reason)
            for label, result in zip(labels, inputs.results, strict=True)
            for name, reason in result.failed.items()
        ],
        geomeans=_geomeans(cells, len(labels)),
        min_effect=min_effect,
    )
    if fail_above_pct is not None:
        result.threshold_pct = fail_above_pct
        limit = 1 + fail_above_pct / 100
        result.regressions = [
            (labels[index], cell.name, cell.ratios[index], cell.q_values[index])
            for cell in cells
            for index, verdict in enumerate(cell.verdicts)
            if verdict == "slower" and cell.ratios[index] > limit
        ]
    return result


def _add_file(cell: CellComparison, row, base, is_baseline: bool) -> None:
    """One file's column of a cell: its figure, and its test against the baseline's."""
    if row is None:
        for column in (
            cell.medians, cell.workers, cell.ratios, cell.ratio_lows, cell.ratio_highs,
            cell.p_values, cell.q_values, cell.verdicts, cell.cpu_us, cell.unstable, cell.pairs,
        ):  # fmt: skip
            column.append(None)
        return
    cpu = row["cpu_us_per_message"]
    cell.cpu_us.append(None if missing(cpu) else float(cpu))
    cell.medians.append(float(row["median"]))
    cell.workers.append(len(row["worker_medians"]))
    cell.unstable.append(row["unstable"] or "")
    cell.q_values.append(None)
    if is_baseline:
        cell.pairs.append(None)
        cell.ratios.append(1.0)
        cell.ratio_lows.append(None)
        cell.ratio_highs.append(None)
        cell.p_values.append(None)
        cell.verdicts.append("baseline")
        return
    # Tested once every cell's spread is known (see _decide): keep the worker medians.
    cell.pairs.append((list(base["worker_medians"]), list(row["worker_medians"])))
    cell.ratios.append(None)
    cell.ratio_lows.append(None)
    cell.ratio_highs.append(None)
    cell.p_values.append(None)
    cell.verdicts.append(None)


def _decide(cells: list[CellComparison], min_effect: float) -> None:
    """Test every cell of every file as one family (stats.decide), then fill in the columns."""
    places = [(cell, index) for cell in cells for index, pair in enumerate(cell.pairs) if pair]
    decisions = stats.decide([cell.pairs[index] for cell, index in places], min_effect)
    for (cell, index), decision in zip(places, decisions, strict=True):
        cell.ratios[index] = decision.difference.ratio
        cell.ratio_lows[index] = decision.difference.low
        cell.ratio_highs[index] = decision.difference.high
        cell.p_values[index] = decision.difference.p_value
        cell.q_values[index] = decision.q_value
        cell.verdicts[index] = decision.verdict


def condition_warnings(inputs: Inputs) -> list[str]:
    """Files measured on a busy machine, and files whose machines were busy to different degrees."""
    lines = []
    for label, result in zip(inputs.labels, inputs.results, strict=True):
        lines += conditions.warnings(result.conditions, label)
    for key, unit, limit in (("load", "CPUs busy", 0.25), ("steal_pct", "% stolen", 5.0)):
        known = {
            label: result.conditions[key]
            for label, result in zip(inputs.labels, inputs.results, strict=True)
            if key in result.conditions
        }
        if len(known) >= 2 and max(known.values()) - min(known.values()) > limit:
            listed = ", ".join(f"{label}: {value:.2f}" for label, value in known.items())
            lines.append(
                f"the machines were not equally quiet ({listed} {unit}): "
                f"differences may come from that"
            )
    return lines


def _geomeans(cells: list[CellComparison], files: int) -> dict[str, list]:
    """Geometric mean of the ratios per transport and over all cells ("all"), per file."""
    groups: dict[str, list[CellComparison]] = {}
    for cell in cells:
        groups.setdefault(cell.key[1], []).append(cell)
    groups = dict(sorted(groups.items()))
    groups["all"] = cells
    means = {}
    for name, members in groups.items():
        means[name] = []
        for index in range(files):
            ratios = [c.ratios[index] for c in members if c.ratios[index] is not None]
            means[name].append(
                math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None
            )
    return means


def _cell_name(key: tuple) -> str:
    from ipcbench.matrix import Cell

    return Cell(*key).name


def _plain(value):
    """numpy scalars -> Python ones, so facts serialise to JSON."""
    return value.item() if hasattr(value, "item") else value


# -- the command ---------------------------------------------------------------------------------


def parse_percent(text: str, option: str) -> float:
    """`10%` or `10` -> 10.0; a UsageError for anything else."""
    number = text.strip().removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a percentage (e.g. 10%)") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{option}: {text!r} must be a percentage of 0 or more")
    return value


def run_compare(
    paths: list[str],
    baseline: str | None = None,
    output_format: str = "text",
    fail_above: str | None = None,
    min_effect: str | None = None,
) -> tuple[str, int]:
    """The `compare` command: the rendered comparison and the exit status (1 = regression)."""
    if baseline is not None:
        # The baseline may be named alone or also among the files; either way it comes first.
        paths = [baseline, *[p for p in paths if os.path.abspath(p) != os.path.abspath(baseline)]]
    if len(paths) < 2:
        raise UsageError("compare needs at least two result files (or FILE plus --baseline)")
    threshold = parse_percent(fail_above, "--fail-above") if fail_above is not None else None
    effect = (
        parse_percent(min_effect, "--min-effect") / 100
        if min_effect is not None
        else DEFAULT_MIN_EFFECT
    )
    inputs = load_inputs(paths)
    comparison = compare(inputs, baseline=0, fail_above_pct=threshold, min_effect=effect)
    render_format = {"text": to_text, "md": to_markdown, "csv": to_csv, "json": to_json}
    text = render_format[output_format](comparison)
    return text, 1 if comparison.regressions else 0


# -- output formats ------------------------------------------------------------------------------


def _legend_text(min_effect: float) -> str:
    return (
        "figure = median of the workers' medians; ratio = figure / baseline figure (above 1 = "
        "slower), [95% interval]; verdict: a t-test on the log worker medians (each cell's spread "
        "shrunk toward the typical spread of all cells), "
        f"Benjamini-Hochberg corrected over the comparison, q < {ALPHA}, and a difference of at "
        f"least {min_effect:.0%} (--min-effect); 'too few runs' = fewer than {MIN_WORKERS} "
        "workers in a file (run more passes: --append FILE, or the default profile); "
        "! = unstable cell (workers disagree or values step)"
    )


CPU_LEGEND = (
    "; CPU µs/msg = CPU time (user + system) of parent, child and helpers per round trip or "
    "message (pingpong, stream), beside the median, not part of the ratio"
)


def _legend(comparison: Comparison) -> str:
    return _legend_text(comparison.min_effect) + (CPU_LEGEND if _has_cpu(comparison) else "")


def _figure(cell: CellComparison, index: int) -> str:
    pattern, size = cell.key[0], cell.key[3]
    median = cell.medians[index]
    if median is None:
        return "-"
    figure = format_figure(pattern, size, median, 0.0).split(" ± ")[0]
    return figure + ("!" if cell.unstable[index] else "")


def _ratio_text(cell: CellComparison, index: int) -> str:
    ratio, low, high = cell.ratios[index], cell.ratio_lows[index], cell.ratio_highs[index]
    if ratio is None:
        return "-"
    if low is None:
        return f"{ratio:.3f}"
    return f"{ratio:.3f} [{low:.2f}-{high:.2f}]"


def _verdict_text(cell: CellComparison, index: int) -> str:
    verdict, q_value = cell.verdicts[index], cell.q_values[index]
    if verdict is None:
        return "-"
    if verdict == "too few runs":
        fewest = min(w for w in (cell.workers[index], cell.workers[0]) if w is not None)
        return f"too few runs ({fewest} worker{'s' if fewest != 1 else ''}; need {MIN_WORKERS}+)"
    if q_value is None:
        return verdict
    return f"{verdict} (q={q_value:.3f})"


def _cpu_text(cell: CellComparison, index: int) -> str:
    micros = cell.cpu_us[index]
    return "-" if micros is None else format_figure("pingpong", 0, micros / 1e6, 0.0).split()[0]


def _has_cpu(comparison: Comparison) -> bool:
    return any(micros is not None for cell in comparison.cells for micros in cell.cpu_us)


def _table(comparison: Comparison) -> tuple[list[str], list[list[str]], set[int]]:
    """The cells table: per file its median (and CPU µs/msg where measured), then for every
    file but the baseline the ratio and the verdict."""
    base = comparison.labels[comparison.baseline]
    cpu = _has_cpu(comparison)
    columns = [("cell", False, lambda cell: cell.name)]  # (header, right-aligned, text of cell)
    others = [i for i in range(len(comparison.labels)) if i != comparison.baseline]
    for index in [comparison.baseline, *others]:
        label, baseline = comparison.labels[index], index == comparison.baseline
        columns.append(
            (f"{label} (baseline)" if baseline else label, True, lambda c, i=index: _figure(c, i))
        )
        if cpu:
            columns.append(("CPU µs/msg", True, lambda c, i=index: _cpu_text(c, i)))
        if not baseline:
            columns.append((f"{label}/{base}", True, lambda c, i=index: _ratio_text(c, i)))
            columns.append(("significance", False, lambda c, i=index: _verdict_text(c, i)))
    headers = [header for header, _right, _text in columns]
    rows = [[text(cell) for _header, _right, text in columns] for cell in comparison.cells]
    right = {index for index, (_header, right, _text) in enumerate(columns) if right}
    return headers, rows, right


def _facts_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    headers = ["file", *(title for _column, title in FACTS)]
    rows = []
    for entry in comparison.facts:
        marker = " (baseline)" if entry["label"] == comparison.labels[comparison.baseline] else ""
        rows.append(
            [entry["label"] + marker]
            + ["?" if entry[column] is None else str(entry[column]) for column, _ in FACTS]
        )
    return headers, rows


def _geomean_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    others = [i for i in range(len(comparison.labels)) if i != comparison.baseline]
    base = comparison.labels[comparison.baseline]
    headers = ["transport", *(f"{comparison.labels[i]}/{base}" for i in others)]
    rows = [
        [name, *("-" if means[i] is None else f"{means[i]:.3f}" for i in others)]
        for name, means in comparison.geomeans.items()
    ]
    return headers, rows


def _summary_lines(comparison: Comparison) -> list[str]:
    """Everything after the tables, as plain sentences (shared by text and markdown)."""
    lines = []
    for name, holders in comparison.partial:
        lines.append(f"only in {', '.join(holders)}: {name}")
    for label, name, reason in comparison.failed:
        lines.append(f"FAILED in {label}: {name}: {reason}")
    if comparison.threshold_pct is not None:
        if comparison.regressions:
            lines.append(
                f"REGRESSION: {len(comparison.regressions)} cell(s) significantly slower than "
                f"the baseline by more than {comparison.threshold_pct:g}%:"
            )
            lines += [
                f"  {label}: {name}: {ratio:.3f}x (q={q:.3f})"
                for label, name, ratio, q in comparison.regressions
            ]
        else:
            lines.append(
                f"ok: no cell significantly slower than the baseline by more than "
                f"{comparison.threshold_pct:g}%"
            )
    return lines


def to_text(comparison: Comparison) -> str:
    headers, rows = _facts_rows(comparison)
    parts = [render(headers, rows)]
    parts += [f"warning: {warning}" for warning in comparison.warnings]
    headers, rows, right = _table(comparison)
    parts += ["", render(headers, rows, right=right), _legend(comparison)]
    headers, rows = _geomean_rows(comparison)
    parts += ["", "geometric mean of ratios", render(headers, rows, right=set(range(1, 99)))]
    lines = _summary_lines(comparison)
    if lines:
        parts += ["", *lines]
    return "\n".join(parts)


def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)])


def to_markdown(comparison: Comparison) -> str:
    parts = ["### Machines", "", _markdown_table(*_facts_rows(comparison))]
    if comparison.warnings:
        parts += ["", *(f"- **warning**: {warning}" for warning in comparison.warnings)]
    headers, rows, _right = _table(comparison)
    parts += ["", "### Cells", "", _markdown_table(headers, rows), "", f"_{_legend(comparison)}_"]
    parts += ["", "### Geometric mean of ratios", "", _markdown_table(*_geomean_rows(comparison))]
    lines = _summary_lines(comparison)
    if lines:
        parts += ["", "### Notes", "", *(f"- {line}" for line in lines)]
    return "\n".join(parts)


CSV_COLUMNS = (
    *KEY,
    "file",
    "baseline",
    "median_s",
    "workers",
    "cpu_us_per_message",
    "ratio",
    "ratio_low",
    "ratio_high",
    "p_value",
    "q_value",
    "verdict",
    "unstable",
)


def to_csv(comparison: Comparison) -> str:
    """One row per cell per file (tidy); machine facts and notes are in the json format."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    base = comparison.labels[comparison.baseline]
    for cell in comparison.cells:
        for index, label in enumerate(comparison.labels):
            if cell.medians[index] is None:
                continue
            writer.writerow(
                [
                    *cell.key,
                    label,
                    base,
                    repr(cell.medians[index]),
                    cell.workers[index],
                    _number(cell.cpu_us[index]),
                    _number(cell.ratios[index]),
                    _number(cell.ratio_lows[index]),
                    _number(cell.ratio_highs[index]),
                    _number(cell.p_values[index]),
                    _number(cell.q_values[index]),
                    cell.verdicts[index],
                    cell.unstable[index],
                ]
            )
    return buffer.getvalue().rstrip("\n")


def _number(value) -> str:
    return "" if value is None else f"{value:.6g}"


def to_json(comparison: Comparison) -> str:
    data = {
        "baseline": comparison.labels[comparison.baseline],
        "alpha": ALPHA,
        "min_effect": comparison.min_effect,
        "machines": comparison.facts,
        "warnings": comparison.warnings,
        "cells": [
            {
                "name": cell.name,
                **dict(zip(KEY, cell.key, strict=True)),
                "files": {
                    label: {
                        "median_s": cell.medians[i],
                        "workers": cell.workers[i],
                        "cpu_us_per_message": cell.cpu_us[i],
                        "ratio": cell.ratios[i],
                        "ratio_low": cell.ratio_lows[i],
                        "ratio_high": cell.ratio_highs[i],
                        "p_value": cell.p_values[i],
                        "q_value": cell.q_values[i],
                        "verdict": cell.verdicts[i],
                        "unstable": cell.unstable[i],
                    }
                    for i, label in enumerate(comparison.labels)
                    if cell.medians[i] is not None
                },
            }
            for cell in comparison.cells
        ],
        "only_in_some": [{"name": name, "files": holders} for name, holders in comparison.partial],
        "failed": [
            {"file": label, "name": name, "reason": reason}
            for label, name, reason in comparison.failed
        ],
        "geometric_mean_ratio": {
            name: dict(zip(comparison.labels, means, strict=True))
            for name, means in comparison.geomeans.items()
        },
        "fail_above_pct": comparison.threshold_pct,
        "regressions": [
            {"file": label, "name": name, "ratio": ratio, "q_value": q}
            for label, name, ratio, q in comparison.regressions
        ],
    }
    return json.dumps(data, indent=2)
