"""The model that made a set, found among the installed ones, to encode typed text the same way.

A set encoded here, or imported with a model that was checked against its vectors
(model_check.py), records its model as "NAME (sha256 PREFIX)" (see `model_label`).
A text query is only meaningful in the space of that exact model, so the installed
model must match by sha256, not just by name; a set from elsewhere whose model was
not named and checked (a file the user opened, LSA) cannot take text queries, and
the reason says what would make it work. A set of images takes text queries when
its model folder is a CLIP-style pair: the text is encoded by the folder's text
tower, whose vectors share the image model's space. Encoders are kept open per
model file: the first query pays for loading the session, later ones take
milliseconds.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from explorer.compute.encoding.model_folder import (ModelFolder, installed_names, models_dir,
                                                    open_model)
from explorer.core.errors import InputError
from explorer.core.model_check import ModelCheck

LABEL = re.compile(r"^(?P<name>.+?) \(sha256 (?P<sha>[0-9a-f]{12,64})"
                   r"(?:, text tower sha256 (?P<text>[0-9a-f]{12,64}))?\)$")
_ENCODERS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def model_label(folder: ModelFolder) -> str:
    """What a set records as its model: the name and the start of model.onnx's sha256, and
    of its text tower's when that is another file (a swapped text model would put typed
    text in another space, silently).

    A model folder outside the models folder (given by its path) is named by its path, so
    text queries find it where it was; an installed one by its name, so it may move.
    """
    installed = folder.path.parent == models_dir().resolve()
    tower = folder.text_tower
    text = ("" if tower is None or tower.model_file == folder.model_file
            else f", text tower sha256 {tower.sha256[:12]}")
    return f"{folder.name if installed else folder.path} (sha256 {folder.sha256[:12]}{text})"


def set_model(model: str | None) -> ModelFolder:
    """The text model that places typed text in the space of the set's `model` label: the
    model itself, or its text tower when it encodes images; InputError saying why not."""
    folder = recorded_model(model)
    if folder.config.modality == "text":
        return folder
    pinned = LABEL.match(model or "")["text"]
    tower = folder.text_tower
    if tower is not None and pinned and not tower.sha256.startswith(pinned):
        raise InputError(
            f"typed text cannot be placed in this set: the text model of {folder.name!r} "
            f"({tower.model_file.name}) is not the one its images were encoded beside "
            f"(sha256 {pinned}…, now {tower.sha256[:12]}…)", path=tower.model_file,
            hint="put back the text model file the set was made with, or encode the images "
                 "again with this folder")
    if folder.text_tower is None:
        raise InputError(
            f"typed text cannot be placed in this set: its model {folder.name!r} encodes "
            "images and has no text tower", path=folder.path,
            hint="a CLIP-style model folder would take it: this image model with its "
                 "matching text model beside it, text_model.onnx and tokenizer.json, found by "
                 'those names or declared under "text_tower" in explorer-model.json; see '
                 "Encoding in the README")
    return folder.text_tower


def recorded_model(model: str | None) -> ModelFolder:
    """The installed model folder a set's `model` label names (text or image); InputError
    saying why not."""
    found = LABEL.match(model or "")
    if found is None and model:
        raise InputError(f"typed text cannot be placed in this set: it names its model as "
                         f"{model!r}, but that was never checked against its vectors",
                         hint="name the model with Set's model… in the library, or the "
                              "set-model command, which checks it")
    if found is None:
        raise InputError("typed text cannot be placed in this set: it records no model, so its "
                         "vectors are not from an ONNX model installed here",
                         hint="name the model that made its vectors with Set's model… in the "
                              "library (or the set-model command), or encode your files with "
                              "File ▸ Encode Files… to get a set that takes text queries")
    name, sha = found["name"], found["sha"]
    for candidate in dict.fromkeys([name, *installed_names()]):
        try:
            folder = open_model(candidate)
        except InputError:
            continue
        if folder.sha256.startswith(sha):
            return folder
    from explorer.compute.encoding.catalogue import installable

    raise InputError(f"the model that made this set ({name}, sha256 {sha}…) is not installed",
                     hint=f"install it: embedding-explorer models install {name}"
                     if name in installable() else "put its model folder back where it was, or "
                                                   "in the models folder")


def query_encoder(model: str | None):
    """A TextEncoder for the set's model, opened once per model file and kept."""
    return encoder_for(set_model(model))


def encoder_for(folder: ModelFolder):
    """A TextEncoder for `folder`, opened once per model file and kept."""
    from explorer.compute.encoding.text_encoder import TextEncoder

    key = (str(folder.model_file), folder.sha256, folder.output)
    with _LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = _ENCODERS[key] = TextEncoder(folder)
    return encoder


def encode_query(model: str | None, text: str) -> np.ndarray:
    """One text as the set's model encodes a query (with its query prefix): float32 [dim]."""
    if not text.strip():
        raise InputError("the text is empty; type what to search for")
    return query_encoder(model).encode([text], kind="query")[0]


def unverified_reason(check: ModelCheck | None, model: str | None) -> str | None:
    """Why a set's model must not encode text for it (None: nothing against it here).

    Its check failed, or the model was recorded as the user typed it because it is not
    installed here (an API's model, say).
    """
    if check is None or not model:
        return None
    found = LABEL.match(model)
    if check.verified is False:
        shown = found["name"] if found else model
        return (f"typed text cannot be placed in this set: its model {shown} is recorded as "
                f"unverified ({check.reason or 'it did not match the vectors'})")
    if found is None:
        return (f"typed text cannot be placed in this set: its model {model!r} is not one "
                "installed here, so nothing can encode text the way it did")
    return None
