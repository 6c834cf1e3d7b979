"""Keep the bundle lean: drop what the app never loads, then the libraries only that needed.

Used by embedding-explorer.spec after the Analysis. PyInstaller has already added every
library the dropped files link (pyarrow's Flight and S3 clients, Qt's GTK theme with
cairo and pango, the framebuffer platforms), so after dropping, each shared library
PyInstaller found by dependency analysis (the bundle's top level) or that ships with Qt
is kept only when something still in the bundle links it (ldd, transitively). Libraries
inside other packages' folders stay: they may be opened with dlopen or ctypes.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import PurePosixPath

from PyInstaller.depend.bindepend import get_imports

# Destination paths inside the bundle (fnmatch patterns).
DROP = (
    # pyarrow: C++ headers and Cython sources, the Flight RPC and S3 clients (the app reads
    # local files; pyarrow.fs imports S3 only if it is there)
    "pyarrow/include/*", "pyarrow/*.pxd", "pyarrow/*.pyx", "pyarrow/*.pxi", "pyarrow/src/*",
    "pyarrow/libarrow_flight.so*", "pyarrow/libarrow_python_flight.so*",
    "pyarrow/libarrow_s3.so*", "pyarrow/_flight.*", "pyarrow/_s3fs.*",
    # the wheel's two extra copies of libarrow_python (only the soname is linked)
    "pyarrow/libarrow_python.so", "pyarrow/libarrow_python.so.*.*.*",
    # Qt: the app's text is English; the GTK theme would load the desktop's GTK next to the
    # bundle's own GLib; framebuffer, VNC and evdev platforms are for devices, not desktops
    "PySide6/Qt/translations/*",
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
    "PySide6/Qt/plugins/platforms/libqeglfs.so", "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so", "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/egldeviceintegrations/*", "PySide6/Qt/plugins/generic/*",
    "PySide6/Qt/plugins/networkinformation/*",
)
_SHARED_LIBRARY = re.compile(r"lib[^/]*\.so(\.\d+)*$")
_EXTENSION = re.compile(r"\.(cpython-[^.]+|abi3)\.so$")


def dropped(dest: str) -> bool:
    return any(fnmatch(dest, pattern) for pattern in DROP)


def _prunable(dest: str) -> bool:
    """A library that is in the bundle only because something linked it."""
    name = PurePosixPath(dest).name
    if not _SHARED_LIBRARY.match(name) or _EXTENSION.search(name) or name.startswith("libpython"):
        return False
    return "/" not in dest or dest.startswith("PySide6/Qt/lib/")


def slim(binaries: list, datas: list) -> tuple[list, list, list[str]]:
    """(binaries, datas, removed destinations) without DROP and the libraries only it needed."""
    kept = [b for b in binaries if not dropped(b[0])]
    roots = [b for b in kept if b[2] in ("BINARY", "EXTENSION") and not _prunable(b[0])]
    linked = {PurePosixPath(name).name for _, src, _ in roots for name, _ in get_imports(src)}
    binaries_out = [b for b in kept if not (_prunable(b[0]) and b[2] == "BINARY")
                    or PurePosixPath(b[0]).name in linked]
    present = {b[0] for b in binaries_out} | {d[0] for d in datas if not dropped(d[0])}
    # a symbolic link (PyInstaller keeps them as SYMLINK entries) goes with its target
    datas_out = [d for d in datas if not dropped(d[0])
                 and (d[2] != "SYMLINK" or _link_target(d) in present)]
    binaries_out = [b for b in binaries_out
                    if b[2] != "SYMLINK" or _link_target(b) in present]
    removed = sorted({e[0] for e in binaries + datas}
                     - {e[0] for e in binaries_out + datas_out})
    return binaries_out, datas_out, removed


def _link_target(entry: tuple) -> str:
    """A SYMLINK entry's target as a bundle path (its source is relative to the link)."""
    dest, target = PurePosixPath(entry[0]), PurePosixPath(entry[1])
    parts: list[str] = list(dest.parent.parts)
    for part in target.parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)
