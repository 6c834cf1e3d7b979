"""Which units of a Ray encoding are finished, so a cancelled or failed job resumes from them.

Each worker writes its unit's shard (`shard-NNNNNN.parquet`) through a `.partial` file and
a rename; the driver then appends the unit's record to `journal.jsonl`: the unit's key,
its rows and items, the inputs it skipped, and the shard's size and blake2b. Every line is
sealed with a hash of itself (work_folder.seal), so one append per unit stays cheap for
jobs of many thousands of units, and a torn last line (a crash mid-write) costs that unit
only. A resumed run trusts a unit when its line, its key and its shard all check out;
every other shard is removed and encoded again, with a notice saying what was wrong.
The caller holds the job's lock (job_lock.py) while a journal is open.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from explorer.compute.cluster.units import Unit
from explorer.compute.encoding.work_folder import (
    SKIPPED_FIELDS,
    DamagedProgress,
    check_fields,
    file_digest,
    seal,
    unseal,
    write_synced,
)

JOURNAL_FILE = "journal.jsonl"
JOURNAL_VERSION = 1
_HEADER_FIELDS = {"version": int, "dim": int, "checksum": str}
_RECORD_FIELDS = {"unit": int, "key": str, "file": str, "items": int, "rows": int,
                  "bytes": int, "blake2b": str, "skipped": list, "checksum": str}


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.parquet"


class ShardJournal:
    """Finished units by index; `notices` says what an earlier run left that was not sound."""

    def __init__(self, root: Path, dim: int, units: list[Unit]) -> None:
        self.root = root
        self.dim = dim
        self.path = root / JOURNAL_FILE
        self.notices: list[str] = []
        root.mkdir(parents=True, exist_ok=True)
        self.records: dict[int, dict] = self._recover(units)

    def done(self) -> set[int]:
        return set(self.records)

    def shard(self, index: int) -> Path:
        return self.root / shard_name(index)

    def add(self, record: dict) -> None:
        """Journal one finished unit (its shard is already in place)."""
        body = {k: v for k, v in record.items() if k != "checksum"}
        write_synced(self.path, (json.dumps(seal(body)) + "\n").encode("utf-8"), "ab")
        self.records[body["unit"]] = body

    def skipped(self) -> list[dict]:
        """The finished units' skipped inputs, in unit order."""
        return [s for i in sorted(self.records) for s in self.records[i]["skipped"]]

    # --- resuming ------------------------------------------------------------------------

    def _recover(self, units: list[Unit]) -> dict[int, dict]:
        records, problems = self._read(units)
        kept: dict[int, dict] = {}
        for index, record in sorted(records.items()):
            why = self._damage(record)
            if why:
                problems.append(f"shard {index + 1} of {len(units)} {why}")
            else:
                kept[index] = record
        if problems:
            extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.notices.append(f"Work saved by an earlier run of this encoding is damaged "
                                f"({problems[0]}{extra}); encoding those units again")
        self._keep(kept)
        return kept

    def _read(self, units: list[Unit]) -> tuple[dict[int, dict], list[str]]:
        """The journal's sound records of current units, and what was wrong with others."""
        if not self.path.is_file():
            return {}, []
        try:
            lines = self.path.read_bytes().decode("utf-8").splitlines()
            header = json.loads(lines[0]) if lines else None
            if not isinstance(header, dict):
                raise DamagedProgress("no header")
            check_fields(header, _HEADER_FIELDS, "the header")
            unseal(header)
            if header["version"] != JOURNAL_VERSION or header["dim"] != self.dim:
                raise DamagedProgress("written for other settings")
        except (ValueError, DamagedProgress) as exc:  # UnicodeDecodeError is a ValueError
            self.notices.append(f"The progress saved by an earlier run of this encoding is "
                                f"unreadable ({exc}); starting over")
            return {}, []
        records: dict[int, dict] = {}
        problems: list[str] = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise DamagedProgress("not a JSON object")
                check_fields(data, _RECORD_FIELDS, f"line {number}")
                body = unseal(data)
                for skipped in body["skipped"]:
                    if not isinstance(skipped, dict):
                        raise DamagedProgress("a skipped input is not an object")
                    check_fields(skipped, SKIPPED_FIELDS, f"line {number}'s skipped input")
            except (ValueError, DamagedProgress) as exc:
                problems.append(f"line {number} of {JOURNAL_FILE}: {exc}")
                continue
            index = body["unit"]
            if 0 <= index < len(units) and body["key"] == units[index].key \
                    and body["file"] == shard_name(index):
                records[index] = body  # a later line for the same unit wins
        return records, problems

    def _damage(self, record: dict) -> str | None:
        path = self.shard(record["unit"])
        if not path.is_file():
            return "is missing"
        if path.stat().st_size != record["bytes"] or file_digest(path) != record["blake2b"]:
            return "has changed"
        return None

    def _keep(self, kept: dict[int, dict]) -> None:
        """Only the kept shards stay, and the journal is rewritten with only their records."""
        names = {shard_name(i) for i in kept}
        for path in self.root.iterdir():
            if path.name not in names:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        lines = [json.dumps(seal({"version": JOURNAL_VERSION, "dim": self.dim}))]
        lines += [json.dumps(seal(kept[i])) for i in sorted(kept)]
        partial = self.root / f".{JOURNAL_FILE}.partial"
        write_synced(partial, ("\n".join(lines) + "\n").encode("utf-8"), "wb")
        os.replace(partial, self.path)
