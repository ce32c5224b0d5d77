"""`python -m ipcbench export`: the tidy frame as CSV, read back with pandas."""

import io

import pandas as pd
import pytest
from conftest import run_cli
from results_helpers import BAD_FILES, bad_file, second_result

from ipcbench import load_results
from ipcbench.loader import FRAME_COLUMNS


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return second_result(tmp_path_factory)


def test_csv_is_the_tidy_frame(small_result, second, tmp_path):
    output = tmp_path / "all.csv"
    completed = run_cli("export", small_result, second, "-o", output)
    assert completed.stdout == ""
    # The `null` transport's name is one of pandas' default NA spellings: keep it a name.
    exported = pd.read_csv(output, keep_default_na=False, na_values=[""])
    frame = load_results([small_result, second])
    assert list(exported.columns) == list(FRAME_COLUMNS)
    assert len(exported) == len(frame)
    assert set(exported["machine"]) == {"small", "second"}
    for (_, row), (_, original) in zip(exported.iterrows(), frame.iterrows(), strict=True):
        assert row["transport"] == original["transport"]
        assert row["median"] == pytest.approx(original["median"], rel=1e-12)
        # The raw values, space-separated, come back exactly.
        assert [float(v) for v in row["values"].split(" ")] == original["values"]


def test_stdout_when_no_output_file(small_result):
    text = run_cli("export", small_result).stdout
    assert text.splitlines()[0] == ",".join(FRAME_COLUMNS)
    assert len(text.splitlines()) == 1 + len(load_results([small_result]))


def test_refuses_to_overwrite_without_force(small_result, tmp_path):
    output = tmp_path / "all.csv"
    output.write_text("precious\n")
    refused = run_cli("export", small_result, "-o", output, check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert output.read_text() == "precious\n"
    run_cli("export", small_result, "-o", output, "--force")
    assert output.read_text().startswith("file,machine,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.csv"]  # no temporary left


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_input_is_one_line_and_writes_nothing(small_result, tmp_path, kind):
    path, expected = bad_file(kind, small_result, tmp_path)
    output = tmp_path / "out" / "all.csv"
    output.parent.mkdir()
    completed = run_cli("export", small_result, path, "-o", output, check=False)
    assert completed.returncode == 2
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    assert str(path) in lines[0] and expected in lines[0], lines[0]
    assert list(output.parent.iterdir()) == []


def test_new_pattern_columns_round_trip(patterns_result):
    text = run_cli("export", patterns_result).stdout
    exported = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    frame = load_results([patterns_result])
    assert len(exported) == len(frame)
    keys = ["pattern", "transport", "method", "size_bytes", "procs", "chunksize"]
    exported = exported.set_index(keys).sort_index()
    frame = frame.set_index(keys).sort_index()
    assert list(exported.index) == list(frame.index)  # procs and chunksize keep cells apart
    assert set(exported.index.get_level_values("chunksize")) == {1, 4}
    assert exported["per_second"].to_numpy() == pytest.approx(frame["per_second"].to_numpy())
    startup = exported.xs(("startup", "os_pipe"), level=("pattern", "transport"))
    assert (startup["first_message_us"] > 0).all()
    counter = exported.xs("counter", level="pattern")
    assert (counter["updates"] > 0).all() and (counter["lost_updates"] >= 0).all()
    assert list(counter["lost_updates"]) == list(
        frame.xs("counter", level="pattern")["lost_updates"]
    )
    fanin = exported.xs("fanin", level="pattern")
    assert fanin["throughput_MBps"].to_numpy() == pytest.approx(
        64 / fanin["median"].to_numpy() / 1e6
    )
    pool = exported.xs("pool", level="pattern")
    assert pool["throughput_MBps"].isna().all() and pool["cpu_us_per_message"].isna().all()
