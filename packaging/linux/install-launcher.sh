#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Add Barforge to the desktop's application menu (freedesktop.org launcher), for this user.
# Run after `bash scripts/setup.sh app`, or from the desktop bundle's folder (the bundle carries
# a copy); `--uninstall` removes the launcher again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/barforge.desktop"
icon="$data/icons/hicolor/scalable/apps/barforge.svg"
if [ "${1:-}" = --uninstall ]; then
  rm -f "$entry" "$icon"
  echo "removed $entry"
  exit 0
fi
if [ -x "$here/barforge-app" ] && [ -d "$here/_internal" ]; then
  # Inside the desktop bundle (packaging/linux/build.sh puts this script there).
  app="$here/barforge-app"
  svg="$here/_internal/engine/resources/icons/barforge.svg"
  template="$here/barforge.desktop.in"
else
  root="$(cd "$here/../.." && pwd)"
  app="${BARFORGE_VENV:-$root/.venv}/bin/barforge-app"
  svg="$root/engine/resources/icons/barforge.svg"
  template="$root/packaging/linux/barforge.desktop.in"
  if [ ! -x "$app" ]; then
    echo "$app is missing: run 'bash scripts/setup.sh app' first" >&2
    exit 1
  fi
fi
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$svg" "$icon"
sed -e "s|@APP@|$app|g" -e "s|@ICON@|$icon|g" "$template" >"$entry"
chmod 644 "$entry"
echo "installed $entry"
