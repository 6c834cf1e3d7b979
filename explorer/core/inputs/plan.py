"""What to read and how: the files of a job, each with its reader, giving items in one fixed
order so that a job stopped after N items can carry on from item N."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from explorer.core.errors import InputError
from explorer.core.inputs import folders, images, pdf, tables, text_files
from explorer.core.inputs.chunking import approx_tokens
from explorer.core.inputs.items import InputOptions, Item, Report, Resume, SkipFile, Skipped
from explorer.core.jobs import TaskState

MODALITIES = ("text", "image")
# Found in folders without a pattern: what each kind of model can take.
DEFAULT_SUFFIXES = {"text": text_files.SUFFIXES + tables.SUFFIXES + pdf.SUFFIXES,
                    "image": images.SUFFIXES}
# What else a reader can raise on a damaged or unreadable file; it costs that file only.
_FILE_ERRORS = (OSError, ValueError, pa.ArrowException)


@dataclass(frozen=True)
class PlannedInput:
    """One file of a job and how it is read; small and picklable, so a worker can read it."""

    path: Path
    source: str
    kind: str  # "text" | "table" | "pdf" | "image"
    column: str | None = None  # tables: the text column


class InputPlan:
    """The files of a job and their readers; `items()` reads them, `skipped` says what was not."""

    def __init__(self, paths: list[str | Path], options: InputOptions | None = None) -> None:
        self.options = options = options or InputOptions()
        _check_options(options)
        if isinstance(paths, (str, Path)):
            paths = [paths]
        found, self.planned_skips = folders.collect(paths, options.pattern,
                                               DEFAULT_SUFFIXES[options.modality])
        self.inputs: list[PlannedInput] = []
        column_errors: list[InputError] = []
        for f in found:
            kind, why = _kind(f, options.modality)
            column = line = None
            try:
                if kind == "table":
                    column = tables.text_column(f.path, options.column)
            except InputError as err:
                if f.how == "given":
                    raise  # a table the user named: they have a column to choose
                column_errors.append(err)
                kind, why = None, f"{err.message} ({err.hint})" if err.hint else err.message
            except SkipFile as exc:
                kind, why, line = None, exc.reason, exc.line
            except _FILE_ERRORS as exc:
                kind, why = None, _describe(exc)
            if kind is None:
                self.planned_skips.append(Skipped(str(f.path), why, line=line))
            else:
                self.inputs.append(PlannedInput(f.path, f.source, kind, column))
        if not self.inputs:
            if column_errors:
                raise column_errors[0]
            raise InputError("nothing to read: " + (
                "; ".join(f"{s.path}: {s.reason}" for s in self.planned_skips[:3])
                or "no supported files found"),
                hint="supported: " + " ".join(DEFAULT_SUFFIXES[options.modality]))
        self.files: list[Path] = [i.path for i in self.inputs]
        self.skipped: list[Skipped] = []

    def estimate(self) -> int:
        """About how many items `items()` gives, cheaply: exact for tables, from sizes for text."""
        return sum(self.estimate_input(inp) for inp in self.inputs)

    def estimate_input(self, inp: PlannedInput) -> int:
        """About how many items one input gives (0 when it cannot be read: reading says why)."""
        try:
            if inp.kind == "table":
                return tables.count_rows(inp.path, inp.column)
            if inp.kind == "text":
                return text_files.estimate(inp.path, self.options)
            if inp.kind == "pdf":
                return pdf.estimate(inp.path, self.options)
            return 1
        except (*_FILE_ERRORS, SkipFile):
            return 0

    def items(self, start: int = 0, state: TaskState | None = None) -> Iterator[Item]:
        """Every item in order, after the first `start`.

        `skipped` is filled as reading goes on. A resumed run (start > 0) reports only
        what is skipped after its first item: the run it carries on reported the rest.
        """
        self.skipped = [] if start else list(self.planned_skips)
        resume = Resume(start)

        def report(skipped: Skipped) -> None:
            if not resume.left:
                self.skipped.append(skipped)

        for inp in self.inputs:
            if state is not None:
                state.check()
            yield from read_input(inp, self.options, report, resume, state)


def read_input(inp: PlannedInput, options: InputOptions, report: Report,
               resume: Resume | None = None, state: TaskState | None = None) -> Iterator[Item]:
    """One input's items after the first `resume.left`; what cannot be read goes to `report`.

    Public so that a worker given one input (the Ray engine) reads it exactly as a plan does.
    """
    resume = resume if resume is not None else Resume()
    try:
        for item in _read(inp, options, report, resume):
            if state is not None:
                state.check()
            if resume.left:
                resume.left -= 1
                continue
            yield item
    except SkipFile as exc:
        report(Skipped(str(inp.path), exc.reason, line=exc.line))
    except _FILE_ERRORS as exc:
        report(Skipped(str(inp.path), _describe(exc)))


def _read(inp: PlannedInput, options: InputOptions, report: Report,
          resume: Resume) -> Iterator[Item]:
    if inp.kind == "text":
        return text_files.read_items(inp.path, inp.source, options)
    if inp.kind == "table":
        return tables.read_items(inp.path, inp.source, inp.column, report, resume)
    if inp.kind == "pdf":
        return pdf.read_items(inp.path, inp.source, options)
    return iter([images.read_item(inp.path, inp.source)])


def _kind(f: folders.Found, modality: str) -> tuple[str | None, str]:
    """The reader for a file by its extension, or None and why none fits."""
    if not f.path.is_file():  # opening a pipe waits for a writer; /dev/zero never ends
        return None, "not a regular file (a device, pipe or socket)"
    suffix = f.path.suffix.lower()
    if modality == "image":
        if suffix in images.SUFFIXES:
            return "image", ""
        return None, "not an image file; image models read " + " ".join(images.SUFFIXES)
    if suffix in tables.FORMATS:
        return "table", ""
    if suffix in pdf.SUFFIXES:
        return "pdf", ""
    if suffix in images.SUFFIXES:
        return None, "an image; encoding images needs an image model"
    if suffix in text_files.SUFFIXES or f.how != "type":
        return "text", ""  # any other file the user chose is tried as plain text
    return None, "not a supported file type"


def _check_options(options: InputOptions) -> None:
    if options.modality not in MODALITIES:
        raise InputError(f"modality must be one of {', '.join(MODALITIES)}, "
                         f"not {options.modality!r}", option="modality")
    if options.modality != "text":
        return
    if options.chunk_tokens < 1:
        raise InputError(f"chunk size must be at least 1 token, got {options.chunk_tokens}",
                         option="chunk_tokens")
    if not 0 <= options.overlap_tokens < options.chunk_tokens:
        raise InputError(f"overlap must be at least 0 and less than the chunk size "
                         f"({options.chunk_tokens}), got {options.overlap_tokens}",
                         option="overlap_tokens")
    base = (options.count_tokens or approx_tokens)("")
    if options.chunk_tokens <= base:
        raise InputError(f"chunk size {options.chunk_tokens} leaves no room for text: the model "
                         f"adds {base} tokens to every input", option="chunk_tokens")


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot read the file ({exc.strerror or exc})"
    return f"cannot read the file ({type(exc).__name__}: {exc})"
