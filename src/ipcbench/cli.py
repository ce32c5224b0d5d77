"""`python -m ipcbench VERB ...`: a dispatch table over the verbs (commands/, one module each).

Every error a user can cause (errors.UsageError and its kinds) ends here as one line on stderr
and exit status 2, never a traceback.
"""

import sys

import ipcbench
from ipcbench import commands
from ipcbench.arguments import OneLineParser
from ipcbench.errors import UsageError
from ipcbench.version import __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except UsageError as error:  # every error a user can cause (see errors.py)
        return _fail(str(error))
    except BrokenPipeError:
        # `ipcbench show ... | head`: the reader left; silence the flush at exit too.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130  # Ctrl-C before any work began (a run handles it itself): nothing to report


def _fail(message: str) -> int:
    from ipcbench.output import printable

    # One line, whatever a file or an argument put in it.
    print(f"ipcbench: error: {printable(message).replace(chr(10), ' ')}", file=sys.stderr)
    return 2


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "run":
        # `run` owns a parser shared with pyperf (see runner.py): it parses its own arguments.
        return commands.command("run").main(argv[1:])
    parser = OneLineParser(prog="ipcbench", description=ipcbench.__doc__)
    parser.add_argument("--version", action="version", version=f"ipcbench {__version__}")
    verbs = parser.add_subparsers(
        dest="verb", metavar="VERB", required=True, parser_class=OneLineParser
    )
    for verb in commands.VERBS:
        command = commands.command(verb)
        sub = verbs.add_parser(verb, help=command.SUMMARY, add_help=verb != "run")
        command.add_arguments(sub)
    args = parser.parse_args(argv)
    return commands.command(args.verb).run(args)
