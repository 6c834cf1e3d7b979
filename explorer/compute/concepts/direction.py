"""The direction itself: a named unit vector and its `Validity`, kept together.

A direction records how it was made and in which model's space it means
something, so a saved or exported one still says where, and how far, it can be
trusted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

METHODS = ("texts", "groups", "where", "extremes", "probe", "component", "arithmetic")


@dataclass
class Validity:
    """How far a direction can be trusted, measured on one set (`set_id`)."""

    heldout_accuracy: float | None = None  # mean accuracy over the folds (what sklearn reports)
    heldout_balanced_accuracy: float | None = None  # the same, per-class averaged
    folds: int = 0
    n_a: int = 0  # items of each group behind the accuracy (after sampling)
    n_b: int = 0
    groups_sampled: bool = False
    pole_accuracy: float | None = None  # text poles: leave-one-text-out, own side of the midpoint
    pole_texts: int = 0
    against: str | None = None  # the numeric column of the Spearman correlation
    spearman: float | None = None
    spearman_p: float | None = None
    spearman_rows: int = 0
    norm_spearman: float | None = None  # scores against row norms
    mean_cosine: float | None = None  # direction against the set's mean (representation) vector
    rows_scored: int = 0  # rows behind spearman / norm_spearman / mean_cosine
    rows_sampled: bool = False
    set_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Validity":
        if not isinstance(data, dict):
            raise InputError("direction JSON: 'validity' must be an object or null")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InputError(f"direction JSON: unknown validity fields {sorted(unknown)}")
        try:
            out = cls(**data)
        except TypeError as exc:
            raise InputError(f"direction JSON: bad validity ({exc})") from None
        if not isinstance(out.warnings, list) or not all(isinstance(w, str) for w in out.warnings):
            raise InputError("direction JSON: validity warnings must be a list of texts")
        return out


@dataclass(eq=False)
class Direction:
    """A named unit vector, how it was made, and in which model's space it means something.

    `groups` holds the rows it was built from (not saved: large) so `validate`
    can cross-validate right after creation; the saved `definition` keeps them
    when small, filters always.
    """

    name: str
    vector: np.ndarray = field(repr=False)
    method: str
    definition: dict = field(default_factory=dict)
    label_a: str = "A"
    label_b: str = "B"
    model: str | None = None  # the set's model label: where the direction is meaningful
    set_id: str | None = None  # the library set it was made on
    validity: Validity | None = None
    created: str = ""
    groups: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown direction method {self.method!r}; expected one of "
                             + ", ".join(METHODS))
        v = np.asarray(self.vector, dtype=np.float64).ravel()
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise InputError(f"direction {self.name!r}: the vector holds NaN or Inf values"
                             if v.size else f"direction {self.name!r}: the vector is empty")
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            raise InputError(f"direction {self.name!r} is a zero vector")
        # a unit float32 vector is kept bit for bit, so saving and loading change nothing
        self.vector = (v if abs(norm - 1.0) < 1e-6 else v / norm).astype(np.float32)
        if not self.created:
            self.created = _now()

    @property
    def dim(self) -> int:
        return int(self.vector.size)

    def to_json(self, vector: bool = True) -> dict:
        """Everything but the transient groups; the vector as a list of floats."""
        out = {"name": self.name, "method": self.method, "definition": self.definition,
               "label_a": self.label_a, "label_b": self.label_b, "model": self.model,
               "set_id": self.set_id, "dim": self.dim, "created": self.created,
               "validity": self.validity.to_dict() if self.validity is not None else None}
        if vector:
            out["vector"] = [float(x) for x in self.vector]
        return out

    @classmethod
    def from_json(cls, data: dict, vector=None) -> "Direction":
        """Strict: the keys, their types, a vector of `dim` finite values (InputError if not)."""
        if not isinstance(data, dict):
            raise InputError("direction JSON: expected an object")
        required = ("name", "method", "dim", "model") + (("vector",) if vector is None else ())
        missing = [k for k in required if k not in data]
        if missing:
            raise InputError(f"direction JSON: missing {', '.join(missing)}")
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise InputError("direction JSON: 'name' must be a non-empty text")
        for key in ("model", "set_id"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise InputError(f"direction {name!r}: {key!r} must be a text or null")
        for key in ("label_a", "label_b", "created", "method"):
            if key in data and not isinstance(data[key], str):
                raise InputError(f"direction {name!r}: {key!r} must be a text")
        if not isinstance(data.get("definition", {}), dict):
            raise InputError(f"direction {name!r}: 'definition' must be an object")
        dim = data["dim"]
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InputError(f"direction {name!r}: 'dim' must be a positive integer")
        raw = data["vector"] if vector is None else vector
        if isinstance(raw, np.ndarray):
            values = np.asarray(raw, dtype=np.float64).ravel()
        else:
            if not isinstance(raw, list) or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw):
                raise InputError(f"direction {name!r}: 'vector' must be a list of numbers")
            values = np.array(raw, dtype=np.float64)
        if values.size != dim:
            raise InputError(f"direction {name!r}: the vector has {values.size} values but "
                             f"'dim' says {dim}")
        if not np.all(np.isfinite(values)):
            raise InputError(f"direction {name!r}: the vector holds NaN or Inf values")
        validity = data.get("validity")
        return cls(name=name, vector=values, method=data["method"],
                   definition=dict(data.get("definition") or {}),
                   label_a=data.get("label_a", "A"), label_b=data.get("label_b", "B"),
                   model=data.get("model"), set_id=data.get("set_id"),
                   validity=Validity.from_dict(validity) if validity is not None else None,
                   created=data.get("created") or "")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def shorten(text: str, limit: int = 40) -> str:
    """One line of at most `limit` characters, for a pole's label."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_dim(es: EmbeddingSet, direction: Direction) -> None:
    if direction.dim != es.dim:
        raise InputError(f"direction {direction.name!r} has {direction.dim} dimensions but the "
                         f"set has {es.dim}: it comes from another model's space")
