"""A small stored set of real pictures ("pictures": image files made with Pillow, a path
column naming them, every tenth file missing) for the preview tests, and its thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library

N, D = 120, 2  # 2-D: the map shows the vectors as they are
WAIT = 60000  # ms: only how long a broken job may hang a test before it fails
MISSING = np.arange(N) % 10 == 9  # rows whose file is not there


def make_pictures(folder: Path, n: int = N, seed: int = 3) -> list[str]:
    """n image files of varied shapes and colours (PNG and JPEG); returns their paths, the
    MISSING ones named but not written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        w, h = (int(v) for v in rng.integers(24, 200, size=2))
        pixels = np.empty((h, w, 3), dtype=np.uint8)
        pixels[:] = rng.integers(0, 256, size=3)
        pixels[: h // 2, : w // 2] = rng.integers(0, 256, size=3)
        path = folder / f"p{i:05d}.{'png' if i % 2 else 'jpg'}"
        if not (i < len(MISSING) and MISSING[i]):
            Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


def store_pictures(home: Path, folder: Path, n: int = N) -> Library:
    """The library at `home` holding "pictures": ids `p0`…, `kind`, and `path` to each file."""
    paths = make_pictures(folder, n)
    rng = np.random.default_rng(5)
    library = Library(home)
    table = pa.table({"id": [f"p{i}" for i in range(n)],
                      "kind": np.array(["wide", "tall", "square"])[np.arange(n) % 3],
                      "path": paths})
    library.import_set(EmbeddingSet(rng.normal(size=(n, D)).astype(np.float32), table,
                                    name="pictures", format="test", id_column="id"))
    return library


def open_pictures(qtbot, windows, folder: Path, build: bool = True):
    """A shown window with "pictures" open and, with `build`, its thumbnails made (through
    the window's own job, as View ▸ Images… makes them)."""
    from explorer.compute.thumbnails import ImageSource

    window = windows()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_library_set("pictures")
    qtbot.waitUntil(lambda: window.image_actions.found is not None, timeout=WAIT)
    if build:
        window.image_actions.start(ImageSource("path", "path", str(folder)))
        qtbot.waitUntil(window.state.thumbnails.available, timeout=WAIT)
    return window
