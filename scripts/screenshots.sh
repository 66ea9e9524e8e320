#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The pictures in docs/ and the README: the real app in a virtual X display (Xvfb), playing
# into a private JACK server (dummy backend, no sound card needed), with fresh settings.
# Needs: bash scripts/setup.sh test (jackd2), and xvfb xauth plus the xcb libraries
# (see ../shared notes or the README). Run from the repository root.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
app="$here/.venv/bin/barforge-app"
scratch=$(mktemp -d)
server="barforge-docs-$$"
jackd -n "$server" -d dummy -r 48000 -p 256 >"$scratch/jackd.log" 2>&1 &
jack_pid=$!
cleanup() {
  kill "$jack_pid" 2>/dev/null || true
  wait "$jack_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
JACK_DEFAULT_SERVER=$server jack_wait -w -t 10 >/dev/null
export JACK_DEFAULT_SERVER=$server BARFORGE_MIDI_API=jack
export XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache"
export BARFORGE_AUTOSAVE_DIR="$scratch/autosave"
shoot() {
  xvfb-run -a -s "-screen 0 1600x900x24" "$app" --seed 7 "$@"
}
shoot --screenshot "$here/docs/screenshot-main-window.png"
shoot --browse 8 --screenshot "$here/docs/screenshot-browser.png"
shoot --browse 8 --play 2.6 --screenshot "$here/docs/screenshot-playback.png"
echo "wrote docs/screenshot-main-window.png, docs/screenshot-browser.png, docs/screenshot-playback.png"
