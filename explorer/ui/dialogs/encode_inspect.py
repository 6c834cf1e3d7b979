"""What the encode dialog looks up off the UI thread: the installed models, and what the chosen
inputs hold (files, an estimate of the items, skipped files, a table's columns). Qt-free, so
each piece is a plain job function `fn(..., state)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from explorer.core.errors import InputError
from explorer.core.inputs import InputOptions, InputPlan, Skipped
from explorer.core.inputs import tables
from explorer.core.inputs.items import SkipFile
from explorer.core.jobs import TaskState

DEFAULT_MODEL = "minilm"
MAX_TABLES = 20  # tables whose columns fill the column list: enough to choose, bounded to read
_TABLE_ERRORS = (SkipFile, InputError, OSError, ValueError, pa.ArrowException)


@dataclass(frozen=True)
class ModelChoice:
    """A model the dialog offers: what EncodeOptions.model gets, and how to show it."""

    model: str  # an installed model's name, or a model folder's path
    name: str
    modality: str
    dim: int
    tip: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.modality}, {self.dim} dimensions"


@dataclass
class Models:
    choices: list[ModelChoice] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)  # (name, why it cannot open)
    installable: bool = False  # minilm is not installed, but its packages are


def find_models(state: TaskState) -> Models:
    """Installed models (each opened, so a broken one is shown with its reason)."""
    from explorer.compute.encoding.catalogue import catalogue_model, list_models

    found = Models()
    for row in list_models():
        state.check()
        if "error" in row:
            found.broken.append((row["name"], row["error"]))
            continue
        tip = (f"{row['path']}\n{row['modality']}, {row['dim']} dimensions, "
               f"{row['size'] / 1e6:,.1f} MB, sha256 {row['sha256'][:12]}…")
        found.choices.append(ModelChoice(row["name"], row["name"], row["modality"], row["dim"],
                                         tip))
    if all(c.name != DEFAULT_MODEL for c in found.choices):
        entry = catalogue_model(DEFAULT_MODEL)
        try:
            entry.model.locate()
            entry.tokenizer.locate()
            found.installable = True
        except InputError:
            pass
    return found


def check_model_folder(path: str, state: TaskState) -> ModelChoice:
    """A folder the user chose, opened now so a model that does not fit is refused at once."""
    from explorer.compute.encoding.model_folder import open_model

    folder = open_model(Path(path))
    return ModelChoice(str(folder.path), folder.name, folder.config.modality, folder.dim,
                       f"{folder.path}\n{folder.config.modality}, {folder.dim} dimensions, "
                       f"sha256 {folder.sha256[:12]}…")


def install_default(state: TaskState) -> str:
    from explorer.compute.encoding.catalogue import install_model

    state.status("Installing all-MiniLM-L6-v2")
    return install_model(DEFAULT_MODEL).name


@dataclass
class Inspection:
    """What the inputs hold, as far as can be told cheaply."""

    files: int = 0
    items: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # text columns of the tables (or all)
    error: BaseException | None = None  # nothing can be encoded as things stand

    def summary(self) -> str:
        if self.error is not None:
            err = self.error
            if not isinstance(err, InputError):
                return f"Cannot look at the inputs: {type(err).__name__}: {err}"
            text = err.message[:1].upper() + err.message[1:]
            where = err.where()
            # the reader's hints speak of CLI options; here the choice is a field of the dialog
            hint = {"column": "choose one under Text column",
                    "chunk_tokens": "raise Chunks", "overlap_tokens": "lower the overlap"}.get(
                err.option or "", err.hint)
            return text + (f": {where}" if where else "") + (f" ({hint})" if hint else "")
        text = f"{self.files:,} file{'' if self.files == 1 else 's'}, about {self.items:,} items"
        if self.skipped:
            text += f"; {len(self.skipped):,} skipped (listed below)"
        return text


def inspect_inputs(paths: list[str], options: InputOptions, state: TaskState) -> Inspection:
    """Plan the inputs as the encode job will, estimate its items and list the tables' columns."""
    given = [Path(p) for p in paths]
    result = Inspection()
    try:
        plan = InputPlan(given, options)
    except InputError as err:
        result.error = err
        result.columns = list(err.choices) if err.option == "column" else []
        result.columns = _merge(result.columns, table_columns(given, state))
        return result
    state.check()
    result.files = len(plan.files)
    result.skipped = list(plan.planned_skips)  # what planning already left out (the plan keeps it)
    result.columns = table_columns(given + plan.files, state)
    result.items = plan.estimate()
    return result


def table_columns(paths: list[Path], state: TaskState) -> list[str]:
    """Text columns of the first tables among `paths` (all columns where none holds text)."""
    found: list[str] = []
    read = 0
    for path in dict.fromkeys(paths):
        if path.suffix.lower() not in tables.FORMATS or not path.is_file() or read >= MAX_TABLES:
            continue
        state.check()
        read += 1
        try:
            names, texts = tables.columns(path)  # a schema, a CSV block or 1,000 JSON lines
        except _TABLE_ERRORS:
            continue
        found = _merge(found, texts or names)
    return found


def _merge(first: list[str], more: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *more]))


def describe(skipped: Skipped) -> str:
    """"path, line 3: reason" — where in the file, when the reader knows."""
    where = skipped.path
    if skipped.line is not None:
        where += f", line {skipped.line}"
    elif skipped.row is not None:
        where += f", row {skipped.row}"
    return f"{where}: {skipped.reason}"
