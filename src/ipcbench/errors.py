"""Errors a user can cause: reported as one line on stderr with exit status 2."""

import argparse


class UsageError(Exception):
    """Bad input from the user; the message is the whole explanation."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see --help)")
