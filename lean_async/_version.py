"""The installed version of lean-async."""

__version__ = "0.1.0"
