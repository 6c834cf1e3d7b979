#!/usr/bin/env bash
# CI step after the tests (the README's test command has made .venv): build the bundle, the
# .tar.gz and the .deb, then run the frozen app's --selftest from another directory, and
# draw its window on a virtual X screen through Qt's xcb platform.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=$ROOT/dist/embedding-explorer
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

# The X11 libraries PyInstaller must find to bundle Qt's xcb platform, binutils for its
# dependency analysis, Xvfb for the window check.
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    binutils libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-cursor0 \
    libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 xvfb xauth >/dev/null

start=$(date +%s)
"$ROOT/installer/build.sh"
build_seconds=$(($(date +%s) - start))

elsewhere=$(mktemp -d)
cd "$elsewhere"  # the launch directory must not matter (numba's cache, resources, model)
# A machine that never ran the app: a new HOME, no cache. The kernels the bundle ships
# (build.sh) must load: the self-test counts numba's compiles, and must count none.
start=$(date +%s)
env -u NUMBA_CACHE_DIR -u XDG_DATA_HOME -u EXPLORER_HOME -u NUMBA_CPU_NAME \
    HOME="$elsewhere/new-home" "$BUNDLE/embedding-explorer" --selftest | tee selftest.txt
selftest_seconds=$(($(date +%s) - start))
compiles=$(sed -n 's/^numba compiles: \([0-9]*\).*/\1/p' selftest.txt)
if [ "$compiles" != 0 ]; then
    echo "the bundle compiled ${compiles:-an unknown number of} numba kernels on a new HOME:" \
         "its shipped generic cache (build.sh) did not load" >&2
    exit 1
fi

"$ROOT/.venv/bin/python" -c "import numpy as np; np.save('points.npy', \
    np.random.default_rng(0).normal(size=(500, 16)).astype('float32'))"
EXPLORER_HOME=$elsewhere/home QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x800x24" \
    "$BUNDLE/embedding-explorer" screenshot points.npy --out window.png --view map
echo "xcb window drawn: $(du -h window.png | cut -f1) PNG"
cd / && rm -rf "$elsewhere"

echo
echo "bundle folder $(du -sh "$BUNDLE" | cut -f1), tar.gz $(du -h "$ROOT"/dist/*.tar.gz | cut -f1)," \
     "deb $(du -h "$ROOT"/dist/*.deb | cut -f1)"
echo "build ${build_seconds} s (PyInstaller, shipped kernels, archives), frozen selftest on a" \
     "new HOME ${selftest_seconds} s with 0 numba compiles"
