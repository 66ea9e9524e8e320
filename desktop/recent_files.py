# SPDX-License-Identifier: MIT
"""The File menu's recent files: most recent first, kept in QSettings.

Paths are stored resolved (absolute, links followed), so one file opened by two spellings is
listed once. Files that no longer exist are dropped when the menu is built, not when a path is
added or read, so reading the list never touches the disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QMenu

from desktop.preferences import APPLICATION, ORGANIZATION

#: Most paths the list keeps.
MAX_RECENT = 10
#: Settings key of the list.
RECENT_KEY = "recent/files"


def _resolved(path: str | os.PathLike[str]) -> str:
    return str(Path(path).expanduser().resolve())


def menu_label(number: int, path: str) -> str:
    """``"&1 song.barforge"``: numbered 1-9 with the digit as mnemonic, then ``"1&0"``; an
    ``&`` in the name is doubled so that Qt shows it."""
    name = Path(path).name.replace("&", "&&")
    digits = str(number)
    return f"{digits[:-1]}&{digits[-1]} {name}"


class RecentFiles(QObject):
    """A most-recent-first list of up to :data:`MAX_RECENT` file paths.

    Parameters
    ----------
    settings : QSettings or None
        Where the list lives (key :data:`RECENT_KEY`); None: the user's Barforge settings.
    """

    #: The list changed (a path added, missing ones pruned, or cleared).
    changed = Signal()

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = QSettings(ORGANIZATION, APPLICATION) if settings is None else settings

    def paths(self) -> list[str]:
        """The stored paths, most recent first (whatever is not a path-like text is skipped)."""
        value = self.settings.value(RECENT_KEY)
        if isinstance(value, str):  # an INI file gives a one-item list back as a plain string
            value = [value]
        if not isinstance(value, list | tuple):
            return []
        texts = [v for v in value if isinstance(v, str) and v.strip()]
        return list(dict.fromkeys(texts))[:MAX_RECENT]

    def _store(self, paths: list[str]) -> None:
        if paths:
            self.settings.setValue(RECENT_KEY, paths[:MAX_RECENT])
        else:
            self.settings.remove(RECENT_KEY)
        self.changed.emit()

    def add(self, path: str | os.PathLike[str]) -> None:
        """Put ``path`` first (moving it up when listed already); the oldest beyond
        :data:`MAX_RECENT` drops off."""
        resolved = _resolved(path)
        self._store([resolved] + [p for p in self.paths() if _resolved(p) != resolved])

    def remove(self, path: str | os.PathLike[str]) -> None:
        """Take ``path`` off the list (after it failed to open, say)."""
        resolved = _resolved(path)
        kept = [p for p in self.paths() if _resolved(p) != resolved]
        if kept != self.paths():
            self._store(kept)

    def clear(self) -> None:
        self._store([])

    def prune(self) -> list[str]:
        """Drop paths whose file no longer exists; returns what is left."""
        paths = self.paths()
        kept = [p for p in paths if os.path.isfile(p)]
        if kept != paths:
            self._store(kept)
        return kept

    def fill_menu(self, menu: QMenu, open_slot: Callable[[str], None]) -> None:
        """Rebuild ``menu``: one numbered entry per existing file (its full path as tool tip),
        then "Clear Recent Files"; a disabled "No Recent Files" when there are none.
        Choosing an entry calls ``open_slot(path)``."""
        menu.clear()
        paths = self.prune()
        if not paths:
            menu.addAction("No Recent Files").setEnabled(False)
            return
        for number, path in enumerate(paths, 1):
            action = menu.addAction(menu_label(number, path))
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: open_slot(p))
        menu.setToolTipsVisible(True)
        menu.addSeparator()
        menu.addAction("Clear Recent Files").triggered.connect(self.clear)

    def attach(self, menu: QMenu, open_slot: Callable[[str], None]) -> None:
        """Rebuild ``menu`` each time it is about to show (and now)."""
        menu.aboutToShow.connect(lambda: self.fill_menu(menu, open_slot))
        self.fill_menu(menu, open_slot)
