"""`ipcbench check`: what on this machine can spoil timings (the work is in ipcbench.check)."""

from ipcbench.errors import UsageError

SUMMARY = "what on this machine can spoil timings: CPUs, governor, load, steal"


def add_arguments(parser) -> None:
    parser.description = (
        "Print the CPUs this process may use, the frequency governor and turbo state where the "
        "kernel shows them, and the load and CPU steal of other processes sampled now, with a "
        "warning for each thing that can spoil timings. Changes nothing."
    )
    parser.add_argument(
        "--seconds",
        type=_positive_seconds,
        default=1.0,
        metavar="S",
        help="how long to sample load and steal (default 1)",
    )


def run(args) -> int:
    from ipcbench.check import run_check

    return run_check(args.seconds)


def _positive_seconds(text: str) -> float:
    import math

    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"--seconds: {text!r} is not a number") from None
    if not (math.isfinite(seconds) and 0 < seconds <= 60):
        raise UsageError(f"--seconds: {text!r} must be above 0 and at most 60")
    return seconds
