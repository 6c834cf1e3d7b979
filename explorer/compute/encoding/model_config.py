"""`explorer-model.json`: the settings a model folder carries, read as untrusted input.

A model folder may come from anywhere, so every field is checked for its JSON
type and its range before anything uses it: a list where a name belongs, a
number with 5,000 digits, NaN, an image size that would need terabytes, or a
file of megabytes is refused with a message naming the field, never a traceback
from deep inside the encoder.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from explorer.core.errors import InputError

CONFIG_FILE = "explorer-model.json"
MODALITIES = ("text", "image")
POOLINGS = ("mean", "cls", "none")
CROPS = ("center", "resize")
RESAMPLES = ("bicubic", "bilinear")
DEFAULT_MAX_TOKENS = 512
# Bounds far above any published embedding model, low enough that a hostile value
# cannot ask for more memory than a desktop has (a 2048-pixel image is 50 MB as float32).
MAX_TOKENS = 131_072
MAX_IMAGE_SIZE = 2048
MAX_DIM = 65_536
MAX_NAME_CHARS = 1000  # prefixes and output names
MAX_CONFIG_BYTES = 1 << 20  # the settings are a few hundred bytes; provenance a few kB


@dataclass(frozen=True)
class ModelConfig:
    """How to feed a model and turn its output into one vector per item.

    None means "infer it from the graph" (modality, pooling, image_size, output,
    dim); an opened ModelFolder always holds a config with those filled in.
    """

    modality: str | None = None  # "text" | "image"
    pooling: str | None = None  # "mean" | "cls" | "none" (the output is already one vector)
    normalise: bool = True
    max_tokens: int | None = None  # None: the tokenizer's own limit, else 512
    query_prefix: str = ""
    document_prefix: str = ""
    image_size: int | None = None
    image_resize: int | None = None  # "center" crop: shortest side first set to this (None: size)
    image_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # ImageNet
    image_std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    crop: str = "center"  # "center": shortest side to size, centre crop; "resize": squash
    resample: str = "bicubic"
    output: str | None = None  # which graph output holds the embedding
    dim: int | None = None  # only needed when the graph leaves the width open
    file: str | None = None  # the model file, relative to the folder (None: looked for)
    tokenizer: str | None = None  # a text model's tokenizer, relative (None: tokenizer.json)
    # An image model's matching text model (a CLIP-style pair): checked settings of
    # TEXT_TOWER_KEYS; {} means "the usual files" (text_model.onnx, tokenizer.json).
    text_tower: dict | None = None
    provenance: dict = field(default_factory=dict)  # where the files came from

    @classmethod
    def read(cls, path: Path) -> ModelConfig:
        """Read and check `explorer-model.json`; unknown keys are refused so a typo is not lost."""
        return cls(**read_settings(path))

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def read_settings(path: Path) -> dict[str, Any]:
    """The settings `explorer-model.json` gives, checked and converted: only the keys it holds,
    so they can be laid over what a model's other files say (preprocessor_config.json)."""
    data = read_json_object(path, "the model settings", "explorer-model.json")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown setting {unknown[0]!r}", path=path,
                         hint="known settings: " + ", ".join(sorted(FIELDS)))
    return {key: FIELDS[key](key, value, path) for key, value in data.items()}


def read_json_object(path: Path, what: str, file_kind: str) -> dict:
    """A small JSON object from an untrusted file; InputError saying `what` was wrong with it."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=path) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"{what} {'are' if what.endswith('s') else 'is'} larger than "
                         f"{MAX_CONFIG_BYTES // 1024} kB; this is not an {file_kind}", path=path)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise InputError(f"{what} {'are' if what.endswith('s') else 'is'} not UTF-8 text",
                         path=path) from None
    except RecursionError:
        raise InputError(f"{what} {'are' if what.endswith('s') else 'is'} nested too deeply",
                         path=path) from None
    except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
        raise InputError(f"cannot read {what}: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object, not {kind(data)}", path=path)
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number the settings may hold")


def kind(value: Any) -> str:
    """How a JSON value is described in a message: its JSON type, and short values themselves."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value)
        return f"the number {text}" if len(text) <= 20 else "a very large number"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) <= 40 else "a long text"
    return "a list" if isinstance(value, list) else "an object"


def _choice(allowed: tuple[str, ...], nullable: bool) -> Callable[[str, Any, Path], str | None]:
    def check(key: str, value: Any, path: Path) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or value not in allowed:
            raise InputError(f"{key} must be one of {', '.join(allowed)}, not {kind(value)}",
                             path=path)
        return value
    return check


def _whole(largest: int) -> Callable[[str, Any, Path], int | None]:
    def check(key: str, value: Any, path: Path) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= largest:
            raise InputError(f"{key} must be a whole number from 1 to {largest:,}, "
                             f"not {kind(value)}", path=path)
        return value
    return check


def _text(nullable: bool, empty: bool) -> Callable[[str, Any, Path], str | None]:
    def check(key: str, value: Any, path: Path) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise InputError(f"{key} must be text, not {kind(value)}", path=path)
        if not value and not empty:
            raise InputError(f"{key} must not be empty", path=path)
        if len(value) > MAX_NAME_CHARS:
            raise InputError(f"{key} is {len(value):,} characters long; at most "
                             f"{MAX_NAME_CHARS:,} are allowed", path=path)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, written \udXXX in the JSON
            raise InputError(f"{key} holds an invalid character", path=path) from None
        return value
    return check


def _flag(key: str, value: Any, path: Path) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, not {kind(value)}", path=path)
    return value


def _rgb(lowest: float, largest: float) -> Callable[[str, Any, Path], tuple[float, float, float]]:
    def check(key: str, value: Any, path: Path) -> tuple[float, float, float]:
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) and lowest <= v <= largest for v in value)):
            raise InputError(f"{key} must be a list of three numbers (R, G, B) from {lowest:g} "
                             f"to {largest:g}, not {kind(value)}", path=path)
        return (float(value[0]), float(value[1]), float(value[2]))
    return check


def _object(key: str, value: Any, path: Path) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{key} must be a JSON object, not {kind(value)}", path=path)
    return value


def _inside(key: str, value: Any, path: Path) -> str:
    """A file named relative to the model folder; where it leads is checked again on opening
    (a symbolic link may point out), but an absolute path or `..` is refused here."""
    value = _text(nullable=False, empty=False)(key, value, path)
    parts = PurePosixPath(value.replace("\\", "/")).parts
    if (PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()
            or PureWindowsPath(value).drive or ".." in parts or "\0" in value):
        raise InputError(f"{key} must name a file inside the model folder, not {value!r}",
                         path=path)
    return value


def _text_tower(key: str, value: Any, path: Path) -> dict[str, Any]:
    """The text tower's own settings, each checked as the same setting of a model is."""
    if not isinstance(value, dict):
        raise InputError(f"{key} must be a JSON object, not {kind(value)}", path=path)
    unknown = sorted(set(value) - set(TEXT_TOWER_KEYS))
    if unknown:
        raise InputError(f"{key} holds an unknown setting {unknown[0][:40]!r}", path=path,
                         hint=f"{key} may hold: " + ", ".join(TEXT_TOWER_KEYS))
    return {name: FIELDS[name](f"{key}.{name}", item, path) for name, item in value.items()}


# Every field of ModelConfig and how its JSON value is checked (and converted).
FIELDS: dict[str, Callable[[str, Any, Path], Any]] = {
    "modality": _choice(MODALITIES, nullable=True),
    "pooling": _choice(POOLINGS, nullable=True),
    "normalise": _flag,
    "max_tokens": _whole(MAX_TOKENS),
    "query_prefix": _text(nullable=False, empty=True),
    "document_prefix": _text(nullable=False, empty=True),
    "image_size": _whole(MAX_IMAGE_SIZE),
    "image_resize": _whole(MAX_IMAGE_SIZE),
    "image_mean": _rgb(-1e3, 1e3),
    "image_std": _rgb(1e-6, 1e3),
    "crop": _choice(CROPS, nullable=False),
    "resample": _choice(RESAMPLES, nullable=False),
    "output": _text(nullable=True, empty=False),
    "dim": _whole(MAX_DIM),
    "file": _inside,
    "tokenizer": _inside,
    "text_tower": _text_tower,
    "provenance": _object,
}
TEXT_TOWER_KEYS = ("file", "tokenizer", "output", "pooling", "normalise", "max_tokens",
                   "query_prefix", "dim")
