#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Add Barforge to the desktop's application menu (freedesktop.org launcher), for this user.
# Run after `bash scripts/setup.sh app`; `--uninstall` removes the launcher again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/barforge.desktop"
icon="$data/icons/hicolor/scalable/apps/barforge.svg"
if [ "${1:-}" = --uninstall ]; then
  rm -f "$entry" "$icon"
  echo "removed $entry"
  exit 0
fi
app="${BARFORGE_VENV:-$root/.venv}/bin/barforge-app"
if [ ! -x "$app" ]; then
  echo "$app is missing: run 'bash scripts/setup.sh app' first" >&2
  exit 1
fi
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$root/engine/resources/icons/barforge.svg" "$icon"
sed -e "s|@APP@|$app|g" -e "s|@ICON@|$icon|g" "$root/packaging/linux/barforge.desktop.in" >"$entry"
chmod 644 "$entry"
echo "installed $entry"
