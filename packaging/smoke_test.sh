#!/usr/bin/env bash
# Smoke-test a built Tracemark application folder as a machine without Python would run it:
#
#   packaging/smoke_test.sh [packaging/dist/tracemark]
#   packaging/smoke_test.sh packaging/dist/Tracemark.app      # macOS (not run yet)
#
# The folder is copied to a temporary place (a bundle must not depend on where it was
# built) and run from a temporary working directory with an empty environment apart from
# PATH=/usr/bin:/bin, a fresh HOME and QT_QPA_PLATFORM=offscreen: no virtual environment,
# no PYTHONPATH, no LD_LIBRARY_PATH, no user settings. It checks, in order:
#   1. the folder holds what packaging/bundle.py requires (Qt plugins, schemas, metadata);
#   2. `tracemark --version` prints the version;
#   3. `tracemark --smoke-test` opens the demo offscreen (generated on this first use) and
#      passes; it is run a second time with the demo in place, as a person's later starts;
#   4. the same under Xvfb through Qt's xcb platform plugin, when xvfb-run is installed
#      (on macOS: on the display, through the Cocoa plugin);
#   5. `tracemark info` reads the demo recording (a headless subcommand).
# Exits non-zero at the first failure. Prints the timings; the window's picture is kept.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app=${1:-$here/dist/tracemark}
app=$(cd "$app" && pwd)
# The program inside the folder (a macOS .app keeps it under Contents/MacOS).
program=tracemark
case $app in *.app) program=Contents/MacOS/tracemark ;; esac
[ -x "$app/$program" ] || { echo "smoke_test.sh: no executable $app/$program" >&2; exit 2; }
# Where the app puts the demo (platformdirs' user data folder for "tracemark").
case $(uname -s) in
    Darwin) demo_dir="Library/Application Support/tracemark/demo" ;;
    *) demo_dir=.local/share/tracemark/demo ;;
esac
# Seconds with a fraction where date has %N (GNU), whole seconds elsewhere (macOS).
now() { case $(date +%N) in *N) date +%s ;; *) date +%s.%N ;; esac; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tracemark-smoke.XXXXXX")
mkdir -p "$scratch/home" "$scratch/cwd"
cp -a "$app" "$scratch/app"
run() {
    (cd "$scratch/cwd" && env -i PATH=/usr/bin:/bin HOME="$scratch/home" QT_QPA_PLATFORM=offscreen \
        "$scratch/app/$program" "$@")
}
fail() { echo "smoke_test.sh: FAILED: $*" >&2; exit 1; }

echo "bundle: $app ($(du -sh "$app" | cut -f1)), running a copy at $scratch/app"

python_for_check=${PYTHON:-python3}
if command -v "$python_for_check" >/dev/null; then
    # Only the file check needs a Python, and only the standard library.
    "$python_for_check" -c 'import sys; sys.path.insert(0, sys.argv[1]); import bundle
problems = bundle.check_folder(sys.argv[2])
print("\n".join(problems) or "folder check: complete"); sys.exit(1 if problems else 0)' \
        "$here" "$scratch/app" || fail "the folder is incomplete"
fi

version=$(run --version) || fail "tracemark --version exited $?"
case $version in
    "tracemark "[0-9]*) echo "version: $version" ;;
    *) fail "tracemark --version printed '$version'" ;;
esac
case $version in *unknown*) fail "the version is unknown (package metadata missing)" ;; esac

for attempt in first second; do
    start=$(now)
    out=$(run --smoke-test "$scratch/window-$attempt.png" 2>"$scratch/stderr-$attempt.txt") \
        || { cat "$scratch/stderr-$attempt.txt" >&2; fail "tracemark --smoke-test ($attempt run)"; }
    end=$(now)
    echo "$attempt run: $out"
    echo "$attempt run: exited 0 after $(awk "BEGIN { printf \"%.2f\", $end - $start }") s wall clock"
done

if [ "$(uname -s)" = Darwin ]; then
    # The same through Qt's Cocoa plugin, on the logged-in user's display.
    out=$(cd "$scratch/cwd" && env -i PATH=/usr/bin:/bin HOME="$scratch/home" QT_QPA_PLATFORM=cocoa \
        "$scratch/app/$program" --smoke-test "$scratch/window-cocoa.png" 2>"$scratch/stderr-cocoa.txt") \
        || { cat "$scratch/stderr-cocoa.txt" >&2; fail "tracemark --smoke-test on the Cocoa platform"; }
    echo "Cocoa run: $out"
elif command -v xvfb-run >/dev/null; then
    # The same on a real X server (Xvfb), through Qt's xcb plugin as on a person's desktop.
    out=$(cd "$scratch/cwd" && xvfb-run -a -s "-screen 0 1920x1080x24" bash -c \
        'env -i PATH=/usr/bin:/bin HOME="$1" DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" \
             QT_QPA_PLATFORM=xcb "$2/tracemark" --smoke-test "$3"' \
        _ "$scratch/home" "$scratch/app" "$scratch/window-xcb.png" 2>"$scratch/stderr-xcb.txt") \
        || { cat "$scratch/stderr-xcb.txt" >&2; fail "tracemark --smoke-test under Xvfb (xcb)"; }
    echo "X11 run: $out"
else
    echo "X11 run: skipped (no xvfb-run; Debian: apt-get install xvfb xauth)"
fi

demo=$(ls "$scratch/home/$demo_dir"/*.TRC | head -1)
run info "$demo" >"$scratch/info.txt" || { cat "$scratch/info.txt" >&2; fail "tracemark info $demo"; }
echo "info: $(head -1 "$scratch/info.txt")"
rm -rf "$scratch/app"
echo "smoke test passed; picture of the window: $scratch/window-first.png"
