"""Compare result files cell by cell: ratios to a baseline, significance, regressions.

Cells are aligned by their Cell (pattern, transport, method, size, placement, kind, procs,
chunksize, peer); files from before the procs, chunksize and peer axes load with 1, 1 and local,
so they align with the cells of newer files at those values. The ratio is always
`time / baseline time` on the medians (pyperf stores seconds per round trip, message, task,
process or increment), so a ratio above 1 is slower for every pattern, rates included. CPU time
per message (where measured) is shown beside each median but takes no part in the ratio or the
test.

Significance is decided where the noise is (see stats.py): on worker medians, not raw values
(values inside one worker agree far better than workers minutes apart do), with a t-test on
their logarithms whose spread is shrunk toward the typical spread of all cells, the p-values
corrected across every test of the comparison (Benjamini-Hochberg), and no difference smaller
than the minimum effect ever called.

`report` reuses `loader.load_inputs` and `compare` so both commands agree on every number;
compare_output.py writes a comparison out.
"""

import math
from dataclasses import dataclass, field

from ipcbench import conditions, machine, stats
from ipcbench.cell import Cell
from ipcbench.loader import Inputs, cell_order
from ipcbench.stats import DEFAULT_MIN_EFFECT
from ipcbench.units import missing

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

    key: Cell
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
        return self.key.name


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
            Cell.from_metadata(row): row
            # records, not iterrows: a dict per row is several times cheaper than a Series
            for row in frame[frame["machine"] == label].to_dict("records")
        }
        for label in labels
    ]
    all_keys = sorted(set().union(*by_file), key=cell_order)
    reference = by_file[baseline]
    cells, partial = [], []
    for key in all_keys:
        holders = [label for label, rows in zip(labels, by_file, strict=True) if key in rows]
        if len(holders) < len(labels):
            partial.append((key.name, holders))
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
        groups.setdefault(cell.key.transport, []).append(cell)
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


def _plain(value):
    """numpy scalars -> Python ones, so facts serialise to JSON."""
    return value.item() if hasattr(value, "item") else value
