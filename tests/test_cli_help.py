"""The command line's help and its answers to mistakes: what a user reads before running anything.

In-process where the parser allows (cli.main), one real `run --help` (pyperf's parser is built
once per process).
"""

import pytest
from conftest import run_cli

from ipcbench import __version__
from ipcbench.cli import main
from ipcbench.matrix import Selection, SelectionError, build_cells
from ipcbench.sizes import parse_size
from ipcbench.transports import registry


def test_run_help_lists_ipcbench_options_first_and_hides_pyperf_plumbing():
    out = run_cli("run", "--help").stdout
    ours, theirs = out.index("-t TRANSPORTS, --transports"), out.index("pyperf's options:")
    assert ours < out.index("--max-cells N  ") < theirs < out.index("--processes PROCESSES\n")
    assert out.index("[-t TRANSPORTS]") < out.index("[--processes PROCESSES]")  # usage too
    for hidden in ("--worker ", "--worker-task", "--pipe", "--compare-to", "--in-process"):
        assert hidden not in out
    # -t states the real default: the transports of the default matrix, not "all".
    transports = "".join(out[out.index("--transports TRANSPORTS") : theirs].split())
    defaults = [t.name for t in registry() if t.in_default_matrix]
    assert f"(default:{','.join(defaults)};" in transports
    assert "(default: all)" not in transports


def test_errors_name_the_command_once(capsys):
    assert main(["run", "--bogus"]) == 2
    line = capsys.readouterr().err
    assert line.startswith("ipcbench: error: run: unrecognized arguments: --bogus")
    assert "ipcbench: error: ipcbench" not in line and line.count("\n") == 1


@pytest.mark.parametrize(
    "selection, suggestion",
    [
        (Selection(transports=("os_pip",)), "did you mean os_pipe?"),
        (Selection(methods=("forkk",)), "did you mean fork?"),
        (Selection(patterns=("pinpong",)), "did you mean pingpong?"),
        (Selection(kinds=("numpi",)), "did you mean numpy?"),
    ],
)
def test_an_unknown_name_gets_the_closest_one(selection, suggestion):
    with pytest.raises(SelectionError, match=suggestion):
        build_cells(selection, registry(with_plugins=False), cpu_count=2)


def test_version_and_every_verb_has_a_description(capsys):
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0 and capsys.readouterr().out.strip() == f"ipcbench {__version__}"
    for verb in ("show", "list"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        help_text = capsys.readouterr().out
        description = help_text.split("\n\n")[1]
        assert len(description.split()) > 10, help_text


@pytest.mark.parametrize(
    "text, suggestion",
    [("10MB", "10MiB (or 10000000)"), ("4kb", "4KiB (or 4000)"), ("1 G", "1GiB (or 1000000000)")],
)
def test_a_decimal_size_is_answered_with_what_was_meant(text, suggestion):
    with pytest.raises(ValueError) as refused:
        parse_size(text)
    assert f"did you mean {suggestion}?" in str(refused.value)
