#!/usr/bin/env bash
# End-to-end check of the Linux app as a user gets it: build the bundle and the .deb,
# unpack the .deb into a throwaway root, run the installed app's --selftest there, then
# start the GUI under Xvfb and wait for its window. Prints timings and sizes.
#
#   packaging/smoke.sh [--variant cpu|cuda] [--venv DIR] [--skip-build] [--skip-package]
#
# --skip-build reuses dist/desktop-sd and only repackages and tests it;
# --skip-package also reuses the .deb and .tar.gz already in dist/.
# Needs dpkg-deb, Xvfb and xdotool (apt-get install xvfb xdotool) and the Qt xcb
# libraries the .deb depends on. When run as root, the installed app runs as the
# unprivileged user "nobody", to whom its folder is read-only, so an app that
# writes inside its own folder fails here.
# Not part of CI: a build takes several minutes on two cores. Run it before a release.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_ARGS=()
SKIP_BUILD=0
SKIP_PACKAGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-build) SKIP_BUILD=1; shift ;;
        --skip-package) SKIP_BUILD=1; SKIP_PACKAGE=1; shift ;;
        --variant|--venv) BUILD_ARGS+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
        --variant=*|--venv=*) BUILD_ARGS+=("$1"); shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "smoke.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for tool in dpkg-deb Xvfb xdotool; do
    command -v "$tool" >/dev/null || { echo "smoke.sh: $tool is needed (apt-get install dpkg xvfb xdotool)" >&2; exit 2; }
done

PY=${PYTHON:-python3}
VERSION=$("$PY" "$ROOT/packaging/bundle_config.py" version)
declare -a REPORT=()
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
note() { REPORT+=("$1"); echo "== $1"; }

WORK=$(mktemp -d /tmp/desktop-sd-smoke.XXXXXX)
XVFB_PID=""
APP_PID=""
cleanup() {
    [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$SKIP_BUILD" = 0 ]; then
    t=$(now)
    "$ROOT/packaging/build.sh" "${BUILD_ARGS[@]}"
    note "bundle built in $(elapsed "$t") s"
fi
BUNDLE="$ROOT/dist/desktop-sd"
VARIANT=$(cat "$BUNDLE.variant" 2>/dev/null || echo cpu)
note "bundle: $(du -sh "$BUNDLE" | cut -f1) ($VARIANT), $(find "$BUNDLE" -type f | wc -l) files"

if [ "$SKIP_PACKAGE" = 0 ]; then
    t=$(now)
    "$ROOT/installer/linux/build-deb.sh" "$BUNDLE"
    note ".deb and .tar.gz built in $(elapsed "$t") s"
fi
PACKAGE=desktop-sd
[ "$VARIANT" = cuda ] && PACKAGE=desktop-sd-cuda
DEB="$ROOT/dist/${PACKAGE}_${VERSION}_amd64.deb"
TARBALL="$ROOT/dist/desktop-sd-$VERSION-linux-x86_64-$VARIANT.tar.gz"
note "$(basename "$DEB"): $(du -h "$DEB" | cut -f1); $(basename "$TARBALL"): $(du -h "$TARBALL" | cut -f1)"

# Install into a throwaway root, readable by everyone and writable by root only.
chmod 755 "$WORK"
INSTALL="$WORK/root"
dpkg-deb -x "$DEB" "$INSTALL"
APP="$INSTALL/opt/desktop-sd/desktop-sd"
[ "$(readlink "$INSTALL/usr/bin/desktop-sd")" = /opt/desktop-sd/desktop-sd ] \
    || { echo "smoke.sh: /usr/bin/desktop-sd does not point at the app" >&2; exit 1; }
USER_HOME="$WORK/home"
mkdir -p "$USER_HOME"
AS_USER=(env)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chown 65534:65534 "$USER_HOME"
    AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups env)
    note "the installed app runs as user nobody: its own folder is read-only to it"
fi
run_app() {
    "${AS_USER[@]}" HOME="$USER_HOME" XDG_RUNTIME_DIR="$USER_HOME" DESKTOP_SD_HOME= "$APP" "$@"
}
touch "$WORK/before"

Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do DISPLAY=:97 xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done

t=$(now)
run_app --selftest </dev/null | tee "$WORK/selftest-offscreen.txt"
note "installed --selftest without a display passed in $(elapsed "$t") s"

t=$(now)
DISPLAY=:97 run_app --selftest </dev/null | tee "$WORK/selftest-x11.txt"
grep -q "Qt platform 'xcb'" "$WORK/selftest-x11.txt" \
    || { echo "smoke.sh: the self-test under Xvfb did not use the xcb platform" >&2; exit 1; }
note "installed --selftest on X11 (xcb) passed in $(elapsed "$t") s"

t=$(now)
DISPLAY=:97 run_app </dev/null >"$WORK/gui.log" 2>&1 &
APP_PID=$!
window=""
for _ in $(seq 600); do
    window=$(DISPLAY=:97 xdotool search --onlyvisible --name "Desktop SD" 2>/dev/null | head -n1 || true)
    [ -n "$window" ] && break
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$window" ]; then
    echo "smoke.sh: no 'Desktop SD' window appeared; the app said:" >&2
    cat "$WORK/gui.log" >&2
    exit 1
fi
note "GUI window '$(DISPLAY=:97 xdotool getwindowname "$window")' appeared in $(elapsed "$t") s"
# Quit as a user would (Ctrl+Q); the app must close by itself and exit 0.
t=$(now)
DISPLAY=:97 xdotool windowfocus "$window" 2>/dev/null || true
sleep 0.3
DISPLAY=:97 xdotool key ctrl+q 2>/dev/null || true
for _ in $(seq 150); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$APP_PID" 2>/dev/null; then
    kill "$APP_PID" 2>/dev/null || true
    APP_PID=""
    note "WARNING: the GUI did not quit on Ctrl+Q within 15 s; it was killed"
else
    status=0
    wait "$APP_PID" || status=$?
    APP_PID=""
    if [ "$status" != 0 ]; then
        echo "smoke.sh: the GUI exited with status $status on Ctrl+Q; it said:" >&2
        cat "$WORK/gui.log" >&2
        exit 1
    fi
    note "GUI quit cleanly on Ctrl+Q in $(elapsed "$t") s"
fi

written=$(find "$INSTALL" -newer "$WORK/before" -not -type d | head -n5)
if [ -n "$written" ]; then
    echo "smoke.sh: the app wrote inside its install folder:" >&2
    echo "$written" >&2
    exit 1
fi
note "nothing was written inside the installed app"

echo
echo "Smoke test passed ($VARIANT, Desktop SD $VERSION):"
printf '  %s\n' "${REPORT[@]}"
