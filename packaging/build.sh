#!/usr/bin/env bash
# Build the standalone application with PyInstaller and smoke-test it in a clean
# environment: on Linux the folder packaging/dist/tracemark, on macOS also
# packaging/dist/Tracemark.app (the macOS branch has not been run yet; see README.md).
# Windows has its own script, build-windows.ps1.
#
#   packaging/build.sh            # build venv (created once), pyinstaller, smoke test
#   PYTHON=python3.12 packaging/build.sh
#   TRACEMARK_BUILD_VENV=/tmp/tm-venv packaging/build.sh
#   packaging/build.sh --no-smoke # build only
#   TRACEMARK_CODESIGN_IDENTITY="Developer ID Application: ..." packaging/build.sh   # macOS
#
# The build venv holds the project (installed from this checkout, not editable) with its
# runtime dependencies and PyInstaller, nothing else: whatever is in the venv can end up in
# the bundle, so test tools (pytest, mne, pyedflib) are kept out of it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-python3}
venv=${TRACEMARK_BUILD_VENV:-$here/build/venv}
workpath=$here/build/pyinstaller
distpath=$here/dist
smoke=1
for arg in "$@"; do
    case $arg in
        --no-smoke) smoke=0 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

step() { printf '\n== %s\n' "$*"; }
started=$(date +%s)

step "build venv: $venv"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$repo[package]"
if [ "$(uname -s)" = Darwin ]; then
    "$venv/bin/python" -m pip install --quiet pillow   # PyInstaller makes the .icns with it
fi
# A local directory keeps its version number between commits: reinstall it so the bundle
# holds the checkout as it is now.
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$repo"
"$venv/bin/python" -c 'import sys, PyInstaller, tracemark; print("python", sys.version.split()[0], "| pyinstaller", PyInstaller.__version__, "| tracemark", tracemark.__version__)'
system=$(uname -s)
if [ "$system" = Linux ]; then
    # Qt's X11 platform plugin needs a few xcb libraries; PyInstaller bundles those present
    # on the build machine, and a target without them cannot open a window under X11.
    qxcb=$("$venv/bin/python" -c 'import PyQt6, pathlib; print(next(pathlib.Path(PyQt6.__file__).parent.glob("Qt6/plugins/platforms/libqxcb.so")))')
    missing=$(ldd "$qxcb" | awk '/not found/ { print $1 }' | tr '\n' ' ')
    if [ -n "$missing" ]; then
        echo "build.sh: warning: $missing not found on this machine, so not bundled; the app will" \
             "need them on the target for X11 (Debian/Ubuntu: libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0)" >&2
    fi
fi
venv_done=$(date +%s)

step "pyinstaller"
# Run from packaging/ so the source tree's tracemark/ is not what gets imported: the
# installed copy (and its metadata) is.
(cd "$here" && "$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath "$workpath" --distpath "$distpath" "$here/tracemark.spec")
app=$distpath/tracemark

if [ "$system" = Linux ]; then
    # The desktop entry and icon in the XDG layout, so installing is a copy (see README.md).
    install -D -m 644 "$repo/resources/tracemark.desktop" "$app/share/applications/tracemark.desktop"
    install -D -m 644 "$repo/resources/icons/tracemark.svg" "$app/share/icons/hicolor/scalable/apps/tracemark.svg"
    install -D -m 644 "$repo/resources/tracemark-mime.xml" "$app/share/mime/packages/tracemark.xml"
elif [ "$system" = Darwin ]; then
    # What people install is the .app; the smoke test runs it, since it lays out Qt's
    # plugins differently from the plain folder.
    app=$distpath/Tracemark.app
    codesign --verify --strict "$app" || echo "build.sh: warning: the signature of $app does not verify" >&2
fi
built=$(date +%s)

echo "venv: $((venv_done - started)) s, pyinstaller: $((built - venv_done)) s," \
     "folder: $(du -sh "$app" | cut -f1) ($(find "$app" -type f | wc -l) files) at $app"

if [ "$smoke" = 1 ]; then
    step "smoke test (clean environment)"
    "$here/smoke_test.sh" "$app"
fi
