"""A comparison (comparison.py) written out: a terminal table, markdown, CSV or JSON."""

import csv
import io
import json

from ipcbench import benches
from ipcbench.cell import AXES
from ipcbench.comparison import FACTS, CellComparison, Comparison
from ipcbench.stats import ALPHA, MIN_WORKERS
from ipcbench.tables import markdown_table, render
from ipcbench.units import figure, number

FORMATS = ("text", "md", "csv", "json")


def write(comparison: Comparison, output_format: str) -> str:
    """The comparison in `output_format` (one of FORMATS)."""
    return {"text": to_text, "md": to_markdown, "csv": to_csv, "json": to_json}[output_format](
        comparison
    )


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


def _legend(comparison: Comparison) -> str:
    if not _has_cpu(comparison):
        return _legend_text(comparison.min_effect)
    return _legend_text(comparison.min_effect) + (
        "; CPU µs/msg = CPU time (user + system) of parent, child and helpers per round trip or "
        f"message ({', '.join(benches.message_loops())}), beside the median, not part of the "
        "ratio"
    )


def _figure(cell: CellComparison, index: int) -> str:
    median = cell.medians[index]
    if median is None:
        return "-"
    unit = benches.pattern_or_plain(cell.key.pattern).unit
    return str(figure(unit, median, cell.key.size)) + ("!" if cell.unstable[index] else "")


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
    return "-" if micros is None else number(micros)


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


def to_markdown(comparison: Comparison) -> str:
    parts = ["### Machines", "", markdown_table(*_facts_rows(comparison))]
    if comparison.warnings:
        parts += ["", *(f"- **warning**: {warning}" for warning in comparison.warnings)]
    headers, rows, _right = _table(comparison)
    parts += ["", "### Cells", "", markdown_table(headers, rows), "", f"_{_legend(comparison)}_"]
    parts += ["", "### Geometric mean of ratios", "", markdown_table(*_geomean_rows(comparison))]
    lines = _summary_lines(comparison)
    if lines:
        parts += ["", "### Notes", "", *(f"- {line}" for line in lines)]
    return "\n".join(parts)


CSV_COLUMNS = (
    *AXES,
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
                    *cell.key.metadata().values(),
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
                **cell.key.metadata(),
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
