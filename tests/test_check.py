"""`ipcbench check` and the conditions a run records: what other processes took from it."""

import subprocess
import sys

import pytest
from conftest import run_cli

from ipcbench import results

SPIN = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass"


@pytest.fixture
def busy_cpu():
    """One process spinning on a CPU for the duration of the test (killed after)."""
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    yield spinner
    spinner.kill()
    spinner.wait()


def test_check_names_the_machine_facts():
    out = run_cli("check", "--seconds", "0.3").stdout
    for fact in ("CPUs:", "frequency governor:", "turbo boost:", "load average:", "steal"):
        assert fact in out


def test_check_sees_another_process_keeping_a_cpu_busy(busy_cpu):
    out = run_cli("check", "--seconds", "1").stdout
    line = next(line for line in out.splitlines() if line.startswith("over 1 s"))
    busy = float(line.split("kept ")[1].split()[0])
    assert busy >= 0.7, out  # the spinner is one whole CPU
    assert "warning: other processes kept" in out


def test_a_run_records_what_other_processes_took(busy_cpu, tmp_path):
    output = tmp_path / "busy.json"
    completed = run_cli("run", "-t", "null", "-s", "64", "-p", "pingpong", "--quick", "-o", output)
    conditions = results.load(output).conditions
    assert conditions["load"] >= 0.5 and 0 <= conditions["steal_pct"] <= 100
    assert conditions["cpus"] >= 1
    assert "warning: other processes kept" in completed.stderr


def test_bad_sampling_time_is_one_line():
    completed = run_cli("check", "--seconds", "0", check=False)
    assert completed.returncode == 2 and len(completed.stderr.splitlines()) == 1
