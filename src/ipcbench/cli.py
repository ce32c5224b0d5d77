"""`python -m ipcbench VERB ...`: one thin sub-command per verb, calling the module that owns it.

Errors a user can cause end as one line on stderr and exit status 2.
"""

import sys

from ipcbench.errors import OneLineParser, UsageError

VERBS = {
    "list": "transports, start methods, patterns, default sizes",
    "check": "what on this machine can spoil timings: CPUs, governor, load, steal",
    "run": "run the benchmark matrix under pyperf (see `run --help`)",
    "show": "a readable table of one or more result files",
    "compare": "compare result files cell by cell: ratios, significance, regressions",
    "report": "one self-contained HTML report (plots, tables) from result files",
    "export": "result files as one tidy CSV table",
    "redact": "a copy of a result file without host names, user names and local paths",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except UsageError as error:
        return _fail(str(error))
    except BrokenPipeError:
        # `ipcbench show ... | head`: the reader left; silence the flush at exit too.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130  # Ctrl-C before any work began (a run handles it itself): nothing to report
    except Exception as error:
        from ipcbench.matrix import SelectionError
        from ipcbench.results import ResultFileError
        from ipcbench.transports import RegistryError

        if isinstance(error, SelectionError | ResultFileError | RegistryError):
            return _fail(str(error))
        raise


def _positive_seconds(text: str) -> float:
    import math

    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"--seconds: {text!r} is not a number") from None
    if not (math.isfinite(seconds) and 0 < seconds <= 60):
        raise UsageError(f"--seconds: {text!r} must be above 0 and at most 60")
    return seconds


def _fail(message: str) -> int:
    from ipcbench.output import printable

    # One line, whatever a file or an argument put in it.
    print(f"ipcbench: error: {printable(message).replace(chr(10), ' ')}", file=sys.stderr)
    return 2


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "run":
        # `run` owns a parser shared with pyperf (see runner.py), so it parses its own arguments.
        from ipcbench import runner

        return runner.main(argv[1:])
    parser = OneLineParser(prog="ipcbench", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(
        dest="verb", metavar="VERB", required=True, parser_class=OneLineParser
    )
    for verb, help_text in VERBS.items():
        verbs.add_parser(verb, help=help_text, add_help=verb != "run")
    verbs.choices["check"].add_argument(
        "--seconds",
        type=_positive_seconds,
        default=1.0,
        metavar="S",
        help="how long to sample load and steal (default 1)",
    )
    show = verbs.choices["show"]
    show.add_argument("files", nargs="+", metavar="FILE", help="result files")
    show.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list the cells pyperf's stability checks warn about, with the warnings",
    )
    _add_compare_arguments(verbs.choices["compare"])
    _add_report_arguments(verbs.choices["report"])
    _add_export_arguments(verbs.choices["export"])
    from ipcbench import redact

    redact.add_arguments(verbs.choices["redact"])
    args = parser.parse_args(argv)
    if args.verb == "list":
        return _list()
    if args.verb == "check":
        from ipcbench.check import run_check

        return run_check(args.seconds)
    if args.verb == "show":
        from ipcbench.output import printable
        from ipcbench.tables import show as show_files

        print(printable(show_files(args.files, verbose=args.verbose)))
        return 0
    if args.verb == "compare":
        from ipcbench.compare import run_compare
        from ipcbench.output import printable, spreadsheet_safe_csv

        text, status = run_compare(
            args.files, args.baseline, args.format, args.fail_above, args.min_effect
        )
        if args.format == "csv":  # headed for a spreadsheet as often as export's
            text = spreadsheet_safe_csv(text)
        print(printable(text))
        return status
    if args.verb == "report":
        from ipcbench.output import refuse_overwriting_inputs
        from ipcbench.report.html import DEFAULT_OUTPUT, run_report

        refuse_overwriting_inputs(args.output or DEFAULT_OUTPUT, args.files)
        run_report(args.files, args.output, args.baseline, args.heatmap_size, args.figure)
        return 0
    if args.verb == "export":
        from ipcbench.export import export_csv

        text = export_csv(args.files, args.output, force=args.force)
        if text is not None:
            sys.stdout.write(text)
        return 0
    if args.verb == "redact":
        return redact.run_redact(args)
    raise AssertionError(args.verb)


# The three analysis verbs only declare their arguments here; their modules (imported lazily,
# with pandas, scipy, matplotlib, jinja2) do the work.


def _add_compare_arguments(parser) -> None:
    parser.description = (
        "Align cells (pattern, transport, method, size, placement, kind, procs, chunksize) across "
        "result files and show each file's figure (median of its workers' medians) and CPU "
        "time per message, its ratio to the baseline (time / baseline time: above 1 is slower) "
        "with a 95%% interval, and a verdict (faster, slower, same, too few runs) from a "
        "t-test on the log worker medians (moderated by the typical spread), corrected across "
        "all cells (Benjamini-Hochberg, q < 0.05), calling no difference below --min-effect."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files (2 or more)")
    parser.add_argument(
        "--baseline", metavar="FILE", help="the reference file (default: the first FILE)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "md", "csv", "json"),
        default="text",
        help="text (default), md (markdown tables), csv (one row per cell per file), json",
    )
    parser.add_argument(
        "--fail-above",
        metavar="PCT",
        help="exit 1 when any cell is significantly slower than the baseline by more than PCT "
        "percent (`10%%` or `10`), listing those cells",
    )
    parser.add_argument(
        "--min-effect",
        metavar="PCT",
        help="the smallest difference ever called faster or slower (default 5%%)",
    )


def _add_report_arguments(parser) -> None:
    parser.description = (
        "Write one self-contained HTML file (images embedded, no network access needed): machine "
        "facts, the fastest transport per pattern and size, latency and throughput plots, the "
        "start-method heatmap, sections for startup, fanin, pool and counter cells where the "
        "files have them, a cross-machine heatmap for several files, and the full table."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the HTML file, overwritten if it exists (default: reports/index.html, creating "
        "reports/); with --figure, a .png or .svg file",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="the reference for the cross-machine heatmap (default: the first FILE)",
    )
    parser.add_argument(
        "--heatmap-size",
        metavar="SIZE",
        help="payload size of the start-method heatmap, e.g. 4KiB (default: the largest size "
        "of at most 64KiB in the results, or the smallest size if all are larger)",
    )
    parser.add_argument(
        "--figure",
        choices=("latency", "throughput", "methods", "cpu", "startup", "fanin", "pool", "machines"),
        help="write just this figure (as in the report) to -o FILE.png/.svg instead of the HTML",
    )


def _add_export_arguments(parser) -> None:
    parser.description = (
        "Write the tidy table of the result files (one row per cell per file, the columns of "
        "ipcbench.load_results) as CSV. Times are in seconds; the values column holds the raw "
        "pyperf values joined by single spaces. In pandas, read it with "
        "pd.read_csv(FILE, keep_default_na=False, na_values=['']) so the transport `null` "
        "stays a name."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="the CSV file (default: standard output)"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite the output file if it exists"
    )


def _list() -> int:
    import os

    from ipcbench.matrix import (
        DEFAULT_CHUNKSIZES,
        DEFAULT_PATTERNS,
        DEFAULT_PROCS,
        DEFAULT_SIZES,
        METHODS,
        PATTERN_SPECS,
        PLACEMENTS,
        default_placements,
    )
    from ipcbench.payloads import KINDS
    from ipcbench.sizes import format_size
    from ipcbench.tables import render
    from ipcbench.transports import registry

    rows, transports = [], list(registry())
    for transport in transports:
        reason = transport.unavailable_reason()
        limit = format_size(transport.max_size) if transport.max_size else "-"
        rows.append(
            [
                transport.name,
                ",".join(transport.methods),
                limit,
                f"unavailable: {reason}" if reason else transport.summary,
            ]
        )
    print(render(["transport", "start methods", "max size", "mechanism"], rows))
    cpus = len(os.sched_getaffinity(0))
    print()
    print(
        f"start methods: {', '.join(METHODS)}  (exec: a fresh interpreter via subprocess; "
        "none: no child process)"
    )
    print(f"default sizes: {', '.join(format_size(s) for s in DEFAULT_SIZES)}")
    print(
        f"placements:    {', '.join(PLACEMENTS)}  (default here: "
        f"{','.join(default_placements(cpus))}, {cpus} CPUs available)"
    )
    print(f"procs:         {','.join(map(str, DEFAULT_PROCS))} (fanin, pool, counter)")
    print(f"chunksizes:    {','.join(map(str, DEFAULT_CHUNKSIZES))} (pool map, imap)")
    kinds = []
    for kind in KINDS:
        carriers = [t.name for t in transports if kind in t.kinds]
        few = len(carriers) <= 2  # torch: only torch_mp carries it
        kinds.append(f"{kind} ({', '.join(carriers)} only)" if few else kind)
    print(f"kinds:         {', '.join(kinds)} (pingpong and stream; the run says what it skips)")
    print()
    rows = []
    for pattern in PATTERN_SPECS.values():
        measures = ["transports"] if pattern.on_transports else []
        measures += [variant.name for variant in pattern.variants]
        default = "yes" if pattern.name in DEFAULT_PATTERNS else "-p " + pattern.name
        rows.append([pattern.name, default, ", ".join(measures), pattern.summary])
    print(render(["pattern", "default", "measures", "what"], rows))
    return 0
