"""What a folder takes on disk, counted as `du -sb` does, for the library's space tests."""

from __future__ import annotations

import os
from pathlib import Path


def walk_bytes(root: Path) -> int:
    """Every file and folder entry below `root`, each inode once (hard links count once)."""
    seen, total = set(), 0
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
            st = os.lstat(name)
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
