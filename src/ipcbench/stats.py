"""Statistics at the level where the noise is: the worker.

A worker is one fresh process that times a cell (one pyperf run). Values inside one worker agree
closely (~2%), but the machine drifts between workers minutes apart by far more: treating every
value as independent measures the small noise and calls the drift "significant". So every
figure and every test here works on worker medians (one number per worker):

- a cell's figure is the median of its workers' medians, and its 95% interval is a t interval on
  the logarithms of those medians (timings are ratios at heart; with the 3-8 workers a run has,
  a distribution-free interval of the median would be far wider than 95% or not exist);
- two files' cells are compared with a t-test on the log worker medians, giving the ratio's
  interval too. Two or three workers estimate a spread poorly, so each cell's spread is shrunk
  toward the typical spread of all the cells being compared (an empirical-Bayes "moderated"
  t-test, as limma does for thousands of genes with few replicates): the prior counts as
  PRIOR_DOF degrees of freedom, a cell's own workers as theirs;
- across the cells of one comparison the p-values are corrected (Benjamini-Hochberg), and a
  difference smaller than the minimum effect is never called.

Only the analysis side imports this module (scipy): benchmark workers never do.
"""

import math
import statistics
from dataclasses import dataclass

CONFIDENCE = 0.95
ALPHA = 0.05
DEFAULT_MIN_EFFECT = 0.05
# Fewer workers than this per file and a cell cannot be tested (no spread to judge it by).
MIN_WORKERS = 2
# Workers of one cell whose medians spread wider than this (max / min) disagree.
WORKER_SPREAD_LIMIT = 1.5
# A worker whose second half of values sits this far (max / min) from its first half stepped.
VALUE_STEP_LIMIT = 1.5

VERDICTS = ("baseline", "faster", "slower", "same", "too few runs")


def worker_medians(bench) -> list[float]:
    """One median per worker (pyperf run) that timed values; calibration-only runs hold none."""
    return [statistics.median(run.values) for run in bench.get_runs() if run.values]


def worker_values(bench) -> list[list[float]]:
    return [list(run.values) for run in bench.get_runs() if run.values]


@dataclass(frozen=True)
class Summary:
    """A cell's figure: the median of worker medians, with a 95% interval (None: one worker)."""

    median: float
    low: float | None
    high: float | None
    workers: int


def summarize(medians: list[float]) -> Summary:
    median = statistics.median(medians)
    if len(medians) < MIN_WORKERS:
        return Summary(median, None, None, len(medians))
    logs = [math.log(value) for value in medians]
    centre = statistics.fmean(logs)
    half = _t_quantile(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    # The interval is about the typical worker; the median sits inside it except with wild
    # outliers, which the instability check then names.
    return Summary(
        median,
        min(median, math.exp(centre - half)),
        max(median, math.exp(centre + half)),
        len(medians),
    )


@dataclass(frozen=True)
class Prior:
    """The typical spread (variance of log worker medians) of the cells being compared."""

    variance: float
    dof: float


# How many degrees of freedom the typical spread counts for against a cell's own workers.
PRIOR_DOF = 4.0


def spread(baseline: list[float], other: list[float]) -> tuple[float, int] | None:
    """(pooled variance of the log worker medians of both sides, its degrees of freedom)."""
    if len(baseline) < MIN_WORKERS or len(other) < MIN_WORKERS:
        return None
    sides = [[math.log(value) for value in side] for side in (baseline, other)]
    dof = sum(len(side) - 1 for side in sides)
    squares = sum(sum((x - statistics.fmean(side)) ** 2 for x in side) for side in sides)
    return squares / dof, dof


def prior(spreads: list[tuple[float, int] | None]) -> Prior | None:
    """The typical variance over the cells: robust to a few erratic cells (their median).

    The median of sample variances sits below the true variance (by the median of a chi-square
    over its degrees of freedom: 0.69 with 2), so it is scaled back up to be unbiased.
    """
    known = list(filter(None, spreads))
    if not known:
        return None
    dof = statistics.median(dof for _variance, dof in known)
    median_share = _chi2_median(dof) / dof
    return Prior(statistics.median(variance for variance, _dof in known) / median_share, PRIOR_DOF)


@dataclass(frozen=True)
class Difference:
    """`other` against `baseline`: the ratio of medians (above 1: slower), its interval, p."""

    ratio: float
    low: float | None
    high: float | None
    p_value: float | None  # None: too few workers for a test


def difference(
    baseline: list[float], other: list[float], typical: Prior | None = None
) -> Difference:
    """A t-test on log worker medians (moderated by `typical`); the ratio is of the figures."""
    figure_ratio = ratio(baseline, other)
    own = spread(baseline, other)
    if own is None:
        return Difference(figure_ratio, None, None, None)
    variance, dof = own
    if typical is not None:
        variance = (typical.dof * typical.variance + dof * variance) / (typical.dof + dof)
        dof = typical.dof + dof
    shift = statistics.fmean(map(math.log, other)) - statistics.fmean(map(math.log, baseline))
    error = math.sqrt(variance * (1 / len(baseline) + 1 / len(other)))
    if error == 0.0:
        # Identical workers on both sides (synthetic data): any shift at all is certain.
        p_value = 1.0 if shift == 0.0 else 0.0
        return Difference(figure_ratio, math.exp(shift), math.exp(shift), p_value)
    p_value = 2 * _t_sf(abs(shift / error), dof)
    half = _t_quantile(dof) * error
    return Difference(figure_ratio, math.exp(shift - half), math.exp(shift + half), p_value)


def adjust(p_values: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values); None stays None.

    Testing hundreds of cells at p < 0.05 calls ~5% of identical cells different; the
    adjustment keeps the expected share of false calls among the calls at 5%, and under a
    load that slows every cell it still lets the many real differences through.
    """
    present = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    total = len(present)
    running = 1.0
    for rank in range(total, 0, -1):
        p, index = present[rank - 1]
        running = min(running, p * total / rank)
        adjusted[index] = running
    return adjusted


def verdict(ratio: float, q_value: float | None, min_effect: float = DEFAULT_MIN_EFFECT) -> str:
    """faster, slower, same or too few runs: significant after correction and big enough."""
    if q_value is None:
        return "too few runs"
    if q_value < ALPHA and ratio > 1 + min_effect:
        return "slower"
    if q_value < ALPHA and ratio < 1 / (1 + min_effect):
        return "faster"
    return "same"


@dataclass(frozen=True)
class Decision:
    """One pair's test within a family of tests: its difference, corrected p and verdict."""

    difference: Difference
    q_value: float | None
    verdict: str


def decide(
    pairs: list[tuple[list[float], list[float]]], min_effect: float = DEFAULT_MIN_EFFECT
) -> list[Decision]:
    """Test every (baseline, other) pair of worker medians as one family: each against the
    typical spread of all, the p-values corrected together, then the verdicts.

    Every place that calls many cells at once (compare, the report's heatmaps and answer table)
    goes through here, so they all agree on every verdict.
    """
    typical = prior([spread(*pair) for pair in pairs])
    differences = [difference(*pair, typical) for pair in pairs]
    q_values = adjust([each.p_value for each in differences])
    return [
        Decision(each, q_value, verdict(each.ratio, q_value, min_effect))
        for each, q_value in zip(differences, q_values, strict=True)
    ]


def ratio(baseline: list[float], other: list[float]) -> float:
    """The ratio of the two cells' figures (median of worker medians): above 1 is slower."""
    return statistics.median(other) / statistics.median(baseline)


def instability(values_by_worker: list[list[float]]) -> str:
    """Why a cell's figure is shaky ('' when it is not): workers that disagree, values that step.

    A single slow value is ordinary (an interrupt, a page fault) and the medians shrug it off;
    a step inside a worker (the second half of its values far from the first) or workers far
    apart means the machine changed under the cell, and the figure depends on when it ran.
    """
    reasons = []
    medians = [statistics.median(values) for values in values_by_worker if values]
    if len(medians) >= 2 and max(medians) / min(medians) > WORKER_SPREAD_LIMIT:
        reasons.append(
            f"workers disagree ({_short(min(medians))} to {_short(max(medians))}, "
            f"{max(medians) / min(medians):.2f}x)"
        )
    steps = [_step(values) for values in values_by_worker if len(values) >= 4]
    steps = [step for step in steps if step > VALUE_STEP_LIMIT]
    if steps:
        reasons.append(
            f"values step within {len(steps)} of {len(medians)} worker(s) (up to {max(steps):.2f}x)"
        )
    return "; ".join(reasons)


def _step(values: list[float]) -> float:
    """How far apart the medians of a worker's first and second half of values are (>= 1)."""
    half = len(values) // 2
    first, second = statistics.median(values[:half]), statistics.median(values[-half:])
    return max(first, second) / min(first, second)


def pyperf_warnings(values: list[float]) -> list[str]:
    """pyperf's own stability checks (`pyperf show` prints them), over all of a cell's values."""
    if len(values) < 2:
        return []
    mean = statistics.fmean(values)
    warnings = []
    stdev = statistics.stdev(values)
    if stdev >= 0.10 * mean:
        warnings.append(f"the standard deviation is {stdev / mean:.0%} of the mean")
    for label, value in (("minimum", min(values)), ("maximum", max(values))):
        off = (value - mean) / mean
        if abs(off) >= 0.5:
            side = "greater" if off > 0 else "smaller"
            warnings.append(f"the {label} is {abs(off):.0%} {side} than the mean")
    return warnings


def _short(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# The t and chi-square functions come from scipy.special, where scipy.stats.t and scipy.stats.chi2
# compute them (the same calls, the same figures): importing scipy.stats would add about a second
# to every command that reads a result file.


def _t_quantile(dof: float) -> float:
    from scipy import special

    return float(special.stdtrit(dof, 0.5 + CONFIDENCE / 2))  # scipy.stats.t.ppf


def _t_sf(t: float, dof: float) -> float:
    from scipy import special

    return float(special.stdtr(dof, -t))  # scipy.stats.t.sf


def _chi2_median(dof: float) -> float:
    from scipy import special

    return float(2 * special.gammaincinv(dof / 2, 0.5))  # scipy.stats.chi2.median
