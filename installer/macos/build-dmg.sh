#!/usr/bin/env bash
# Package "dist/Desktop SD.app" (made by packaging/build.sh on macOS) into a disk image.
#
#   installer/macos/build-dmg.sh
#
# Writes dist/desktop-sd-<version>-macos-<arch>.dmg: the app and a link to
# /Applications, so the user drags one onto the other. The app's Info.plist
# (version, icon, "Open With" for PNG, JPEG and WebP, .sdproj projects) comes from
# packaging/bundle_config.py through the PyInstaller spec.
# Signing: set CODESIGN_IDENTITY ("Developer ID Application: ...") to sign the app
# with the hardened runtime before packaging; notarize the .dmg afterwards with
# `xcrun notarytool submit --wait` and `xcrun stapler staple`. Unsigned, the user
# opens it the first time with right-click > Open.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
config() { "$PY" "$ROOT/packaging/bundle_config.py" "$1"; }

if [ "$(uname -s)" != Darwin ] || ! command -v hdiutil >/dev/null; then
    echo "build-dmg.sh: needs macOS (hdiutil); on Linux use installer/linux/build-deb.sh" >&2
    exit 2
fi

VERSION=$(config version)
APP_NAME=$(config app-name)
EXE=$(config exe-name)
APP="$ROOT/dist/$APP_NAME.app"
if [ ! -x "$APP/Contents/MacOS/$EXE" ]; then
    echo "build-dmg.sh: no $APP; build it first with packaging/build.sh" >&2
    exit 2
fi
PLIST_VERSION=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist")
if [ "$PLIST_VERSION" != "$VERSION" ]; then
    echo "build-dmg.sh: the app says version $PLIST_VERSION but pyproject.toml says $VERSION: rebuild it" >&2
    exit 2
fi

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    echo "== signing with $CODESIGN_IDENTITY"
    codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict "$APP"
fi

STAGE="$ROOT/build/dmg"
DMG="$ROOT/dist/$EXE-$VERSION-macos-$(uname -m).dmg"
rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"

echo "== building $DMG"
hdiutil create -volname "$APP_NAME $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -imagekey zlib-level=9 -ov "$DMG"
echo "== $DMG ($(du -h "$DMG" | cut -f1))"
