"""Worker-level statistics on synthetic data with known answers (stats.py, compare)."""

import json
import math
import random

import pytest
from conftest import run_cli
from results_helpers import synthetic_values_file

from ipcbench import stats

CELLS = [
    f"{pattern}/{transport}/fork/{size}/split"
    for pattern in ("pingpong", "stream")
    for transport in ("os_pipe", "mp_pipe", "mp_queue")
    for size in ("64B", "4KiB", "64KiB", "1MiB")
]


def workers(rng, typical: float, count: int, drift: float = 0.03, noise: float = 0.02):
    """`count` workers of 5 values: each worker offset by the machine's drift (log-normal,
    sigma `drift`), its values scattered by `noise` around that."""
    result = []
    for _ in range(count):
        level = typical * math.exp(rng.gauss(0, drift))
        result.append([level * math.exp(rng.gauss(0, noise)) for _ in range(5)])
    return result


def medians(values_by_worker):
    return [sorted(values)[len(values) // 2] for values in values_by_worker]


def differences(baseline, other):
    """Each cell's moderated test (against the typical spread of all cells), uncorrected."""
    pairs = [(medians(baseline[c]), medians(other[c])) for c in baseline]
    typical = stats.prior([stats.spread(*pair) for pair in pairs])
    return [stats.difference(*pair, typical) for pair in pairs]


def verdicts(baseline, other, min_effect=stats.DEFAULT_MIN_EFFECT, tested=None):
    """Verdict per cell, the way compare decides: moderated tests, then one correction.
    `tested`: the cells' `differences` when the caller has them already."""
    tested = differences(baseline, other) if tested is None else tested
    adjusted = stats.adjust([d.p_value for d in tested])
    return [stats.verdict(d.ratio, q, min_effect) for d, q in zip(tested, adjusted, strict=True)]


def test_same_distribution_with_drift_between_workers_is_same():
    rng = random.Random(1)
    a = {cell: workers(rng, 20e-6, 3) for cell in CELLS}
    b = {cell: workers(rng, 20e-6, 3) for cell in CELLS}
    assert set(verdicts(a, b)) == {"same"}


def test_a_twenty_percent_shift_is_slower_and_the_reverse_faster():
    rng = random.Random(2)
    a = {cell: workers(rng, 20e-6, 3) for cell in CELLS}
    b = {cell: workers(rng, 24e-6, 3) for cell in CELLS}
    assert set(verdicts(a, b)) == {"slower"}
    assert set(verdicts(b, a)) == {"faster"}


def test_a_shift_below_the_minimum_effect_is_never_called():
    rng = random.Random(3)
    a = {cell: workers(rng, 20e-6, 8, drift=0.001, noise=0.001) for cell in CELLS}
    b = {cell: workers(rng, 20.6e-6, 8, drift=0.001, noise=0.001) for cell in CELLS}
    # 3% slower and certain of it: still "same" at the default 5% minimum effect ...
    assert set(verdicts(a, b)) == {"same"}
    # ... and "slower" when the user asks for differences from 2%.
    assert set(verdicts(a, b, min_effect=0.02)) == {"slower"}


def test_one_worker_is_too_few_runs():
    one = stats.difference([20e-6], [60e-6, 61e-6])
    assert one.p_value is None and one.ratio == pytest.approx(3.0, rel=0.02)
    assert stats.verdict(one.ratio, None) == "too few runs"


def test_the_correction_keeps_false_alarms_at_the_nominal_rate():
    """400 A/A comparisons of 48 cells: without correction ~5% of cells would be called
    different at p < 0.05; with it, a whole comparison raises any alarm at most ~5% of the time."""
    rng = random.Random(4)
    comparisons_with_an_alarm = cells_called = 0
    raw_calls = 0
    for _ in range(400):
        a = {cell: workers(rng, 20e-6, 3, drift=0.08) for cell in CELLS}
        b = {cell: workers(rng, 20e-6, 3, drift=0.08) for cell in CELLS}
        # The same tests give the corrected verdicts and the raw p-values (computed once).
        tested = differences(a, b)
        called = [v for v in verdicts(a, b, min_effect=0.0, tested=tested) if v != "same"]
        cells_called += len(called)
        comparisons_with_an_alarm += bool(called)
        raw_calls += sum(d.p_value < 0.05 for d in tested)
    assert 0.03 < raw_calls / (400 * len(CELLS)) < 0.07  # the uncorrected test is calibrated
    assert comparisons_with_an_alarm / 400 <= 0.08
    assert cells_called / (400 * len(CELLS)) <= 0.01


def test_benjamini_hochberg_known_values():
    # Worked example: p = 0.01, 0.02, 0.03, 0.04, 0.05 -> every q = 0.05.
    assert stats.adjust([0.05, 0.01, None, 0.03, 0.02, 0.04]) == pytest.approx(
        [0.05, 0.05, None, 0.05, 0.05, 0.05]
    )
    assert stats.adjust([0.001, 0.9]) == pytest.approx([0.002, 0.9])


def test_interval_of_the_figure_holds_the_median_and_widens_with_spread():
    tight = stats.summarize([10.0, 10.1, 9.9, 10.05])
    loose = stats.summarize([10.0, 13.0, 8.0, 11.0])
    assert tight.low < 10.0 < tight.high and tight.workers == 4
    assert (loose.high - loose.low) > 5 * (tight.high - tight.low)
    single = stats.summarize([10.0])
    assert single.median == 10.0 and single.low is None and single.high is None


def test_instability_names_disagreeing_workers_and_steps():
    assert stats.instability([[10.0] * 5, [10.2] * 5]) == ""
    assert "workers disagree" in stats.instability([[14.0] * 5, [38.0] * 5])
    stepping = [55.0, 56.0, 55.0, 124.0, 183.0, 150.0]
    assert "values step within 1 of 2" in stats.instability([stepping, [55.0] * 6])


def test_compare_of_identical_distributions_passes_the_ci_gate(tmp_path):
    rng = random.Random(5)
    a = synthetic_values_file(tmp_path / "a.json", {c: workers(rng, 20e-6, 3) for c in CELLS})
    b = synthetic_values_file(tmp_path / "b.json", {c: workers(rng, 20e-6, 3) for c in CELLS})
    gate = run_cli("compare", a, b, "--fail-above", "10%")
    assert gate.returncode == 0 and "ok: no cell significantly slower" in gate.stdout
    data = json.loads(run_cli("compare", a, b, "--format", "json").stdout)
    assert {cell["files"]["b"]["verdict"] for cell in data["cells"]} == {"same"}

    slow = synthetic_values_file(tmp_path / "slow.json", {c: workers(rng, 30e-6, 3) for c in CELLS})
    gate = run_cli("compare", a, slow, "--fail-above", "10%", check=False)
    assert gate.returncode == 1 and f"REGRESSION: {len(CELLS)} cell(s)" in gate.stdout


def test_files_of_one_worker_per_cell_say_too_few_runs(tmp_path):
    rng = random.Random(6)
    old = synthetic_values_file(tmp_path / "old.json", {c: workers(rng, 20e-6, 1) for c in CELLS})
    new = synthetic_values_file(tmp_path / "new.json", {c: workers(rng, 40e-6, 3) for c in CELLS})
    out = run_cli("compare", old, new, "--fail-above", "10%").stdout
    assert out.count("too few runs (1 worker; need 2+)") == len(CELLS)
