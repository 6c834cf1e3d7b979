#!/usr/bin/env bash
# Build the Linux bundle: dist/embedding-explorer/ (PyInstaller, one folder), then
# dist/embedding-explorer-VERSION-linux-x86_64.tar.gz and dist/embedding-explorer_VERSION_amd64.deb.
#
#   installer/build.sh            # with the project's .venv (PYTHON=... for another interpreter)
#   installer/build.sh --folder   # the folder only, no archives
#
# Needs on the build machine: the default model's packages in the environment (the README's
# install command), and the X11 libraries Qt's xcb platform links (PyInstaller copies them
# into the bundle; without them the bundle cannot open a window), e.g. on Debian/Ubuntu:
#   apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
#     libxcb-cursor0 libxkbcommon-x11-0
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DIST=$ROOT/dist
WORK=$ROOT/build
NAME=embedding-explorer
MAINTAINER=${MAINTAINER:-Embedding Explorer developers <embedding-explorer@localhost>}
FOLDER_ONLY=false
[[ "${1:-}" == "--folder" ]] && FOLDER_ONLY=true

# What the bundle needs from the system: glibc, OpenGL/EGL (never bundled: they must match
# the graphics driver), Wayland, D-Bus, and what Qt's xcb platform plugin links (ldd on
# PySide6/Qt/plugins/platforms/libqxcb.so). PyInstaller bundles copies of most X11 libraries
# too; declaring them keeps a bundle built on a machine without them working.
DEPENDS="libc6, libstdc++6, libglib2.0-0, libfontconfig1, libfreetype6, libdbus-1-3,
 libegl1, libgl1, libwayland-client0, libwayland-cursor0, libwayland-egl1, libx11-6,
 libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-glx0, libxcb-icccm4, libxcb-image0,
 libxcb-keysyms1, libxcb-randr0, libxcb-render0, libxcb-render-util0, libxcb-shape0,
 libxcb-shm0, libxcb-sync1, libxcb-util1, libxcb-xfixes0, libxcb-xkb1, libxkbcommon0,
 libxkbcommon-x11-0"

step() { printf '\n== %s\n' "$*"; }
started=$(date +%s)

step "PyInstaller (and a fresh install of this project, so its entry points are current)"
"$PYTHON" -m pip install -q -e "$ROOT[bundle]"
VERSION=$("$PYTHON" -c "import explorer; print(explorer.__version__)")
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" \
    --workpath "$WORK/pyinstaller" "$ROOT/installer/$NAME.spec"
BUNDLE=$DIST/$NAME

# The bundle's own executable runs its self-test once (which compiles every kernel the app
# uses: explorer.compute.warm_up), for a generic x86-64 CPU, into a cache shipped inside the
# bundle; on a machine that never ran the app, the runtime hook and
# explorer/compute/numba/frozen_cache.py load those instead of compiling (~11-40 s). The
# executable must be this one: numba stamps its cache with the executable's hash.
step "numba kernels for a generic CPU, shipped in the bundle (the bundle's self-test)"
SHIPPED=$BUNDLE/_internal/numba-cache-generic
rm -rf "$SHIPPED" "$WORK/selftest-home"
(cd "$WORK" && env -u NUMBA_CACHE_LOCATOR_CLASSES NUMBA_CPU_NAME=generic \
    NUMBA_CACHE_DIR="$SHIPPED" EXPLORER_NUMBA_SHIPPING=1 EXPLORER_HOME="$WORK/selftest-home" \
    QT_QPA_PLATFORM=offscreen "$BUNDLE/$NAME" --selftest)
rm -rf "$WORK/selftest-home"
echo "shipped numba cache: $(du -sh "$SHIPPED" | cut -f1), $(find "$SHIPPED" -name '*.nbi' | wc -l) kernels"
built=$(date +%s)
echo "bundle: $BUNDLE, $(du -sh "$BUNDLE" | cut -f1), $((built - started)) s"
$FOLDER_ONLY && exit 0

step "tar.gz"
TARBALL=$DIST/$NAME-$VERSION-linux-x86_64.tar.gz
tar -C "$DIST" -cf - "$NAME" | $(command -v pigz || echo gzip) > "$TARBALL"  # pigz: all cores
echo "$TARBALL: $(du -h "$TARBALL" | cut -f1)"

step "deb"
STAGE=$WORK/deb/${NAME}_$VERSION
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/mime/packages"
cp -al "$BUNDLE" "$STAGE/opt/$NAME" 2>/dev/null || cp -a "$BUNDLE" "$STAGE/opt/$NAME"
cat > "$STAGE/usr/bin/$NAME" <<EOF
#!/bin/sh
exec /opt/$NAME/$NAME "\$@"
EOF
chmod 755 "$STAGE/usr/bin/$NAME"
install -m 644 "$ROOT/resources/$NAME.desktop" "$STAGE/usr/share/applications/"
install -m 644 "$ROOT/resources/icons/$NAME.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/"
install -m 644 "$ROOT/resources/$NAME-mime.xml" "$STAGE/usr/share/mime/packages/$NAME.xml"
cat > "$STAGE/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: amd64
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: $(echo "$DEPENDS" | tr -s ' \n' ' ')
Section: science
Priority: optional
Description: desktop explorer for embedding sets
 Open the embedding files you have (NumPy, Parquet/Arrow, CSV, JSONL, word2vec,
 fvecs, HDF5) or encode text and images with an ONNX model, offline; keep them in
 a local library; look at them on a map, with nearest neighbours, concept
 directions and a compression workbench. Self-contained: Python and every library
 are in /opt/$NAME. "$NAME --selftest" checks the installation.
EOF
DEB=$DIST/${NAME}_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$DEB" >/dev/null
rm -rf "$WORK/deb"
echo "$DEB: $(du -h "$DEB" | cut -f1)"

step "done in $(($(date +%s) - started)) s (PyInstaller $((built - started)) s)"
