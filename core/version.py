"""The version of mlpipex, in a module that imports nothing (any package may read it)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
