"""User-facing input errors that say what was wrong and where."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class InputError(Exception):
    """A problem with the user's input, reported as one readable line.

    `row` is a 0-based data row, `line` a 1-based line in a text file and
    `column` a column name or 1-based column number, so the message can point
    at the exact cell the user has to fix.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | int | None = None,
        hint: str | None = None,
        choices: tuple[str, ...] = (),
        option: str | None = None,
    ) -> None:
        self.message = message
        # When the input is ambiguous (several vector columns, several datasets), the
        # candidates and the LoadOptions field that picks one, so a UI can ask.
        self.choices = tuple(choices)
        self.option = option
        self.path = str(path) if path is not None else None
        self.row = row
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(str(self))

    def where(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "path": self.path,
            "row": self.row,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
            "choices": list(self.choices),
        }


def storage_error(exc: OSError, place: str | Path, what: str) -> InputError:
    """An OSError met while writing into `place` (`what` names it: "the library folder").

    Permissions, a read-only mount and a full disk are the user's to fix, so they
    get a sentence that names the place; anything else keeps the system's words.
    """
    reason = exc.strerror or str(exc)
    if exc.errno in NOT_WRITABLE:
        return InputError(f"{what} {place} is not writable ({reason})")
    if exc.errno in DISK_FULL:
        return InputError(f"the disk holding {what} {place} is full ({reason})")
    return InputError(f"cannot write {exc.filename or place} ({reason})")


@contextmanager
def writing_into(place: str | Path, what: str) -> Iterator[None]:
    """Turn an OSError about `place` raised inside the block into `storage_error`'s one line.

    One naming a file elsewhere (a source being read) is not about this place
    and passes through unchanged.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is not None and not Path(os.path.abspath(exc.filename)).is_relative_to(
                os.path.abspath(place)):
            raise
        raise storage_error(exc, place, what) from None


@dataclass(frozen=True)
class Warning_:
    """A non-fatal finding about the data (zero vectors, duplicate ids...)."""

    code: str
    message: str
    count: int
    examples: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "count": self.count,
                "examples": list(self.examples)}
