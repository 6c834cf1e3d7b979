"""Library sets whose images are real files or bytes made with Pillow (tests/compute/image_files.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from image_files import SUFFIX, good_image, write_set

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library


@dataclass
class ImageSet:
    folder: Path  # holds the data file and the images/ folder
    data: Path
    set_id: str
    values: list

    def open(self) -> EmbeddingSet:
        return Library().open(self.set_id)


def image_set(folder: Path, values: list, **options) -> ImageSet:
    entry = Library().import_file(write_set(folder, values, **options))
    return ImageSet(folder, folder / options.get("name", "images.parquet"), entry.id, values)


def image_files(folder: Path, n: int, seed: int = 0, sizes=(40, 200)) -> list[str]:
    """n good images in folder/images, as paths relative to `folder`."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        data, fmt = good_image(rng, sizes=sizes)
        (folder / "images" / f"{i}{SUFFIX[fmt]}").write_bytes(data)
        out.append(f"images/{i}{SUFFIX[fmt]}")
    return out


@pytest.fixture
def path_set(tmp_path) -> ImageSet:
    """40 image files named relative to the data file, a URL, a null and a missing file."""
    folder = tmp_path / "data"
    values = image_files(folder, 40) + ["https://example.com/a.jpg", None, "images/gone.png"]
    return image_set(folder, values)
