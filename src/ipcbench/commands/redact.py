"""`ipcbench redact FILE`: a copy of a result file without host names, user names and local
paths (redact.py says what goes)."""

import sys
from pathlib import Path

from ipcbench import machine
from ipcbench.errors import UsageError

SUMMARY = "a copy of a result file without host names, user names and local paths"


def add_arguments(parser) -> None:
    parser.description = (
        "Write a copy of a result file without host names, user names and local paths (pyperf's "
        "host name and Python executable, absolute paths in the command line, the build's "
        "configure arguments and failure reasons); cells, figures, the machine's facts and "
        "fingerprint stay, so it still shows, compares and reports."
    )
    parser.add_argument("file", metavar="FILE", help="the result file")
    parser.add_argument("-o", "--output", metavar="OUT", help="the redacted copy")
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="the machine's name in the copy (default: its name, or `redacted` where that is "
        "the host name)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.add_argument(
        "--in-place", action="store_true", help="redact FILE itself (instead of -o OUT)"
    )


def run(args) -> int:
    source = Path(args.file)
    if args.in_place == (args.output is not None):
        raise UsageError("redact: give either -o OUT or --in-place")
    target = source if args.in_place else Path(args.output)
    if not args.in_place:
        from ipcbench.output import refuse_overwriting_inputs

        refuse_overwriting_inputs(target, [source])
        if target.exists() and not args.force:
            raise UsageError(f"{target}: already exists (use --force to overwrite it)")
        if not target.parent.is_dir():
            raise UsageError(f"{target}: directory {target.parent} does not exist")
    if args.name is not None:
        try:
            machine.check_name(args.name)
        except ValueError as error:
            raise UsageError(str(error)) from None
    from ipcbench.redact import redacted
    from ipcbench.results import load, save

    result = load(source)
    who = machine.of_result(result)
    if not result.machine and who.fingerprint:
        # An older file: its fingerprint, from facts redaction keeps, is stored before.
        result.machine = who.to_json()
    if args.name is not None and not result.machine:
        raise UsageError(f"{source}: no measured cell tells which machine it is: cannot name it")
    save(target, redacted(result, args.name))
    print(f"ipcbench: redacted {source} -> {target}", file=sys.stderr)
    return 0
