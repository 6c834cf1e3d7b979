"""`preprocessor_config.json`: how a Hugging Face image model wants its pixels, as settings.

An exported CLIP, ViT or SigLIP folder carries the image processor it was trained
with; its mean and standard deviation are not ImageNet's (CLIP's are
0.4815/0.4578/0.4082 and 0.2686/0.2613/0.2758), and feeding a model the wrong
ones shifts every vector. The file is read as untrusted input like
explorer-model.json, and turned into the same settings (image_size,
image_resize, crop, resample, image_mean, image_std), which explorer-model.json
may still override key by key. A processor step the encoder cannot do the same
way (a rescale other than 1/255, a resampling filter other than bicubic or
bilinear, a non-square crop) is refused with its field named, rather than
silently preprocessed differently from training.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from explorer.compute.encoding.model_config import FIELDS, MAX_IMAGE_SIZE, kind, read_json_object
from explorer.core.errors import InputError

PREPROCESSOR_FILE = "preprocessor_config.json"
# PIL's numbering, which the transformers image processors store.
_RESAMPLES = {2: "bilinear", 3: "bicubic"}
_RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 4: "box", 5: "hamming"}


def preprocessor_settings(path: Path, given: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The settings `path` (a preprocessor_config.json) amounts to; InputError naming a field.

    `given` are the settings explorer-model.json sets itself: what the file says about
    them is not read, so a step refused here can be overridden there.
    """
    data = read_json_object(path, "the image preprocessor settings", "image processor config")
    out: dict[str, Any] = {}
    center = _flag(data, "do_center_crop", path, default=False)
    sized = "image_size" in given
    size = None if sized else _size(data.get("size"), "size", path)
    crop = None if sized else _size(data.get("crop_size"), "crop_size", path)
    if center and crop is not None:
        out["crop"] = "center"
        out["image_size"] = crop[1]
        if size is not None:
            out["image_resize"] = size[1]
    elif size is not None:
        shortest, side = size
        out["crop"] = "center" if shortest else "resize"
        out["image_size"] = side
    if "resample" in data and "resample" not in given:
        out["resample"] = _resample(data["resample"], path)
    if _flag(data, "do_rescale", path, default=True):
        factor = data.get("rescale_factor", 1 / 255)
        if not _number(factor) or not math.isclose(factor, 1 / 255, rel_tol=1e-6):
            raise InputError(f"rescale_factor {kind(factor)} is not supported: pixels are "
                             "scaled by 1/255", path=path)
    else:
        raise InputError("do_rescale false is not supported: pixels are scaled by 1/255",
                         path=path)
    if _flag(data, "do_normalize", path, default=True):
        for key in ("image_mean", "image_std"):
            if key in data:
                out[key] = FIELDS[key](key, _three(data[key]), path)
    else:
        out["image_mean"], out["image_std"] = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    if out.get("image_resize") is not None and out["image_resize"] < out["image_size"]:
        raise InputError(f"size {out['image_resize']} is smaller than crop_size "
                         f"{out['image_size']}", path=path)
    return out


def _flag(data: dict, key: str, path: Path, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, not {kind(value)}", path=path)
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _three(value: Any) -> Any:
    """A processor may give one number for all three channels."""
    return [value] * 3 if _number(value) else value


def _size(value: Any, key: str, path: Path) -> tuple[bool, int] | None:
    """(resize the shortest side?, pixels) from `224`, {"shortest_edge": 224} or
    {"height": 224, "width": 224}; None when absent."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"shortest_edge"}:
        return True, _pixels(value["shortest_edge"], f"{key}.shortest_edge", path)
    if isinstance(value, dict) and set(value) == {"height", "width"}:
        height = _pixels(value["height"], f"{key}.height", path)
        width = _pixels(value["width"], f"{key}.width", path)
        if height != width:
            raise InputError(f"{key} is {height} x {width}: only square images are supported",
                             path=path)
        return False, height
    if isinstance(value, dict):
        raise InputError(f"{key} must be a number, {{\"shortest_edge\": N}} or "
                         f"{{\"height\": N, \"width\": N}}, not an object with "
                         f"{', '.join(sorted(str(k)[:20] for k in value)[:4])}", path=path)
    return True, _pixels(value, key, path)


def _pixels(value: Any, key: str, path: Path) -> int:
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 1 <= value <= MAX_IMAGE_SIZE):
        raise InputError(f"{key} must be a whole number from 1 to {MAX_IMAGE_SIZE:,}, "
                         f"not {kind(value)}", path=path)
    return value


def _resample(value: Any, path: Path) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value in _RESAMPLES:
        return _RESAMPLES[value]
    named = _RESAMPLE_NAMES.get(value) if isinstance(value, int) else None
    raise InputError(f"resample {kind(value)}{f' ({named})' if named else ''} is not "
                     "supported: images are resized bicubic (3) or bilinear (2)", path=path,
                     hint='set "resample" in explorer-model.json to use one of those anyway')
