"""`ipcbench show FILE...`: a readable table of result files (the text is show.py's)."""

SUMMARY = "a readable table of one or more result files"


def add_arguments(parser) -> None:
    parser.description = (
        "Print, per result file, the machine it ran on and one line per cell: its median in "
        "the pattern's unit with the 95% interval over workers, the worker count and CPU time "
        "per message; unstable cells marked ! with the reasons under the table, the cells "
        "that failed or did not run, and a warning when the machine was busy."
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="result files")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="list the cells pyperf's stability checks warn about, with the warnings",
    )


def run(args) -> int:
    from ipcbench.output import printable
    from ipcbench.show import show

    print(printable(show(args.files, verbose=args.verbose)))
    return 0
