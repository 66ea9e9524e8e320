#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the desktop bundle: one folder with the program, its own Python, torch (CPU), Qt
# (QtCore, QtGui, QtWidgets) and the shipped models, made by PyInstaller from
# packaging/barforge.spec. It runs where no Python packages are installed.
#
#   bash packaging/linux/build.sh [--out DIR] [--archive] [--target linux|macos|windows]
#
#   --out DIR     where the bundle goes (default dist/bundle): DIR/barforge/barforge is the
#                 command line, DIR/barforge/barforge-app the app
#   --archive     also pack it as DIR/barforge-VERSION-linux-ARCH.tar.gz
#   --target      the system it is for; PyInstaller builds only for the one it runs on, so
#                 this checks you are on it (default: this one). See packaging/README.md for
#                 what macOS (a Barforge.app) and Windows (barforge-app.exe) need.
#
# The build environment (build/bundle-venv, or $BARFORGE_BUNDLE_VENV) is made on the first
# run and kept: later builds take about 90 s on two cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/dist/bundle"
archive=0
case "$(uname -s)" in
  Linux) target=linux ;;
  Darwin) target=macos ;;
  MINGW* | MSYS* | CYGWIN*) target=windows ;;
  *) target=unknown ;;
esac
here="$target"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --archive) archive=1; shift ;;
    --target) target="$2"; shift 2 ;;
    *) echo "usage: bash packaging/linux/build.sh [--out DIR] [--archive] [--target linux|macos|windows]" >&2; exit 2 ;;
  esac
done
case "$target" in
  linux | macos | windows) ;;
  *) echo "build.sh: unknown target '$target' (linux, macos or windows)" >&2; exit 2 ;;
esac
if [ "$target" != "$here" ]; then
  echo "build.sh: a $target bundle is built on $target; this is $here (PyInstaller does not" \
    "cross-build)" >&2
  exit 2
fi
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
began=$(date +%s)
venv="${BARFORGE_BUNDLE_VENV:-$root/build/bundle-venv}"
if [ "$target" = windows ]; then bin="$venv/Scripts"; else bin="$venv/bin"; fi
python="${BARFORGE_PYTHON:-python3}"
pip=("$bin/python" -m pip --disable-pip-version-check -q)
quiet() { grep -v "^WARNING: Location" || true; } # this machine's extra package folders
if [ ! -x "$bin/python" ] && [ ! -x "$bin/python.exe" ]; then
  say "making the build environment $venv"
  "$python" -m venv "$venv"
fi
if ! "$bin/python" -c 'import torch' 2>/dev/null; then
  # Linux: the pinned CPU build (a plain "torch" is a CUDA build of several GB there). macOS
  # and Windows: PyPI's torch is CPU-only there (with MPS on Apple silicon).
  if [ "$target" = linux ]; then torch=("torch==2.13.0"); else torch=("torch>=2.10"); fi
  say "installing ${torch[*]}"
  "${pip[@]}" install "${torch[@]}" 2>&1 | quiet
fi
say "installing barforge from $root, and PyInstaller"
"${pip[@]}" install --force-reinstall --no-deps "$root" 2>&1 | quiet
"${pip[@]}" install "$root" "pyinstaller==6.22.3" 2>&1 | quiet
version="$("$bin/python" -c 'import engine; print(engine.__version__)')"

say "bundling barforge $version for $target into $out/barforge"
cd "$root"
BARFORGE_BUNDLE_TARGET="$target" "$bin/pyinstaller" --noconfirm --log-level ERROR \
  --distpath "$out" --workpath "$root/build/bundle-work" packaging/barforge.spec 2>&1 |
  grep -v -e "DeprecationWarning" -e "__import__(name)" || true
bundle="$out/barforge"
if [ "$target" = linux ]; then
  ln -sf barforge "$bundle/barforge-app" # the program starts the app when called so
  # bash barforge/install-launcher.sh puts the bundle's app in the desktop's menu.
  cp "$root/packaging/linux/install-launcher.sh" "$root/packaging/linux/barforge.desktop.in" \
    "$bundle/"
fi
program="$bundle/barforge"
[ "$target" = windows ] && program="$bundle/barforge.exe"
[ -x "$program" ] || { echo "build.sh: PyInstaller made no $program" >&2; exit 1; }
# Lean: no CUDA (the CPU build has none; a CUDA torch in the build environment would bring
# gigabytes) and none of the Qt modules Barforge does not use.
if find "$bundle" \( -name 'libcudart*' -o -name 'libcublas*' -o -name 'libnvrtc*' \) | grep -q .; then
  echo "build.sh: CUDA libraries got into the bundle: install the CPU torch" >&2
  exit 1
fi
"$program" --version
echo "bundle $bundle: $(du -sm "$bundle" | cut -f1) MiB, built in $(($(date +%s) - began)) s"
if [ "$archive" = 1 ]; then
  name="barforge-$version-$target-$(uname -m)"
  tar -C "$out" -czf "$out/$name.tar.gz" --transform "s|^barforge|$name|" barforge
  echo "archive $out/$name.tar.gz: $(du -sm "$out/$name.tar.gz" | cut -f1) MiB"
fi
