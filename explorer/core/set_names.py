"""Names of library sets: unique in a library, and telling a second import how it differs.

Commands take a set's id or its name, so a name may be neither another set's name
nor another set's id; then every key means one set. A name the user gives that is
taken is refused with the set holding it (or, asked to, that set is replaced). A
name the app picks (the file's name) is made unique instead:

- a file read another way than the set of that name: the options are added,
  "vecs (metadata labels.csv)";
- a set the app made again from the same source (the demo rebuilt with the default
  model): the new one takes the name and the older build is renamed with its date
  (until the app removes it), unless the name is the older build's id, which would
  then name two sets;
- otherwise a number, "vecs (2)" (a changed file imported again, `new`).

Choosing a name and renaming the finished set into place happen under one lock (an
flock on the `sets` folder itself, held for milliseconds), so two imports running at
once cannot both take a name. Libraries written before names were unique may hold two
sets of one name; looking such a name up lists them, so one can be picked by id.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.manifest import LibraryEntry

try:
    import fcntl
except ImportError:  # Windows: names are checked, but two processes could race
    fcntl = None

@dataclass
class NameChoice:
    """The name a new set gets, and what happens to the set that had it."""

    name: str
    replaced: LibraryEntry | None = None  # deleted once the new set is in place
    superseded: LibraryEntry | None = None  # an older copy of the same source: renamed
    older_name: str | None = None  # what the superseded set is called from now on


REPLACE_HINT = "choose another name, or --replace to swap that set for this import"


def holder(entries: list[LibraryEntry], name: str, but: str | None = None) -> LibraryEntry | None:
    """The set (other than `but`) whose name or id is `name`, if any."""
    for e in entries:
        if e.id != but and name in (e.name, e.id):
            return e
    return None


def taken_error(name: str, owner: LibraryEntry, hint: str) -> InputError:
    what = "called" if owner.name == name else "whose id is"
    return InputError(f"the library already has a set {what} {name!r}: {owner.describe()}",
                      hint=hint)


def ambiguous_error(key: str, matches: list[LibraryEntry]) -> InputError:
    """Two sets answer to `key` (a library written before names were unique)."""
    return InputError(f"several library sets are called {key!r}: "
                      + "; ".join(e.describe() for e in matches),
                      hint="use the id instead of the name, or `embedding-explorer rename ID "
                           "NEW-NAME` to tell them apart")


def choose(entries: list[LibraryEntry], asked: str | None, base: str, *, source: list[str],
           format: str, options: ImportOptions | None, new: bool,
           replace: bool) -> NameChoice:
    """The name of a set about to be stored (see the module's docstring for the rules)."""
    wanted = asked if asked is not None else base
    owner = holder(entries, wanted)
    if owner is None:
        return NameChoice(wanted)
    if replace and owner.name == wanted:
        return NameChoice(wanted, replaced=owner)
    if asked is not None:
        raise taken_error(asked, owner, REPLACE_HINT)
    names = [base]
    if options is not None and options.describe():
        names.append(f"{base} ({', '.join(options.describe())})")
    for name in names:
        owner = holder(entries, name)
        if owner is None:
            return NameChoice(name)
        if (options is None and not new and source and owner.name == name
                and owner.id != name and owner.source == source and owner.format == format
                and owner.import_options is None):
            older = f"{name} ({owner.created[:16].replace('T', ' ')} UTC)"
            return NameChoice(name, superseded=owner, older_name=free(older, entries))
    return NameChoice(free(names[-1], entries))


def free(name: str, entries: list[LibraryEntry]) -> str:
    """`name`, or `name (2)`, `name (3)` ... whichever no set has yet."""
    candidate, number = name, 2
    while holder(entries, candidate) is not None:
        candidate, number = f"{name} ({number})", number + 1
    return candidate


@contextmanager
def names_lock(sets_dir: Path) -> Iterator[None]:
    """Hold the library's name lock: a name checked inside stays free until the block ends."""
    fd = os.open(sets_dir, os.O_RDONLY | os.O_CLOEXEC)  # a folder can be flock'ed too
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
