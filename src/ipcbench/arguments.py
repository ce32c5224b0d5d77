"""Command-line parsing that fails the way every user error does: one line, exit status 2."""

import argparse

from ipcbench.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting.

    The message names the command (`run: ...`); cli.py adds `ipcbench: error:` once.
    """

    def error(self, message: str):
        command = self.prog.removeprefix("ipcbench").strip()
        raise UsageError(f"{command}: {message} (see --help)" if command else message)
