"""Name the model that made a set's vectors, and check the claim before text queries rely on it.

Vectors computed elsewhere (sentence-transformers, an API, a pipeline) arrive with the
name of their model as the user types it: an installed model's name (`minilm`), a
model folder, or the internal label a set encoded here records ("minilm (sha256 …)").
The name is resolved to a model folder here, then the claim is checked: a sample of
the set's text column is encoded with that model and compared, row by row, with the
stored vectors. The model is verified when the median cosine reaches 0.99 (the same
model through another runtime or quantisation stays well above that; another model
falls far below). A mismatch is refused unless the user insists (`trust`), and the
set is then marked unverified so text queries refuse it rather than return noise.

The front door: `attach_model` (during an import, before anything is written),
`set_library_model` (a stored set, later: the CLI's `set-model`, the GUI's
"Set's model…"), `import_with_model` (the CLI's `import --model`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from explorer.compute.encoding.model_folder import ModelFolder, open_model
from explorer.compute.encoding.set_model import LABEL, encoder_for, model_label, recorded_model
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.jobs import TaskState
from explorer.core.library import Library, LibraryEntry
from explorer.core.model_check import SAMPLE_ROWS, THRESHOLD, ModelCheck

TRUST_OPTION = "trust_model"  # InputError.option of a refusal the user may overrule


def resolve_model(name: str) -> ModelFolder:
    """The model folder `name` means: an installed model's name, a folder, or a set's label."""
    name = name.strip()
    if not name:
        raise InputError("the model name is empty; give an installed model's name or a folder")
    if LABEL.match(name) and not Path(name).expanduser().exists():
        return recorded_model(name)
    return open_model(name)


def sample_rows(es: EmbeddingSet, size: int = SAMPLE_ROWS) -> tuple[np.ndarray, list[str]]:
    """Up to `size` rows spread evenly over the set whose text is not empty, and their texts.

    Deterministic (the same set gives the same sample), and only a few hundred cells are
    read, however large the set.
    """
    if not es.text_column:
        return np.zeros(0, np.int64), []
    column = es.metadata.column(es.text_column)
    candidates = np.unique(np.linspace(0, es.count - 1, num=min(es.count, 4 * size))
                           .astype(np.int64))
    rows, texts = [], []
    for row in candidates:
        value = column[int(row)].as_py()
        if isinstance(value, str) and value.strip():
            rows.append(int(row))
            texts.append(value)
    if len(rows) > size:
        keep = np.unique(np.linspace(0, len(rows) - 1, num=size).astype(np.int64))
        rows, texts = [rows[i] for i in keep], [texts[i] for i in keep]
    return np.asarray(rows, dtype=np.int64), texts


def check_model(es: EmbeddingSet, folder: ModelFolder,
                state: TaskState | None = None) -> ModelCheck:
    """Compare `folder`'s encoding of a sample of the set's texts with the stored vectors."""
    state = state or TaskState()
    if folder.dim != es.dim:
        raise InputError(f"model {folder.name!r} gives {folder.dim} dimensions but the set's "
                         f"vectors have {es.dim}: it cannot have made them")
    if folder.config.modality != "text":
        return ModelCheck(None, reason=f"model {folder.name!r} encodes images; only text "
                                       "models can be checked against a set")
    if not es.text_column:
        return ModelCheck(None, reason="the set has no text column to check the model with")
    rows, texts = sample_rows(es)
    if not texts:
        return ModelCheck(None, reason=f"column {es.text_column!r} holds no text to check "
                                       "the model with")
    state.status(f"Checking that {folder.name} made the vectors ({len(texts)} texts)")
    encoded = encoder_for(folder).encode(texts, kind="document").astype(np.float64)
    stored = np.asarray(es.vectors[rows], dtype=np.float64)
    norms = np.linalg.norm(encoded, axis=1) * np.linalg.norm(stored, axis=1)
    cosines = np.einsum("ij,ij->i", encoded, stored) / np.maximum(norms, 1e-30)
    cosines[~np.isfinite(cosines)] = 0.0
    median = round(float(np.median(cosines)), 4)
    state.progress(1.0)
    if median >= THRESHOLD:
        return ModelCheck(True, median, len(texts))
    return ModelCheck(False, median, len(texts),
                      reason=f"its encoding of {len(texts)} sampled texts has median cosine "
                             f"{median:.2f} with the stored vectors, {THRESHOLD} needed")


def mismatch_error(check: ModelCheck, model: str) -> InputError:
    return InputError(f"the vectors were not made by {model}: {check.reason}",
                      hint="--trust-model records the model anyway, marked unverified; text "
                           "queries then stay off", option=TRUST_OPTION)


def attach_model(es: EmbeddingSet, model: str, trust: bool = False,
                 state: TaskState | None = None) -> ModelCheck:
    """Record `model` as the maker of `es`'s vectors once checked; InputError on a mismatch.

    With `trust`, a mismatch or a model not installed here is recorded anyway, unverified.
    Sets `es.model` (the internal label when the model is found) and `es.model_check`.
    """
    try:
        folder = resolve_model(model)
    except InputError as exc:
        if not trust:
            raise InputError(exc.message, path=exc.path,
                             hint=(exc.hint + "; " if exc.hint else "")
                             + "--trust-model records the name as given, unchecked",
                             option=TRUST_OPTION) from None
        es.model = model.strip()
        es.model_check = ModelCheck(None, reason=f"{es.model!r} is not a model installed here, "
                                                 "so it was not checked")
        return es.model_check
    check = check_model(es, folder, state)
    if check.verified is False and not trust:
        raise mismatch_error(check, folder.name)
    es.model, es.model_check = model_label(folder), check
    return check


def import_with_model(library: Library, path: str | Path, options: ImportOptions, model: str,
                      trust: bool = False, *, name: str | None = None, new: bool = False,
                      replace: bool = False, state: TaskState | None = None) -> LibraryEntry:
    """Import a file whose vectors `model` made: checked before anything is stored.

    The resolved label goes into the import options, so the same file imported again with
    the same model (typed another way) gives the stored set back; a stored set whose check
    failed is only given back when the user insists again.
    """
    try:
        label = model_label(resolve_model(model))
    except InputError:
        label = model.strip()  # not installed: attach_model refuses it, or records it as typed
    options = dataclasses.replace(options, model=label)
    entry = library.import_file(path, options, name=name, new=new, replace=replace,
                                prepare=lambda es, sub: attach_model(es, model, trust, sub),
                                state=state)
    check = entry.check
    if entry.reused and check is not None and check.verified is False and not trust:
        raise mismatch_error(check, label)
    return entry


def set_library_model(library: Library, key: str, model: str | None, trust: bool = False,
                      state: TaskState | None = None) -> LibraryEntry:
    """Name (and check) the model of a stored set; None forgets the model it records.

    What the GUI's "Set's model…" calls off the UI thread: an InputError whose `option` is
    TRUST_OPTION is a mismatch the user may overrule by calling again with `trust=True`.
    """
    if model is None:
        return library.set_model(key, None, None)
    es = library.open(key)
    attach_model(es, model, trust, state)
    return library.set_model(key, es.model, es.model_check)

