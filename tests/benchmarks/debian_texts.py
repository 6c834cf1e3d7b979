"""The real 63k text set the map benchmarks use: one text per Debian package.

Not collected by pytest. Reads the machine's own apt lists (after `apt-get update`), no
network of its own, and writes a Parquet of package, section and "name: description":

    .venv/bin/python tests/benchmarks/debian_texts.py /tmp/own/elsewhere/debian-packages.parquet
    HOME=/tmp/deb-home .venv/bin/embedding-explorer models install minilm
    HOME=/tmp/deb-home .venv/bin/embedding-explorer encode \\
        /tmp/own/elsewhere/debian-packages.parquet --column text --out debian-63k
    cp /tmp/deb-home/.local/share/embedding-explorer/sets/debian-63k/vectors.npy \\
        /tmp/own/elsewhere/debian-minilm.npy

bookworm's main Packages list gives 63,436 packages (encoded in ~4 minutes on 2 cores).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LISTS = Path("/var/lib/apt/lists")
PACKAGES = "*_debian_dists_*_main_binary-amd64_Packages*"


def read_list(path: Path) -> str:
    """A Packages list as text (lz4-compressed as apt keeps it, or plain)."""
    if path.suffix == ".lz4":
        return subprocess.run(["lz4cat", str(path)], capture_output=True,
                              check=True).stdout.decode("utf-8", "replace")
    return path.read_text("utf-8", "replace")


def packages(text: str) -> list[dict]:
    """One record per stanza: package, section and the text "name: description"."""
    out = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.split("\n"):
            if line.startswith(" ") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            description = fields.get("Description", "").replace("\n.", "\n")
            out.append({"package": fields["Package"], "section": fields.get("Section", ""),
                        "text": f"{fields['Package']}: {description}"})
    return out


def main() -> None:
    found = sorted(p for p in LISTS.glob(PACKAGES) if "updates" not in p.name
                   and "security" not in p.name)
    if not found:
        sys.exit(f"no main Packages list in {LISTS}: run apt-get update first")
    seen: set[str] = set()
    rows = []
    for record in packages(read_list(found[0])):
        if record["package"] not in seen:
            seen.add(record["package"])
            rows.append(record)
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "debian-packages.parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out)
    print(f"{len(rows):,} packages from {found[0].name} -> {out}")


if __name__ == "__main__":
    main()
