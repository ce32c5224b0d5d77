"""ipcbench's version, recorded in every result file (its own module: anything may import it)."""

__version__ = "0.1.0"
