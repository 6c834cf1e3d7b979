"""Embedding Explorer: open, keep and look at embedding sets."""

__version__ = "0.1.0"
