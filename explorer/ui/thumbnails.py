"""The shown set's thumbnails, as every view reads them: the store and its decoded pixmaps.

One `Thumbnails` per window, held by the shared state (`state.thumbnails`), so panels read
the same store and share one cache of decoded pixmaps without knowing of each other. The
window sets the store when a set is shown or its thumbnails are built (`set_store`);
`changed` tells the views to look again.

A 128 px JPEG or WebP decodes in well under a millisecond, so a tooltip or a list's few
dozen cells decode on the UI thread, once: the pixmaps stay in a small LRU. What needs
hundreds at once (the map's thumbnail layer) decodes in a job with Pillow
(`decode_rgba`, no Qt in the worker) and hands the arrays to `put_rgba`.
"""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

CAPACITY = 2048  # pixmaps kept: 2048 x 128 x 128 x 4 bytes is at most 128 MB, mostly less


def decode_rgba(data: bytes) -> np.ndarray | None:
    """A thumbnail's pixels as an (h, w, 4) uint8 array, or None when the bytes do not
    decode (the store wrote them, but a damaged cache file is still untrusted)."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:  # all the store writes
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def pixmap_of_rgba(pixels: np.ndarray) -> QPixmap:
    """A QPixmap of an (h, w, 4) RGBA array (UI thread only: pixmaps live there)."""
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(image.copy())  # the copy owns its pixels; the array may go


class Thumbnails(QObject):
    """The thumbnail store of the set shown (or none) and an LRU of its decoded pixmaps."""

    changed = Signal()  # another store (or none): views show thumbnails again, or stop

    def __init__(self, capacity: int = CAPACITY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.store = None  # explorer.compute.thumbnails.ThumbnailStore | None
        self.set_id: str | None = None  # the library id of the set the store belongs to
        self.offer = ""  # what the user can do when there is no store (an empty state's text)
        self._pixmaps: OrderedDict[int, QPixmap | None] = OrderedDict()

    def set_store(self, store, set_id: str | None = None, offer: str = "") -> None:
        """Show `store`'s thumbnails (None: none; `offer` says how to get them)."""
        self.store = store
        self.set_id = set_id
        self.offer = offer
        self._pixmaps.clear()
        self.changed.emit()

    def available(self) -> bool:
        return self.store is not None

    def status(self, row: int) -> str:
        """"ok", "missing", "broken", "url", "pending", or "none" without a store."""
        store = self.store
        if store is None or not 0 <= row < store.count:
            return "none"
        return store.status(row)

    def cached(self, row: int) -> bool:
        return row in self._pixmaps

    def pixmap(self, row: int) -> QPixmap | None:
        """The row's thumbnail, decoded once (None when it has none)."""
        if row in self._pixmaps:
            self._pixmaps.move_to_end(row)
            return self._pixmaps[row]
        store = self.store
        if store is None or not 0 <= row < store.count:
            return None
        data = store.get(row)
        pixmap = None
        if data:
            image = QImage.fromData(data)
            pixmap = None if image.isNull() else QPixmap.fromImage(image)
        self._remember(row, pixmap)
        return pixmap

    def put_rgba(self, row: int, pixels: np.ndarray | None) -> QPixmap | None:
        """Keep a thumbnail a job decoded (`decode_rgba`); returns its pixmap."""
        pixmap = None if pixels is None else pixmap_of_rgba(pixels)
        self._remember(row, pixmap)
        return pixmap

    def _remember(self, row: int, pixmap: QPixmap | None) -> None:
        self._pixmaps[row] = pixmap
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)
