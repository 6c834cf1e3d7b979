"""The item's own picture, read in a job: the thumbnail is shown at once, this replaces it.

A thumbnail is 128 px; the panel shows the item larger, so it reads the original again
(`read_image`: the thumbnail job's safety rules, fitted into MAX_SIDE) and decodes it with
Pillow in the worker, leaving the UI thread only the pixmap to make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.ui.thumbnails import decode_rgba

MAX_SIDE = 1024  # the original is fitted into this before it reaches the UI thread


@dataclass(frozen=True)
class Original:
    """Row `row`'s picture as RGBA pixels, or why there is none (`reason`)."""

    row: int
    pixels: np.ndarray | None = None
    reason: str = ""


def read_original(es: EmbeddingSet, source, row: int, state: TaskState) -> Original:
    """Row `row`'s image read and decoded (a job); a problem is a reason, not an error."""
    from explorer.compute import thumbnails as th

    state.status("Reading the item's picture")
    try:
        found = th.read_image(es, source, row, max_side=MAX_SIDE)
    except InputError as exc:  # the source no longer fits the set (a column gone)
        return Original(row, reason=exc.message)
    if isinstance(found, th.Unreadable):
        return Original(row, reason=found.reason)
    pixels = decode_rgba(found)
    return Original(row, pixels) if pixels is not None else Original(
        row, reason="it could not be decoded")
