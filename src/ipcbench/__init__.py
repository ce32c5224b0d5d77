"""ipcbench: which way of moving data between Python processes is fastest, measured."""

from ipcbench.version import __version__

__all__ = ["__version__", "load_results"]


def load_results(paths):
    """One tidy pandas DataFrame row per cell per result file (see ipcbench.loader)."""
    from ipcbench.loader import load_results as _load_results

    return _load_results(paths)
