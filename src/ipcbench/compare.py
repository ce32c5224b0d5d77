"""Compare result files cell by cell: ratios to a baseline, significance, regressions.

Cells are aligned by (pattern, transport, method, size, placement, kind, procs, chunksize);
files from before the procs and chunksize axes load with both at 1, so they align with the cells
of newer files at those values. The ratio is always `time / baseline time` on the medians
(pyperf stores seconds per round trip, message, task, process or increment), so a ratio above 1
is slower for every pattern, rates included. CPU time per message (pingpong, stream) is shown
beside each median but takes no part in the ratio or the test. Significance comes from a
two-sided Mann-Whitney U test on the raw values: it assumes no normal distribution (timings are
skewed, with a long slow tail) and copes with unequal sample counts, which pyperf's own t-test
does not.

`report` reuses `load_inputs` and `compare` so both commands agree on every number.
"""

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ipcbench.errors import UsageError
from ipcbench.results import ResultFile, ResultFileError, frame_of, load
from ipcbench.tables import cell_sort_key, format_figure, missing, render

KEY = ("pattern", "transport", "method", "size_bytes", "placement", "kind", "procs", "chunksize")
ALPHA = 0.05
FORMATS = ("text", "md", "csv", "json")

# Machine facts in the order shown; the ones that can explain different timings get a warning.
FACTS = (
    ("hostname", "host"),
    ("cpu", "CPU"),
    ("cpu_count", "cores"),
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


def load_inputs(paths) -> Inputs:
    """Load and check every file first, so a bad file fails the command before any output."""
    paths = [Path(p) for p in paths]
    results = [load(path) for path in paths]
    for path, result in zip(paths, results, strict=True):
        if not result.benchmarks:
            why = f"all {len(result.failed)} cells failed" if result.failed else "empty list"
            raise ResultFileError(f"{path}: holds no results ({why}: no benchmark to read)")
    import pandas as pd  # only now: a bad file should fail fast

    labels = file_labels(paths)
    frames = []
    for path, result, label in zip(paths, results, labels, strict=True):
        frame = frame_of([(path, result)])
        frame["machine"] = label
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    return Inputs(paths, labels, results, frame)


def file_labels(paths: list[Path]) -> list[str]:
    """The file stem (`laptop` for results/laptop.json) unless two files share one."""
    stems = [path.stem for path in paths]
    labels = [
        stem if stems.count(stem) == 1 else str(path)
        for stem, path in zip(stems, paths, strict=True)
    ]
    # The same path given twice still needs two names.
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return unique


def machine_facts(inputs: Inputs) -> list[dict]:
    """Per file: label, path and the facts of its first cell (pyperf records them per run)."""
    facts = []
    for label, path in zip(inputs.labels, inputs.paths, strict=True):
        first = inputs.frame[inputs.frame["machine"] == label].iloc[0]
        entry = {"label": label, "file": str(path)}
        for column, _title in FACTS:
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
    """One cell across files; per-file lists are None where the file lacks the cell."""

    key: tuple
    medians: list
    ratios: list
    p_values: list
    verdicts: list  # "baseline", "slower", "faster", "same", "n/a" (too few values), None
    cpu_us: list = field(default_factory=list)  # CPU µs per message; None: not measured

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


def compare(inputs: Inputs, baseline: int = 0, fail_above_pct: float | None = None) -> Comparison:
    """Align every file's cells with the baseline file's and test each difference."""
    from scipy.stats import mannwhitneyu

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
        cell = CellComparison(key, [], [], [], [])
        for index, rows in enumerate(by_file):
            row = rows.get(key)
            if row is None:
                cell.medians.append(None)
                cell.ratios.append(None)
                cell.p_values.append(None)
                cell.verdicts.append(None)
                cell.cpu_us.append(None)
                continue
            cpu = row["cpu_us_per_message"]
            cell.cpu_us.append(None if missing(cpu) else float(cpu))
            cell.medians.append(float(row["median"]))
            cell.ratios.append(float(row["median"]) / float(base["median"]))
            if index == baseline:
                cell.p_values.append(None)
                cell.verdicts.append("baseline")
                continue
            p_value = None
            if _can_be_significant(len(row["values"]), len(base["values"])):
                p_value = float(
                    mannwhitneyu(row["values"], base["values"], alternative="two-sided").pvalue
                )
                if math.isnan(p_value):  # every value identical in both: no evidence either way
                    p_value = 1.0
            cell.p_values.append(p_value)
            cell.verdicts.append(_verdict(cell.ratios[-1], p_value))
        cells.append(cell)

    facts = machine_facts(inputs)
    result = Comparison(
        labels=labels,
        baseline=baseline,
        facts=facts,
        warnings=fact_warnings(facts),
        cells=cells,
        partial=partial,
        failed=[
            (label, name, reason)
            for label, result in zip(labels, inputs.results, strict=True)
            for name, reason in result.failed.items()
        ],
        geomeans=_geomeans(cells, len(labels)),
    )
    if fail_above_pct is not None:
        result.threshold_pct = fail_above_pct
        limit = 1 + fail_above_pct / 100
        result.regressions = [
            (labels[index], cell.name, cell.ratios[index], cell.p_values[index])
            for cell in cells
            for index, verdict in enumerate(cell.verdicts)
            if verdict == "slower" and cell.ratios[index] > limit
        ]
    return result


def _can_be_significant(n_a: int, n_b: int) -> bool:
    """Whether any outcome of the test could reach ALPHA with these sample counts.

    The smallest two-sided p-value Mann-Whitney U can give is 2 / C(n_a + n_b, n_a) (complete
    separation); with 3 values against 3 that is 0.1, so no verdict would be honest.
    """
    if n_a < 1 or n_b < 1:
        return False
    return 2 / math.comb(n_a + n_b, n_a) < ALPHA


def _verdict(ratio: float, p_value: float | None) -> str:
    if p_value is None:
        return "n/a"
    if p_value >= ALPHA:
        return "same"
    return "slower" if ratio > 1 else "faster"


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


def parse_percent(text: str) -> float:
    """`10%` or `10` -> 10.0; a UsageError for anything else."""
    number = text.strip().removesuffix("%").strip()
    try:
        value = float(number)
    except ValueError:
        raise UsageError(f"--fail-above: {text!r} is not a percentage (e.g. 10%)") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"--fail-above: {text!r} must be a percentage of 0 or more")
    return value


def run_compare(
    paths: list[str],
    baseline: str | None = None,
    output_format: str = "text",
    fail_above: str | None = None,
) -> tuple[str, int]:
    """The `compare` command: the rendered comparison and the exit status (1 = regression)."""
    if baseline is not None:
        # The baseline may be named alone or also among the files; either way it comes first.
        paths = [baseline, *[p for p in paths if os.path.abspath(p) != os.path.abspath(baseline)]]
    if len(paths) < 2:
        raise UsageError("compare needs at least two result files (or FILE plus --baseline)")
    threshold = parse_percent(fail_above) if fail_above is not None else None
    inputs = load_inputs(paths)
    comparison = compare(inputs, baseline=0, fail_above_pct=threshold)
    render_format = {"text": to_text, "md": to_markdown, "csv": to_csv, "json": to_json}
    text = render_format[output_format](comparison)
    return text, 1 if comparison.regressions else 0


# -- output formats ------------------------------------------------------------------------------

LEGEND = (
    "ratio = median time / baseline median time (above 1 = slower); "
    f"significance: two-sided Mann-Whitney U on the raw values, p < {ALPHA}; "
    "n/a = too few values for the test to ever reach that level"
)
CPU_LEGEND = (
    "; CPU µs/msg = CPU time (user + system) of parent and child per round trip or message "
    "(pingpong, stream), beside the median, not part of the ratio"
)


def _legend(comparison: Comparison) -> str:
    return LEGEND + (CPU_LEGEND if _has_cpu(comparison) else "")


def _figure(cell: CellComparison, index: int) -> str:
    pattern, size = cell.key[0], cell.key[3]
    median = cell.medians[index]
    if median is None:
        return "-"
    return format_figure(pattern, size, median, 0.0).split(" ± ")[0]


def _ratio_text(cell: CellComparison, index: int) -> str:
    ratio = cell.ratios[index]
    if ratio is None:
        return "-"
    return f"{ratio:.3f}"


def _verdict_text(cell: CellComparison, index: int) -> str:
    verdict, p_value = cell.verdicts[index], cell.p_values[index]
    if verdict is None:
        return "-"
    if verdict == "n/a":
        return "n/a"
    return f"{verdict} (p={p_value:.3f})"


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
                f"  {label}: {name}: {ratio:.3f}x (p={p:.3f})"
                for label, name, ratio, p in comparison.regressions
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
    "cpu_us_per_message",
    "ratio",
    "p_value",
    "verdict",
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
            p_value = cell.p_values[index]
            writer.writerow(
                [
                    *cell.key,
                    label,
                    base,
                    repr(cell.medians[index]),
                    "" if cell.cpu_us[index] is None else f"{cell.cpu_us[index]:.6g}",
                    f"{cell.ratios[index]:.6g}",
                    "" if p_value is None else f"{p_value:.6g}",
                    cell.verdicts[index],
                ]
            )
    return buffer.getvalue().rstrip("\n")


def to_json(comparison: Comparison) -> str:
    data = {
        "baseline": comparison.labels[comparison.baseline],
        "alpha": ALPHA,
        "machines": comparison.facts,
        "warnings": comparison.warnings,
        "cells": [
            {
                "name": cell.name,
                **dict(zip(KEY, cell.key, strict=True)),
                "files": {
                    label: {
                        "median_s": cell.medians[i],
                        "cpu_us_per_message": cell.cpu_us[i],
                        "ratio": cell.ratios[i],
                        "p_value": cell.p_values[i],
                        "verdict": cell.verdicts[i],
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
            {"file": label, "name": name, "ratio": ratio, "p_value": p}
            for label, name, ratio, p in comparison.regressions
        ],
    }
    return json.dumps(data, indent=2)
