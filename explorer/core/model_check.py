"""Whether a set's recorded model is known to have made its vectors, as stored in the manifest.

A model name typed at import is a claim; text queries and text poles are only
meaningful when it is true. The check (compute/encoding/model_check.py) encodes a
sample of the set's text column with the model and compares it to the stored
vectors; its outcome is kept here so it is made once, not at every query.
`verified` is True (the median cosine reached the threshold), False (it did not
and the user insisted) or None (nothing to compare: no text column, or a model not
installed here). The record is versioned on its own; unknown keys are ignored, so
a newer app may add some.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECK_VERSION = 1
THRESHOLD = 0.99  # median cosine a model's encoding must reach against the stored vectors
SAMPLE_ROWS = 64


@dataclass(frozen=True)
class ModelCheck:
    """The outcome of comparing a model's encoding of sampled texts to a set's vectors."""

    verified: bool | None
    median_cosine: float | None = None
    sampled: int = 0
    reason: str = ""  # why it is unverified, in the user's words (empty when verified)

    def to_dict(self) -> dict:
        """What `import --json` reports as `model_check`."""
        return {"verified": self.verified, "median_cosine": self.median_cosine,
                "sampled": self.sampled}

    def to_manifest(self) -> dict:
        return {"version": CHECK_VERSION, **self.to_dict(), "reason": self.reason}

    @classmethod
    def from_manifest(cls, data: dict) -> ModelCheck:
        """The check a manifest records; ValueError naming the field that is wrong."""
        verified = data.get("verified")
        cosine = data.get("median_cosine")
        sampled = data.get("sampled", 0)
        reason = data.get("reason", "")
        if verified is not None and not isinstance(verified, bool):
            raise ValueError("model_check.verified is not true, false or null")
        if cosine is not None and (isinstance(cosine, bool)
                                   or not isinstance(cosine, (int, float))):
            raise ValueError("model_check.median_cosine is not a number or null")
        if isinstance(sampled, bool) or not isinstance(sampled, int) or sampled < 0:
            raise ValueError("model_check.sampled is not a whole number")
        if not isinstance(reason, str):
            raise ValueError("model_check.reason is not text")
        return cls(verified, None if cosine is None else float(cosine), sampled, reason)
