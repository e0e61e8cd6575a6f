#!/usr/bin/env bash
# Build the one-folder app bundle with PyInstaller.
#
#   packaging/build.sh [--variant cpu|cuda] [--venv DIR]
#
# Leaves dist/desktop-sd/desktop-sd (desktop-sd.exe on Windows; on macOS also
# "dist/Desktop SD.app"). The variant decides which torch the build venv gets:
#   cpu   torch's CPU build: small, runs everywhere (and uses MPS on Apple Silicon).
#   cuda  torch's CUDA build: NVIDIA GPUs, about 3 GB more.
# --venv uses an existing venv (its torch must match the variant); by default
# build/venv-<variant> is made and filled. PyInstaller is installed into the venv
# if it is missing.
#
# Environment: PYTHON (interpreter for a new venv, default python3),
# TORCH_VERSION (default 2.13.0) and TORCHVISION_VERSION (its build, default 0.28.0), TORCH_CPU_INDEX / TORCH_CUDA_INDEX (extra
# package indexes with torch's CPU / CUDA wheels; set to "" to use only the default index).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VARIANT=cpu
VENV=""
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.28.0}  # spandrel (upscalers) needs the torchvision built for that torch
TORCH_CPU_INDEX=${TORCH_CPU_INDEX-https://download.pytorch.org/whl/cpu}
TORCH_CUDA_INDEX=${TORCH_CUDA_INDEX-https://download.pytorch.org/whl/cu130}

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --variant) VARIANT=${2:?--variant needs cpu or cuda}; shift 2 ;;
        --variant=*) VARIANT=${1#*=}; shift ;;
        --venv) VENV=${2:?--venv needs a folder}; shift 2 ;;
        --venv=*) VENV=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

case "$VARIANT" in
    cpu|cuda) ;;
    *) echo "build.sh: --variant must be cpu or cuda, not '$VARIANT'" >&2; exit 2 ;;
esac

OS=$(uname -s)
if [ "$VARIANT" = cuda ] && [ "$OS" = Darwin ]; then
    echo "build.sh: macOS has no CUDA; build --variant cpu (it uses Apple's MPS GPU by itself)." >&2
    exit 2
fi

VENV=${VENV:-$ROOT/build/venv-$VARIANT}
if [ -x "$VENV/bin/python" ]; then
    PY="$VENV/bin/python"
elif [ -x "$VENV/Scripts/python.exe" ]; then
    PY="$VENV/Scripts/python.exe"
else
    echo "== creating build venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    if [ -x "$VENV/bin/python" ]; then PY="$VENV/bin/python"; else PY="$VENV/Scripts/python.exe"; fi
fi

pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

# An extra index that cannot be reached costs minutes of retries per package: check it once.
reachable() {
    [ -n "$1" ] && "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)" "$1" \
        >/dev/null 2>&1 && return 0
    [ -n "$1" ] && echo "   ($1 cannot be reached: using the configured package indexes only)"
    return 1
}

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "== installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION ($VARIANT)"
    if [ "$OS" = Darwin ]; then
        pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
    elif [ "$VARIANT" = cpu ]; then
        # The "+cpu" local version exists only on the CPU index; it never pulls the CUDA libraries.
        reachable "$TORCH_CPU_INDEX" || TORCH_CPU_INDEX=""
        pip_install "torch==$TORCH_VERSION+cpu" "torchvision==$TORCHVISION_VERSION+cpu" ${TORCH_CPU_INDEX:+--extra-index-url "$TORCH_CPU_INDEX"}
    elif [ "$OS" = Linux ]; then
        # On Linux the default index's torch is the CUDA build.
        pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
    else
        reachable "$TORCH_CUDA_INDEX" || TORCH_CUDA_INDEX=""
        pip_install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" ${TORCH_CUDA_INDEX:+--extra-index-url "$TORCH_CUDA_INDEX"}
    fi
fi

has_cuda=$("$PY" -c "import torch; print('yes' if torch.version.cuda else 'no')")
if { [ "$VARIANT" = cpu ] && [ "$has_cuda" = yes ]; } || { [ "$VARIANT" = cuda ] && [ "$has_cuda" = no ]; }; then
    echo "build.sh: the venv $VENV holds a torch that does not match --variant $VARIANT" \
        "(CUDA build: $has_cuda). Use another --venv or remove that one." >&2
    exit 2
fi

if ! "$PY" -c "import desktop_sd, diffusers, transformers, PySide6" >/dev/null 2>&1 \
    || ! "$PY" -c "import importlib.metadata as m; m.version('desktop-sd')" >/dev/null 2>&1; then
    echo "== installing Desktop SD and its dependencies into the build venv"
    pip_install -e "$ROOT"
fi
if ! "$PY" -c "import PyInstaller" >/dev/null 2>&1; then
    echo "== installing PyInstaller"
    pip_install "pyinstaller>=6.10"
fi

echo "== building the bundle ($VARIANT)"
start=$(date +%s)
DESKTOP_SD_VARIANT=$VARIANT "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller-$VARIANT" \
    "$ROOT/packaging/desktop-sd.spec"

BUNDLE="$ROOT/dist/desktop-sd"
echo "$VARIANT" > "$ROOT/dist/desktop-sd.variant"
echo "== bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1), $VARIANT, built in $(( $(date +%s) - start )) s)"
