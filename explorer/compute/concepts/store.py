"""Saving directions: with their library set, and as JSON files.

A file carries directions to any set made by the same model; importing checks
the dimension and the model, since a direction means nothing in another space.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from explorer.compute.concepts.direction import Direction, check_dim
from explorer.core.artifacts import ArtifactStore, safe_key
from explorer.core.atomic import write_output
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError, writing_into

KIND = "concepts"  # artefact folder of the saved directions
JSON_FORMAT = "embedding-explorer-directions"
JSON_VERSION = 1


class DirectionStore:
    """The directions saved with a library set: `artifacts/concepts/<key>.npy` + `.json`.

    The vector is the array (float32, exact), everything else its meta; both are
    written atomically by ArtifactStore. Keys come from the names.
    """

    def __init__(self, es: EmbeddingSet) -> None:
        if es.path is None:
            raise InputError("directions are saved with library sets, and this set is not in "
                             "the library", hint="import it first")
        self.es = es
        self.store = ArtifactStore(es.path)

    def _entries(self) -> dict[str, Direction]:
        out = {}
        for key in self.store.keys(KIND):
            found = self.store.load(KIND, key)
            if found is None:
                continue
            try:
                out[key] = Direction.from_json(found[1], vector=np.asarray(found[0]))
            except InputError:
                continue  # a damaged entry hides itself, never the others
        return out

    def list(self) -> list[Direction]:
        """Saved directions, oldest first."""
        return sorted(self._entries().values(), key=lambda d: (d.created, d.name))

    def names(self) -> list[str]:
        return [d.name for d in self.list()]

    def get(self, name: str) -> Direction:
        for d in self._entries().values():
            if d.name == name:
                return d
        saved = ", ".join(self.names()) or "none"
        raise InputError(f"no direction named {name!r} is saved with this set (saved: {saved})")

    def _key_of(self, name: str) -> str | None:
        return next((k for k, d in self._entries().items() if d.name == name), None)

    def save(self, d: Direction, replace: bool = True) -> str:
        """Save (or, with `replace`, overwrite the one of the same name); returns its key."""
        check_dim(self.es, d)
        key = self._key_of(d.name)
        if key is not None and not replace:
            raise InputError(f"a direction named {d.name!r} is already saved with this set",
                             hint="choose another name or replace it")
        if key is None:
            base = safe_key(d.name)
            taken = set(self.store.keys(KIND))
            key, i = base, 2
            while key in taken:
                key, i = f"{base[:150]}-{i}", i + 1
        with writing_into(self.es.path, "the library set's folder"):
            self.store.save(KIND, key, d.vector.astype(np.float32), d.to_json(vector=False))
        return key

    def delete(self, name: str) -> None:
        key = self._key_of(name)
        if key is None:
            raise InputError(f"no direction named {name!r} is saved with this set")
        self.store.delete(KIND, key)


def export_json(directions, path) -> Path:
    """Write directions to a JSON file that `import_json` reads back (see `write_output`)."""
    text = json.dumps({"format": JSON_FORMAT, "version": JSON_VERSION,
                       "directions": [d.to_json() for d in directions]}, indent=2, sort_keys=True)
    return write_output(path, lambda fh: fh.write(text.encode("utf-8")))


def compatibility(es: EmbeddingSet, d: Direction) -> str | None:
    """Why `d` may not mean anything in `es` (None when it does: same set, or same model)."""
    if d.dim != es.dim:
        return (f"direction {d.name!r} has {d.dim} dimensions but the set has {es.dim}: it "
                "comes from another model's space")
    if d.set_id is not None and d.set_id == es.library_id:
        return None
    if d.model is not None and d.model == es.model:
        return None
    made = f"model {d.model}" if d.model else "an unrecorded model"
    here = f"model {es.model}" if es.model else "an unrecorded model"
    return (f"direction {d.name!r} was made in the space of {made} and this set comes from "
            f"{here}; a direction only means something in the space of the model that made it")


def read_json(path) -> list[Direction]:
    """Directions from an exported file (or one direction object); strict."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read the directions file ({exc.strerror or exc})",
                         path=path) from None
    except ValueError as exc:
        raise InputError(f"not a JSON file ({exc})", path=path) from None
    if isinstance(data, dict) and "directions" in data:
        if data.get("format") not in (None, JSON_FORMAT):
            raise InputError(f"not a directions file (format {data.get('format')!r})", path=path)
        if isinstance(data.get("version"), int) and data["version"] > JSON_VERSION:
            raise InputError("the directions file comes from a newer version", path=path)
        items = data["directions"]
    else:
        items = data if isinstance(data, list) else [data]
    if not isinstance(items, list) or not items:
        raise InputError("the file holds no directions", path=path)
    out = []
    for i, item in enumerate(items):
        try:
            out.append(Direction.from_json(item))
        except InputError as exc:
            raise InputError(f"direction {i + 1}: {exc.message}", path=path) from None
    return out


def import_json(path, es: EmbeddingSet, force: bool = False) -> list[Direction]:
    """Directions from a file, checked against `es`: the dimension, and the model unless `force`."""
    out = read_json(path)
    for d in out:
        reason = compatibility(es, d)
        if reason is None:
            continue
        if d.dim != es.dim or not force:
            raise InputError(reason, path=path,
                             hint=None if d.dim != es.dim else "use it anyway with force")
    return out
