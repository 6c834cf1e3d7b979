"""Headless domain layer: sets, loaders, the on-disk library, metadata queries, jobs.

Nothing here may import Qt; `tests/core/test_headless.py` checks it.
"""
