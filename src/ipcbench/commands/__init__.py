"""The verbs of `python -m ipcbench VERB`, one module per verb (asv's Command, as modules).

Each module has
    SUMMARY                 one line, for `ipcbench --help`
    add_arguments(parser)   its options, and the parser's description
    run(args) -> int        the work; the exit status
`run` alone parses its own command line (pyperf's parser): it has main(argv) instead.
Heavy libraries (pandas, matplotlib, jinja2, scipy) are imported inside run(), never at the
top: building the parser imports every module here.
"""

import importlib

# In the order of `ipcbench --help`; each is the module of its name.
VERBS = ("list", "check", "run", "show", "compare", "report", "export", "redact")


def command(verb: str):
    return importlib.import_module(f"{__name__}.{verb}")
