"""`ipcbench run`: run the benchmark matrix under pyperf (runner.py parses its command line)."""

SUMMARY = "run the benchmark matrix under pyperf (see `run --help`)"


def add_arguments(parser) -> None:
    """Nothing here: `run` parses its own arguments, with pyperf's (cli.py hands them over)."""


def main(argv: list[str]) -> int:
    from ipcbench.runner import main as run_main

    return run_main(argv)
