"""Images to vectors with an ONNX model taking `pixel_values` [batch, 3, size, size].

Preprocessing follows the usual recipe of CLIP / ViT image processors: decode
to RGB (turned upright by its EXIF orientation), resize the shortest side to
the model's size (or `image_resize`) and crop the centre (or squash to a
square), scale to 0..1, subtract the mean and divide by the standard deviation
per channel, NCHW. The settings come from the folder's preprocessor_config.json
when it has one (model_folder.py), so a CLIP folder is fed CLIP's mean and std.
A file that does not decode raises InputError naming it, so a pipeline can
skip and count it without losing the rest of the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from explorer.compute.encoding.model_folder import ModelFolder, open_model, pool_output
from explorer.compute.encoding.runtime import RUN_ERRORS, run_error
from explorer.core.errors import InputError
from explorer.core.inputs.images import FORMATS, over_pixel_limit

ImageInput = str | Path | Image.Image

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


class ImageEncoder:
    """Encodes images with an image model folder; one instance per model, reused."""

    def __init__(self, folder: ModelFolder | str | Path, threads: int | None = None) -> None:
        self.folder = folder if isinstance(folder, ModelFolder) else open_model(folder)
        config = self.folder.config
        if config.modality != "image":
            raise InputError(f"model {self.folder.name!r} encodes text, not images",
                             path=self.folder.path)
        self.dim = self.folder.dim
        self.size = config.image_size
        self._mean = np.asarray(config.image_mean, np.float32).reshape(1, 1, 3)
        self._std = np.asarray(config.image_std, np.float32).reshape(1, 1, 3)
        self._session = self.folder.session(threads)

    def load(self, item: ImageInput) -> np.ndarray:
        """One image as float32 [3, size, size], ready for the model."""
        if isinstance(item, Image.Image):
            image = item
        else:
            try:
                with Image.open(item, formats=FORMATS) as opened:  # never EPS: Ghostscript
                    if over_pixel_limit(*opened.size):
                        raise InputError("the image is too large to decode safely "
                                         f"({opened.size[0]} x {opened.size[1]} pixels)",
                                         path=item)
                    image = ImageOps.exif_transpose(opened)
                    image.load()
            except InputError:
                raise
            except Exception as exc:  # Pillow raises many types for a broken file
                raise InputError(f"cannot decode the image: {exc}", path=item) from None
        pixels = np.asarray(self._fit(image.convert("RGB")), np.float32) / 255.0
        return ((pixels - self._mean) / self._std).transpose(2, 0, 1)

    def preprocess(self, items: Sequence[ImageInput]) -> np.ndarray:
        """A batch as float32 [n, 3, size, size]."""
        return np.stack([self.load(item) for item in items]) if len(items) else \
            np.zeros((0, 3, self.size, self.size), np.float32)

    def run(self, pixels: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Run the model on a preprocessed batch: float32 [n, dim], pooled and normalised."""
        try:
            out = self._session.run([self.folder.output],
                                    self.folder.feeds({"pixel_values": pixels}))[0]
        except RUN_ERRORS as exc:
            raise InputError(f"the model cannot run on {len(pixels)} image(s) of "
                             f"{self.size} x {self.size} pixels ({run_error(exc)})",
                             path=self.folder.model_file,
                             hint="check image_size in explorer-model.json") from None
        return pool_output(self.folder, out, None,
                           np.arange(len(pixels)) if rows is None else rows)

    def encode(self, items: Sequence[ImageInput], batch_size: int = 32) -> np.ndarray:
        """Encode images (paths or Pillow images) in batches; rows in the given order."""
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1, not {batch_size}")
        out = np.empty((len(items), self.dim), np.float32)
        for start in range(0, len(items), batch_size):
            rows = np.arange(start, min(start + batch_size, len(items)))
            out[rows] = self.run(self.preprocess([items[i] for i in rows]), rows)
        return out

    def _fit(self, image: Image.Image) -> Image.Image:
        size = self.size
        config = self.folder.config
        resample = _RESAMPLE[config.resample]
        if config.crop == "resize":
            return image.resize((size, size), resample)
        short = config.image_resize or size
        width, height = image.size
        if width <= height:
            new = (short, max(short, height * short // width))
        else:
            new = (max(short, width * short // height), short)
        image = image.resize(new, resample)
        left, top = (new[0] - size) // 2, (new[1] - size) // 2
        return image.crop((left, top, left + size, top + size))
