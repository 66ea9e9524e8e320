#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set up Barforge from a fresh clone, then start the app or run every check.
#
#   bash scripts/setup.sh app [FILE.mid]   install, then start the desktop app
#   bash scripts/setup.sh test             install with the dev tools, then ruff, mypy,
#                                          the import contract, the whole test suite, the
#                                          wheel installed into a fresh venv and used, and
#                                          the desktop bundle built and used
#                                          (BARFORGE_SKIP_BUNDLE=1 leaves the bundle out)
#
# It installs the Debian packages Qt needs (with apt-get, as root or through sudo; on other
# systems it leaves that to you), makes a virtual environment in .venv, installs torch (the
# pinned CPU build on the project's machines, see the README for GPUs) and the project.
# Running it again is quick: what is there already is kept.
set -euo pipefail

mode="${1:-}"
case "$mode" in
  app | test) shift ;;
  *)
    echo "usage: bash scripts/setup.sh app [FILE.mid] | test" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${BARFORGE_VENV:-$root/.venv}"
torch_pin="torch==2.13.0"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
# Qt offscreen (tests) and on a screen (the app); PortAudio for the audio preview.
debs=(libglib2.0-0 libgl1 libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libportaudio2)
if [ "$mode" = test ]; then
  # Live MIDI tests: a private JACK server (dummy backend), jack_midi_dump, a MIDI clock
  # source nobody here wrote, and Ardour (headless, ardour7-lua) as the DAW that records.
  debs+=(jackd2 jack-midi-clock ardour)
fi
if [ "$mode" = app ]; then
  debs+=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xkb1
    libxkbcommon-x11-0 libxcb-randr0 libxcb-render-util0 libxcb-image0)
fi
if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  missing=()
  for deb in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$deb")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "installing Debian packages: ${missing[*]}"
    # jackd2 asks whether to enable realtime limits; answer for it (the tests run as root).
    echo "jackd2 jackd/tweak_rt_limits boolean false" | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
else
  say "not a Debian system: install Qt 6's runtime libraries and PortAudio yourself if missing"
fi

# --- virtual environment -----------------------------------------------------------------------
python="${BARFORGE_PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null; then
      python="$candidate"
      break
    fi
  done
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Barforge needs Python 3.11 or newer; $python is $("$python" --version 2>&1)" >&2
  exit 1
}
if [ ! -x "$venv/bin/python" ]; then
  say "creating the virtual environment $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build on these machines.
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  say "installing $torch_pin"
  "${pip[@]}" install -q "$torch_pin"
fi
extras=""
[ "$mode" = test ] && extras="[dev]"
say "installing barforge$extras"
"${pip[@]}" install -q -e ".$extras"

# --- run ----------------------------------------------------------------------------------------
if [ "$mode" = app ]; then
  if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] &&
    [ -z "${QT_QPA_PLATFORM:-}" ]; then
    echo "No screen found (DISPLAY and WAYLAND_DISPLAY are unset). Start Barforge from a" \
      "desktop session, or under a virtual one: xvfb-run -a bash scripts/setup.sh app" >&2
    exit 1
  fi
  say "starting Barforge"
  exec "$venv/bin/barforge-app" "$@"
fi

export QT_QPA_PLATFORM=offscreen
bin="$venv/bin"
say "ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .
say "mypy"
"$bin/mypy"
say "import contract (engine knows no Qt)"
"$bin/lint-imports"
say "pytest"
if [ "$#" -gt 0 ]; then
  exec "$bin/pytest" "$@"
fi
"$bin/pytest" -m "not bundle"
# The wheel, installed into a fresh venv outside the checkout, must work on its own.
say "the wheel, outside the checkout"
bash "$root/scripts/check-wheel.sh" "$venv/bin/python"
if [ "${BARFORGE_SKIP_BUNDLE:-}" != 1 ]; then
  # The desktop bundle, built as a composer would get it, run where there is no Python.
  say "the desktop bundle"
  bash "$root/packaging/linux/build.sh" --out "$root/dist/bundle"
  BARFORGE_BUNDLE="$root/dist/bundle/barforge" "$bin/pytest" -m bundle
fi
