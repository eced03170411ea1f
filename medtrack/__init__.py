"""medtrack: a local-first medication tracker for the terminal."""

__version__ = "0.1.0"
