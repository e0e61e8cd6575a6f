#!/usr/bin/env bash
# Package the one-folder bundle for Linux: a .deb and a .tar.gz.
#
#   installer/linux/build-deb.sh [BUNDLE]       (BUNDLE defaults to dist/desktop-sd, made by packaging/build.sh)
#
# Writes dist/desktop-sd_<version>_amd64.deb (the CUDA build: desktop-sd-cuda_<version>_amd64.deb,
# which replaces the CPU one and the other way round) and
# dist/desktop-sd-<version>-linux-x86_64-<variant>.tar.gz (unpack anywhere, run desktop-sd/desktop-sd).
# The .deb installs the bundle in /opt/desktop-sd, /usr/bin/desktop-sd, a menu entry
# that offers "Open with" for PNG, JPEG and WebP images and .sdproj projects, and the icon
# in every hicolor size. Environment: PYTHON (default python3), DEB_COMPRESSION (xz, the
# default, gzip or zstd), SKIP_TARBALL=1 to make only the .deb, OUT_DIR (default dist) and
# STAGE_ROOT (default build/deb) for where the packages and the staging tree go.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/installer/linux"
BUNDLE=$(cd "${1:-$ROOT/dist/desktop-sd}" 2>/dev/null && pwd) || {
    echo "build-deb.sh: no bundle at ${1:-dist/desktop-sd}; build it first with packaging/build.sh" >&2
    exit 2
}
PY=${PYTHON:-python3}
config() { "$PY" "$ROOT/packaging/bundle_config.py" "$1"; }

VERSION=$(config version)
EXE=$(config exe-name)
if [ ! -x "$BUNDLE/$EXE" ]; then
    echo "build-deb.sh: $BUNDLE has no executable $EXE; rebuild it with packaging/build.sh" >&2
    exit 2
fi
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb is needed (apt-get install dpkg)" >&2; exit 2; }

VARIANT=cpu
[ -f "$BUNDLE.variant" ] && VARIANT=$(cat "$BUNDLE.variant")
PACKAGE=$EXE
CONFLICTS=$EXE-cuda
if [ "$VARIANT" = cuda ]; then
    PACKAGE=$EXE-cuda
    CONFLICTS=$EXE
fi
ARCH=amd64
OUT=${OUT_DIR:-$ROOT/dist}
STAGE="${STAGE_ROOT:-$ROOT/build/deb}/${PACKAGE}_${VERSION}_$ARCH"
mkdir -p "$OUT"

echo "== staging $PACKAGE $VERSION ($VARIANT) in $STAGE"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/mime/packages" "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a "$BUNDLE" "$STAGE/opt/$EXE"
chmod -R u+rwX,go+rX,go-w "$STAGE/opt/$EXE"
ln -s "/opt/$EXE/$EXE" "$STAGE/usr/bin/$EXE"
install -m 644 "$HERE/desktop-sd.desktop" "$STAGE/usr/share/applications/$EXE.desktop"
install -m 644 "$HERE/desktop-sd-mime.xml" "$STAGE/usr/share/mime/packages/$EXE.xml"
install -m 644 "$ROOT/resources/icon.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/$EXE.svg"
for size in $(config icon-sizes); do
    mkdir -p "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
    install -m 644 "$ROOT/resources/icons/app/desktop-sd-$size.png" \
        "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/$EXE.png"
done

# The bundle carries its own glibc-linked libraries: it needs at least the glibc it was built against.
# Read the whole output (no head): under pipefail an early-closed pipe makes ldd fail with SIGPIPE, which
# once appended the fallback to the version found and broke the control file.
GLIBC=$(ldd --version 2>/dev/null | sed -n '1s/.* \([0-9][0-9]*\.[0-9][0-9]*\)$/\1/p' || true)
[ -n "$GLIBC" ] || GLIBC=2.28
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
# Qt's xcb platform plugin needs these X libraries, which a bare desktop install may lack;
# EGL/GL, fontconfig and D-Bus are loaded by Qt itself.
DEPENDS="libc6 (>= $GLIBC), libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0,"
DEPENDS="$DEPENDS libxcb-xkb1, libxkbcommon-x11-0, libxkbcommon0, libxcb-shape0, libxcb-randr0, libxcb-xinerama0,"
DEPENDS="$DEPENDS libegl1, libgl1, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0"
if [ "$VARIANT" = cuda ]; then
    VARIANT_TEXT="This is the CUDA build, for NVIDIA GPUs (it needs an NVIDIA driver; it also runs on the CPU)."
else
    VARIANT_TEXT="This is the CPU build: small, runs on any computer. For an NVIDIA GPU install desktop-sd-cuda."
fi

cat > "$STAGE/DEBIAN/control" <<EOF
Package: $PACKAGE
Version: $VERSION
Architecture: $ARCH
Maintainer: $(config publisher) <maintainers@desktop-sd.invalid>
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Conflicts: $CONFLICTS
Replaces: $CONFLICTS
Provides: $EXE
Section: graphics
Priority: optional
Description: $(config summary)
 Desktop SD runs Stable Diffusion models on your own computer with no
 network: paint masks on a canvas to inpaint and outpaint, and browse every
 image you made in a history gallery. Python, PyTorch and Qt are included.
 .
 $VARIANT_TEXT
EOF

echo "== building the .deb (${DEB_COMPRESSION:-xz})"
DEB="$OUT/${PACKAGE}_${VERSION}_$ARCH.deb"
rm -f "$DEB"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$STAGE" "$DEB" >/dev/null
echo "== $DEB ($(du -h "$DEB" | cut -f1); installed $((INSTALLED_KB / 1024)) MB)"

if [ "${SKIP_TARBALL:-0}" != 1 ]; then
    TARBALL="$OUT/$EXE-$VERSION-linux-x86_64-$VARIANT.tar.gz"
    GZIP_CMD=gzip
    command -v pigz >/dev/null && GZIP_CMD=pigz
    tar -C "$(dirname "$BUNDLE")" --owner=0 --group=0 -cf - "$(basename "$BUNDLE")" | $GZIP_CMD -6 > "$TARBALL"
    echo "== $TARBALL ($(du -h "$TARBALL" | cut -f1))"
fi
