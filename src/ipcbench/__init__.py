"""ipcbench: which way of moving data between Python processes is fastest, measured."""

__version__ = "0.1.0"

# Version of the result-file layout (results.py); bump it when the layout changes.
SCHEMA_VERSION = 1


def load_results(paths):
    """One tidy pandas DataFrame row per cell per result file (see ipcbench.results)."""
    from ipcbench.results import load_results as _load_results

    return _load_results(paths)
