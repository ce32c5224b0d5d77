"""`python -m ipcbench VERB ...`: one thin sub-command per verb, calling the module that owns it.

Errors a user can cause end as one line on stderr and exit status 2.
"""

import sys

from ipcbench.errors import OneLineParser, UsageError

VERBS = {
    "list": "transports, start methods, patterns, default sizes",
    "run": "run the benchmark matrix under pyperf (see `run --help`)",
    "show": "a readable table of one or more result files",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except UsageError as error:
        return _fail(str(error))
    except Exception as error:
        from ipcbench.matrix import SelectionError
        from ipcbench.results import ResultFileError
        from ipcbench.transports import RegistryError

        if isinstance(error, SelectionError | ResultFileError | RegistryError):
            return _fail(str(error))
        raise
    except BrokenPipeError:
        return 0  # `ipcbench show ... | head`


def _fail(message: str) -> int:
    print(f"ipcbench: error: {message}", file=sys.stderr)
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
    show = verbs.choices["show"]
    show.add_argument("files", nargs="+", metavar="FILE", help="result files")
    args = parser.parse_args(argv)
    if args.verb == "list":
        return _list()
    if args.verb == "show":
        from ipcbench.tables import show as show_files

        print(show_files(args.files))
        return 0
    raise AssertionError(args.verb)


def _list() -> int:
    import os

    from ipcbench.matrix import DEFAULT_SIZES, METHODS, PATTERNS, PLACEMENTS, default_placements
    from ipcbench.sizes import format_size
    from ipcbench.tables import render
    from ipcbench.transports import registry

    rows = []
    for transport in registry():
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
    print(
        f"patterns:      {', '.join(PATTERNS)}  (pingpong: round-trip latency; "
        "stream: one-way throughput)"
    )
    print(f"default sizes: {', '.join(format_size(s) for s in DEFAULT_SIZES)}")
    print(
        f"placements:    {', '.join(PLACEMENTS)}  (default here: "
        f"{','.join(default_placements(cpus))}, {cpus} CPUs available)"
    )
    return 0
