#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the wheel and sdist, install the wheel into a fresh virtual environment outside the
# checkout, and use it there: `barforge --version`, `barforge generate` with the shipped
# model, and the app started offscreen until its window is shown (a screenshot).
#
#   bash scripts/check-wheel.sh [PYTHON]     (setup.sh test runs it after the suite)
#
# Prints the sizes, the install time and where it worked from.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${1:-$root/.venv/bin/python}"
torch_pin="torch==2.13.0"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "building the wheel and the sdist"
"$python" -m build --no-isolation --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; exit 1; }
wheel="$(ls "$work"/dist/barforge-*.whl)"
sdist="$(ls "$work"/dist/barforge-*.tar.gz)"
echo "wheel $(basename "$wheel"): $(du -k "$wheel" | cut -f1) KiB; sdist: $(du -k "$sdist" | cut -f1) KiB"

say "installing it into a fresh virtual environment ($work/venv)"
base="$("$python" -c 'import sys; print(sys.base_prefix)')/bin/python3"
"$base" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check -q)
start=$(date +%s.%N)
"${pip[@]}" install "$torch_pin" 2>&1 | grep -v "^WARNING: Location" || true
"${pip[@]}" install "$wheel" 2>&1 | grep -v "^WARNING: Location" || true
end=$(date +%s.%N)
"$work/venv/bin/python" -c 'import engine, desktop' # the install must have worked
echo "installed in $(printf '%.1f' "$(echo "$end - $start" | bc)") s" \
  "($(du -sm "$work/venv" | cut -f1) MiB with its dependencies)"

say "using it from $work/elsewhere"
mkdir "$work/elsewhere"
cd "$work/elsewhere"
unset BARFORGE_MODEL
bin="$work/venv/bin"
"$bin/barforge" --version | tee "$work/version.txt"
grep -q "$work/venv/lib/" "$work/version.txt" ||
  { echo "the default model is not the installed one" >&2; exit 1; }
"$bin/barforge" generate --seed 3 --out out
"$bin/barforge" info out/seed-3.mid
"$bin/barforge" live --help >/dev/null # the live player's command loads (rtmidi, mido)
QT_QPA_PLATFORM=offscreen "$bin/barforge-app" --screenshot window.png
test -s window.png || { echo "the app wrote no screenshot" >&2; exit 1; }
echo "the installed wheel generated and showed its window"
