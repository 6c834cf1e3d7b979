"""A model folder: `model.onnx`, `tokenizer.json` for text, and an optional `explorer-model.json`.

That is the layout most published ONNX embedding models use. What the graph
tells us (which inputs it takes, which output holds the embedding, its rank and
width) is read from the graph with onnxruntime, so `explorer-model.json` only
has to carry what cannot be inferred: pooling, normalisation, prefixes, image
preprocessing. A model that does not fit is refused when it is opened, with a
message naming the input or output that was not understood, rather than
failing on the first batch of a long job.

A CLIP-style folder holds an image model and its matching text model (the two
towers of one model, whose vectors share a space), so typed text can search
images: `vision_model.onnx` + `text_model.onnx` + `tokenizer.json` (as exported
for transformers.js, or declared with "file" and "text_tower" in
explorer-model.json), or one `model.onnx` taking both `pixel_values` and
`input_ids` with `image_embeds` and `text_embeds` outputs (what `optimum-cli
export onnx` writes for CLIP). Each tower is opened as a model of its own; the
text tower hangs off the image one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.compute.encoding.model_config import (
    CONFIG_FILE,
    DEFAULT_MAX_TOKENS,
    MAX_DIM,
    MAX_IMAGE_SIZE,
    MAX_TOKENS,
    ModelConfig,
    read_settings,
)
from explorer.compute.encoding.preprocessor import PREPROCESSOR_FILE, preprocessor_settings
from explorer.compute.encoding.runtime import Session, open_session
from explorer.core.atomic import write_json
from explorer.core.errors import InputError
from explorer.core.paths import data_home

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
HASH_FILE = ".explorer-hash.json"
# Where the model file sits: the folder itself, or `onnx/` as in Hugging Face repositories.
MODEL_FILES = ("model.onnx", "onnx/model.onnx")
# A CLIP-style pair as two files (transformers.js exports, jina-clip): found side by side.
PAIR_FILES = (("vision_model.onnx", "text_model.onnx"),
              ("onnx/vision_model.onnx", "onnx/text_model.onnx"))

TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
IMAGE_INPUTS = ("pixel_values",)
# Outputs holding an embedding, preferred in this order when a graph has several.
# An image model's pooler_output is its final-normalised [CLS] (CLIP's vision model without
# the projection, DINOv2), better than the raw last_hidden_state, though not in a text space.
OUTPUT_NAMES = {"text": ("sentence_embedding", "text_embeds", "embeddings", "last_hidden_state"),
                "image": ("image_embeds", "embeddings", "pooler_output", "last_hidden_state")}
# The output of each tower when one graph holds both (optimum's CLIP export).
PAIR_OUTPUTS = {"image": "image_embeds", "text": "text_embeds"}

_INPUT_DTYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32,
                 "tensor(float)": np.float32}


@dataclass(frozen=True)
class ModelFolder:
    """An opened, checked model folder: everything an encoder needs to run it."""

    path: Path
    name: str
    model_file: Path
    config: ModelConfig  # resolved: modality, pooling, dim, output... all filled in
    sha256: str
    dim: int
    inputs: dict[str, type]  # input name -> numpy dtype it is fed as
    output: str
    tokenizer_file: Path | None = None  # a text model's tokenizer.json
    text_tower: ModelFolder | None = None  # an image model's matching text model (CLIP-style)
    # The other tower's inputs when one graph holds both: a minimal value each, so the
    # graph runs while only this tower's output is asked for.
    other_inputs: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        size = self.model_file.stat().st_size
        if self.text_tower is not None and self.text_tower.model_file != self.model_file:
            size += self.text_tower.model_file.stat().st_size
        return size

    def feeds(self, given: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What the session is fed: this tower's inputs, and the other tower's placeholders."""
        return {**given, **self.other_inputs}

    def session(self, threads: int | None = None) -> Session:
        """One session per encoder, reused for every batch: creating one costs ~0.2 s."""
        return open_session(self.model_file, threads or cpu_count())

    def provenance(self) -> dict:
        """What an embedding set records about the model that made it."""
        record = {"name": self.name, "path": str(self.path), "sha256": self.sha256,
                  "dim": self.dim, "output": self.output, "config": self.config.to_json()}
        if self.text_tower is not None:
            tower = self.text_tower
            record["text_tower"] = {"file": tower.model_file.relative_to(self.path).as_posix(),
                                    "sha256": tower.sha256, "output": tower.output}
        return record


def pool_output(folder: ModelFolder, out: np.ndarray, mask: np.ndarray | None,
                rows: np.ndarray) -> np.ndarray:
    """One checked vector per item from a raw output: pooled over the mask, normalised.

    `mask` marks real tokens (None: every position counts, as for images); `rows`
    are the items' positions in the caller's list, so a bad one can be named.
    """
    config = folder.config
    expected = 2 if config.pooling == "none" else 3
    if out.dtype != np.float32 or out.ndim != expected or out.shape[-1] != folder.dim:
        raise InputError(f"model output {folder.output!r} came back as {out.dtype} "
                         f"{list(out.shape)}, expected float32 with {expected} axes and "
                         f"width {folder.dim}", path=folder.model_file)
    if config.pooling == "mean" and mask is None:
        vectors = out.mean(axis=1)
    elif config.pooling == "mean":
        weights = mask.astype(np.float32)
        vectors = np.einsum("bsd,bs->bd", out, weights)
        vectors /= np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    elif config.pooling == "cls":
        vectors = np.ascontiguousarray(out[:, 0])
    else:
        vectors = out
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise InputError(f"model output {folder.output!r} is not finite (NaN or infinity) "
                         f"for {bad.size} item(s)", path=folder.model_file,
                         row=int(rows[bad[0]]))
    if config.normalise:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors.astype(np.float32, copy=False)


def cpu_count() -> int:
    """Cores this process may use (a container's limit, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def models_dir() -> Path:
    return data_home() / "models"


def installed_names() -> list[str]:
    root = models_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def open_model(path_or_name: str | Path) -> ModelFolder:
    """Open a model folder given by path, or by the name it was installed under."""
    path = Path(path_or_name).expanduser()
    if not path.exists() and not isinstance(path_or_name, Path) and len(path.parts) == 1:
        path = models_dir() / str(path_or_name)
        if not path.is_dir():
            names = installed_names()
            raise InputError(
                f"no model folder or installed model named {str(path_or_name)!r}",
                hint=("installed: " + ", ".join(names)) if names
                else "install the default one with: embedding-explorer models install minilm")
    if not path.exists():
        raise InputError("model folder not found", path=path)
    if not path.is_dir():
        raise InputError("give the folder holding model.onnx (and tokenizer.json for text), "
                         "not a file", path=path)
    return _open_folder(path.resolve())


def _open_folder(path: Path) -> ModelFolder:
    config_path = path / CONFIG_FILE
    if config_path.exists() and not config_path.is_file():
        raise InputError("the model settings are not a regular file", path=config_path)
    settings = read_settings(config_path) if config_path.exists() else {}
    model_file, pair_file = _find_model(path, settings)
    folder = _open_graph(path, model_file, settings)
    if folder.config.modality != "image":
        if settings.get("text_tower") is not None:
            raise InputError("text_tower belongs in an image model's settings, and this "
                             "model encodes text", path=config_path)
        return folder
    tower = _open_text_tower(folder, settings.get("text_tower"), pair_file)
    return folder if tower is None else dataclasses.replace(folder, text_tower=tower)


def _find_model(path: Path, settings: dict) -> tuple[Path, Path | None]:
    """The (image or text) model file, and a text tower file found beside it by its name."""
    if settings.get("file") is not None:
        return inside(path, settings["file"], "file"), None
    for image, text in PAIR_FILES:
        if (path / image).is_file() and (path / text).is_file():
            return path / image, path / text
    found = next((path / f for f in MODEL_FILES + tuple(i for i, _ in PAIR_FILES)
                  if (path / f).is_file()), None)
    if found is None:
        raise InputError("no model.onnx in the model folder", path=path,
                         hint="a CLIP-style folder holds vision_model.onnx and text_model.onnx")
    return found, None


def inside(path: Path, name: str, key: str) -> Path:
    """The file `name` (as the setting `key` gives it) in the model folder `path`, which it
    may not leave, not even through a symbolic link."""
    target = path / name
    try:
        resolved = target.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of links
        raise InputError(f"{key} names {name!r}, which is not in the model folder",
                         path=target) from None
    if not resolved.is_relative_to(path):
        raise InputError(f"{key} names {name!r}, which leads outside the model folder",
                         path=target)
    if not resolved.is_file():
        raise InputError(f"{key} names {name!r}, which is not a file", path=target)
    return target


def _open_text_tower(image: ModelFolder, spec: dict | None,
                     pair_file: Path | None) -> ModelFolder | None:
    """The image model's text tower: declared, found beside it, or inside its own graph."""
    one_graph = bool(image.other_inputs)
    if spec is None and pair_file is None and not one_graph:
        return None
    spec = dict(spec or {})
    if "file" in spec:
        text_file = inside(image.path, spec.pop("file"), "text_tower.file")
    elif pair_file is not None or one_graph:
        text_file = pair_file or image.model_file
    else:
        text_file = image.model_file.parent / PAIR_FILES[0][1]
        if not text_file.is_file():
            raise InputError("text_tower names no file, and there is no text_model.onnx beside "
                             f"{image.model_file.name}", path=image.path,
                             hint='name it: "text_tower": {"file": "text_model.onnx"}')
    placeholder = {"pixel_values": np.zeros((1, 3, image.config.image_size,
                                             image.config.image_size), np.float32)}
    tower = _open_graph(image.path, text_file, {**spec, "modality": "text"}, key="text_tower.",
                        placeholders=placeholder if text_file == image.model_file else None)
    if tower.dim != image.dim:
        raise InputError(f"the text tower {text_file.name} gives {tower.dim} dimensions but the "
                         f"image model {image.model_file.name} gives {image.dim}: they do not "
                         "share one space", path=text_file)
    return tower


def _open_graph(path: Path, model_file: Path, settings: dict, *, key: str = "",
                placeholders: dict[str, np.ndarray] | None = None) -> ModelFolder:
    """One graph of the folder opened as a model: a model of its own or one tower of a pair.

    `key` prefixes setting names in messages ("text_tower."); `placeholders` are the
    other tower's inputs when the graph holds both (None: made from the graph).
    """
    try:
        session = open_session(model_file, 1, optimise=False)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise InputError(f"onnxruntime cannot load the model: {exc}", path=model_file) from None
    inputs, modality, others = _check_inputs(session, settings.get("modality"), model_file)
    if modality == "image" and (path / PREPROCESSOR_FILE).is_file():
        settings = {**preprocessor_settings(path / PREPROCESSOR_FILE, frozenset(settings)),
                    **settings}
    if others and "output" not in settings:
        settings = {**settings, "output": PAIR_OUTPUTS[modality]}
    config = ModelConfig(**{k: v for k, v in settings.items() if k != "text_tower"})
    output, rank, width = _pick_output(session, config, modality, model_file)
    tokenizer = None
    if modality == "text":
        tokenizer = (inside(path, config.tokenizer, key + "tokenizer") if config.tokenizer
                     else path / TOKENIZER_FILE)
        if not tokenizer.is_file():
            raise InputError(f"a text model needs a tokenizer.json next to {model_file.name}",
                             path=path, hint="copy it from the model's original repository")
    config = _resolve(config, session, modality, output, rank, width, path, model_file,
                      tokenizer)
    if others and placeholders is None:
        placeholders = _placeholders(session, others, config)
    return ModelFolder(path=path, name=path.name, model_file=model_file, config=config,
                       sha256=file_sha256(model_file), dim=config.dim, inputs=inputs,
                       output=output, tokenizer_file=tokenizer,
                       other_inputs=(placeholders or {}) if others else {})


def _placeholders(session: Session, names: list[str], config: ModelConfig) -> dict:
    """A one-token text (or one blank image) for the other tower of a graph holding both."""
    out: dict[str, np.ndarray] = {}
    for arg in session.get_inputs():
        if arg.name in names and arg.name in IMAGE_INPUTS:
            fixed = arg.shape[-1] if isinstance(arg.shape[-1], int) and arg.shape[-1] > 0 else 0
            side = min(fixed or config.image_size or 224, MAX_IMAGE_SIZE)
            out[arg.name] = np.zeros((1, 3, side, side), np.float32)
        elif arg.name in names:
            value = 1 if arg.name == "attention_mask" else 0
            out[arg.name] = np.full((1, 1), value, _INPUT_DTYPES[arg.type])
    return out


def _check_inputs(session: Session, wanted: str | None,
                  model_file: Path) -> tuple[dict[str, type], str, list[str]]:
    """This model's (or tower's) inputs and their types, its modality, and the inputs of the
    other tower when the graph holds both."""
    inputs: dict[str, type] = {}
    for arg in session.get_inputs():
        if arg.name not in TEXT_INPUTS + IMAGE_INPUTS:
            raise InputError(
                f"model input {arg.name!r} is not understood", path=model_file,
                hint="inputs fed: input_ids, attention_mask, token_type_ids (text) "
                     "or pixel_values (image)")
        types = ("tensor(float)",) if arg.name in IMAGE_INPUTS else ("tensor(int64)",
                                                                     "tensor(int32)")
        if arg.type not in types:
            raise InputError(f"model input {arg.name!r} has type {arg.type}, "
                             f"expected {' or '.join(types)}", path=model_file)
        rank = 4 if arg.name in IMAGE_INPUTS else 2
        if len(arg.shape) != rank:
            raise InputError(f"model input {arg.name!r} has {len(arg.shape)} axes, "
                             f"expected {rank}", path=model_file)
        inputs[arg.name] = _INPUT_DTYPES[arg.type]
    has_text = "input_ids" in inputs
    has_image = "pixel_values" in inputs
    if has_text and has_image:
        outputs = {o.name for o in session.get_outputs()}
        if not set(PAIR_OUTPUTS.values()) <= outputs:
            raise InputError("the model takes both input_ids and pixel_values, but has no "
                             "image_embeds and text_embeds outputs", path=model_file,
                             hint="export its text and image parts as two models")
        modality = wanted or "image"
        mine = IMAGE_INPUTS if modality == "image" else TEXT_INPUTS
        return ({k: v for k, v in inputs.items() if k in mine}, modality,
                [k for k in inputs if k not in mine])
    if not has_text and not has_image:
        if set(inputs) & set(TEXT_INPUTS):
            raise InputError("the model has no input_ids input", path=model_file)
        raise InputError("the model has neither input_ids nor pixel_values", path=model_file)
    modality = "text" if has_text else "image"
    if wanted not in (None, modality):
        raise InputError(f"explorer-model.json says {wanted!r} but the model takes "
                         f"{'input_ids' if has_text else 'pixel_values'}", path=model_file)
    return inputs, modality, []


def _pick_output(session: Session, config: ModelConfig, modality: str,
                 model_file: Path) -> tuple[str, int, int | None]:
    outputs = {o.name: o for o in session.get_outputs()}
    if config.output is not None:
        if config.output not in outputs:
            raise InputError(f"the model has no output {config.output!r}", path=model_file,
                             hint="outputs: " + ", ".join(outputs))
        name = config.output
    elif len(outputs) == 1:
        name = next(iter(outputs))
    else:
        name = next((n for n in OUTPUT_NAMES[modality] if n in outputs), None)
        if name is None:
            raise InputError("none of the model's outputs is understood as an embedding: "
                             + ", ".join(outputs), path=model_file,
                             hint='name the one to use with "output" in explorer-model.json')
    arg = outputs[name]
    if arg.type != "tensor(float)":
        raise InputError(f"model output {name!r} has type {arg.type}, expected float32",
                         path=model_file)
    if len(arg.shape) not in (2, 3):
        raise InputError(f"model output {name!r} has shape {arg.shape}: expected [batch, dim] "
                         "or [batch, tokens, dim]", path=model_file)
    last = arg.shape[-1]
    width = last if isinstance(last, int) and last > 0 else None  # else named or open
    return name, len(arg.shape), width


def _resolve(config: ModelConfig, session: Session, modality: str, output: str,
             rank: int, width: int | None, path: Path, model_file: Path,
             tokenizer: Path | None) -> ModelConfig:
    """Fill every None in the config from the graph, refusing settings the graph contradicts."""
    pooling = config.pooling or ("none" if rank == 2 else "mean" if modality == "text" else "cls")
    if (pooling == "none") != (rank == 2):
        raise InputError(
            f"pooling {pooling!r} does not fit output {output!r} with {rank} axes", path=path,
            hint="pooling 'none' is for [batch, dim] outputs, 'mean' or 'cls' for "
                 "[batch, tokens, dim]")
    if width is not None and config.dim not in (None, width):
        raise InputError(f"dim {config.dim} in explorer-model.json, but output {output!r} "
                         f"has {width}", path=path)
    dim = width or config.dim
    if dim is None:
        raise InputError(f"model output {output!r} has no fixed width", path=model_file,
                         hint='give it as "dim" in explorer-model.json')
    if dim > MAX_DIM:
        raise InputError(f"model output {output!r} is {dim:,} wide; at most {MAX_DIM:,} "
                         "dimensions are supported", path=model_file)
    max_tokens = config.max_tokens
    image_size = config.image_size
    if modality == "text" and max_tokens is None:
        max_tokens = (_tokenizer_limit(tokenizer) or _model_max_length(path)
                      or DEFAULT_MAX_TOKENS)
    if modality == "image":
        shape = next(a.shape for a in session.get_inputs() if a.name == "pixel_values")
        if isinstance(shape[1], int) and shape[1] != 3:
            raise InputError(f"model input 'pixel_values' has {shape[1]} channels, expected 3",
                             path=model_file)
        fixed = [s for s in shape[2:] if isinstance(s, int) and s > 0]
        if fixed and (len(fixed) != 2 or fixed[0] != fixed[1]):
            raise InputError(f"model input 'pixel_values' has shape {shape}: only square "
                             "images of one fixed or open size are supported", path=model_file)
        if fixed and fixed[0] > MAX_IMAGE_SIZE:
            raise InputError(f"model input 'pixel_values' takes {fixed[0]:,}-pixel images; at "
                             f"most {MAX_IMAGE_SIZE:,} are supported", path=model_file)
        if fixed and image_size not in (None, fixed[0]):
            raise InputError(f"image_size {image_size} in explorer-model.json, but input "
                             f"'pixel_values' takes {fixed[0]}", path=path)
        image_size = image_size or (fixed[0] if fixed else 224)
        if config.image_resize is not None and config.image_resize < image_size:
            raise InputError(f"image_resize {config.image_resize} is smaller than the "
                             f"{image_size}-pixel crop", path=path)
    return dataclasses.replace(config, modality=modality, pooling=pooling, dim=dim,
                               max_tokens=max_tokens, image_size=image_size, output=output)


def _tokenizer_limit(path: Path) -> int | None:
    """The truncation length the tokenizer was published with, if it is a sensible one."""
    try:
        truncation = json.loads(path.read_text(encoding="utf-8")).get("truncation")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        return None
    length = truncation.get("max_length") if isinstance(truncation, dict) else None
    usable = isinstance(length, int) and not isinstance(length, bool) and 0 < length <= MAX_TOKENS
    return length if usable else None


def _model_max_length(path: Path) -> int | None:
    """The longest input tokenizer_config.json allows (CLIP's text model: 77 tokens; its
    tokenizer.json sets no truncation, and longer inputs fail inside the graph)."""
    if not (path / TOKENIZER_CONFIG_FILE).is_file():  # a FIFO would block the read
        return None
    try:
        with (path / TOKENIZER_CONFIG_FILE).open("rb") as fh:
            length = json.loads(fh.read(1 << 20).decode("utf-8")).get("model_max_length")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        return None
    usable = isinstance(length, int) and not isinstance(length, bool) and 0 < length <= MAX_TOKENS
    return length if usable else None


def file_sha256(path: Path) -> str:
    """sha256 of the model file, cached beside it by size and mtime (a 1 GB model takes seconds)."""
    stat = path.stat()
    # one cache per model file, so the two towers of a pair do not evict each other
    cache = path.parent / (HASH_FILE if path.name == "model.onnx"
                           else f".explorer-hash-{path.stem}.json")
    key = {"file": path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cached = _read_hash_cache(cache)
    if cached is not None and {k: cached.get(k) for k in key} == key:
        return cached["sha256"]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    try:
        write_json(cache, {**key, "sha256": sha})
    except OSError:
        pass  # a read-only folder: hash again next time
    return sha


def _read_hash_cache(cache: Path) -> dict | None:
    """The cached hash record, or None when it is missing or not one we could have written."""
    try:
        if not cache.is_file():  # a FIFO or a device would block or never end
            return None
        with cache.open("rb") as fh:
            data = json.loads(fh.read(4096).decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError covers bad UTF-8 and bad JSON
        return None
    sha = data.get("sha256") if isinstance(data, dict) else None
    if not isinstance(sha, str) or len(sha) != 64 or set(sha) - set("0123456789abcdef"):
        return None
    return data
