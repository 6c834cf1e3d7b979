"""How a file was read into a library set: what makes two imports of one file different sets.

Importing the same unchanged file twice with the same options must give the one
stored set back, while the same file read another way (another vector column, a
joined metadata file, rows dropped, another metric or model) is a different set
and is named so the two can be told apart. The manifest records these options
(`import_options`, versioned on its own so a newer app may add fields: a record
of a newer version is never taken for a match, so at worst a file is imported
once more). Sets stored before options were recorded count as read with the
defaults when a loader read them; sets made by the app (encoded, derived, the
demo) record none and are never reused for a file.

The drop flags are recorded as what happened, not what was asked: asking to drop
all-zero rows of a file that has none stores the same set as not asking.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.manifest import LibraryEntry

if TYPE_CHECKING:  # the loaders (and the plugins behind them) are imported when a file is read
    from explorer.core.loaders import LoadOptions

OPTIONS_VERSION = 1


@dataclass(frozen=True)
class ImportOptions:
    """The options of one import that change what is stored (all default: the file as it is)."""

    vector_column: str | None = None
    metadata_path: str | None = None  # resolved, so two spellings of one file match
    dataset: str | None = None
    id_column: str | None = None
    label_column: str | None = None  # None: guessed
    metric: str | None = None  # None: what the file or its loader says
    model: str | None = None
    drop_nonfinite: bool = False
    drop_zero: bool = False

    @classmethod
    def from_load(cls, load: LoadOptions, **overrides) -> ImportOptions:
        return cls(vector_column=load.vector_column,
                   metadata_path=None if load.metadata_path is None else str(load.metadata_path),
                   dataset=load.dataset, id_column=load.id_column,
                   label_column=load.label_column, **overrides).resolved()

    def resolved(self) -> ImportOptions:
        if self.metadata_path is None:
            return self
        return replace(self, metadata_path=str(Path(self.metadata_path).expanduser().resolve()))

    def load_options(self) -> LoadOptions:
        from explorer.core.loaders import LoadOptions

        return LoadOptions(vector_column=self.vector_column,
                           metadata_path=None if self.metadata_path is None
                           else Path(self.metadata_path),
                           dataset=self.dataset, id_column=self.id_column,
                           label_column=self.label_column)

    def apply(self, es: EmbeddingSet) -> None:
        """The overrides the loader cannot know: the metric and the model."""
        if self.metric:
            es.metric = self.metric
        if self.model:
            es.model = self.model

    def happened(self, nan_rows: int, zero_rows: int) -> ImportOptions:
        """These options with the drop flags of what was dropped (the file's counts given)."""
        return replace(self, drop_nonfinite=self.drop_nonfinite and nan_rows > 0,
                       drop_zero=self.drop_zero and zero_rows > 0)

    def to_manifest(self) -> dict:
        return {"version": OPTIONS_VERSION, **asdict(self)}

    @classmethod
    def of_entry(cls, entry: LibraryEntry) -> ImportOptions | None:
        """The options `entry` was imported with; None when it cannot be reused for a file."""
        from explorer.core.loaders import formats

        data = entry.import_options
        if data is None:
            if entry.format not in {f.name for f in formats()}:
                return None  # made by the app, not read from a file
            sources = entry.own_sources
            return cls(metadata_path=sources[1] if len(sources) > 1 else None,
                       drop_nonfinite=entry.nan_rows_dropped > 0,
                       drop_zero=entry.zero_rows_dropped > 0)
        if data.get("version") != OPTIONS_VERSION:
            return None
        try:
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        except TypeError:
            return None

    def reuses(self, entry: LibraryEntry) -> bool:
        """Whether importing with these options would store what `entry` holds."""
        stored = ImportOptions.of_entry(entry)
        if stored is None:
            return False
        if replace(stored, drop_nonfinite=False, drop_zero=False, metadata_path=None) != \
                replace(self, drop_nonfinite=False, drop_zero=False, metadata_path=None):
            return False
        # a set stored before options were recorded cannot tell a metadata file asked for from
        # a sibling joined by itself; the fingerprint of its sources says the files are the same
        if self.metadata_path != stored.metadata_path and not (
                entry.import_options is None and self.metadata_path is None):
            return False
        if stored.drop_nonfinite and not self.drop_nonfinite:
            return False  # not dropping them would be refused, or keep other rows
        if stored.drop_zero != self.drop_zero and (stored.drop_zero or entry.zero_rows):
            return False
        return True

    def describe(self) -> list[str]:
        """What sets these options apart from the defaults, in a few words each."""
        parts = []
        if self.vector_column:
            parts.append(f"vectors {self.vector_column}")
        if self.metadata_path:
            parts.append(f"metadata {Path(self.metadata_path).name}")
        if self.dataset:
            parts.append(f"dataset {self.dataset}")
        if self.id_column:
            parts.append(f"ids {self.id_column}")
        if self.label_column:
            parts.append(f"labels {self.label_column}")
        if self.metric:
            parts.append(self.metric)
        if self.model:
            parts.append(f"model {self.model}")
        if self.drop_nonfinite:
            parts.append("NaN rows dropped")
        if self.drop_zero:
            parts.append("zero rows dropped")
        return parts
