# SPDX-License-Identifier: MIT
"""Help > Keyboard Shortcuts: every shortcut of a window, and the piano roll's mouse gestures.

The keyboard table is read from the window's actions when the panel opens, so it always shows
the shortcuts that are really bound (in the platform's own notation, e.g. ⌘ on macOS). The
gestures are not actions; they are listed from what :mod:`desktop.roll_tools`,
:mod:`desktop.piano_roll_view` and :mod:`desktop.velocity_lane` implement.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: Group of actions with a shortcut that sit in no menu (the window's nudge keys, say).
OTHER_GROUP = "Other"
#: Group of the mouse gestures.
MOUSE_GROUP = "Piano roll mouse"
COLUMNS = ("Menu", "Command", "Shortcut")


@dataclass(frozen=True, slots=True)
class ShortcutRow:
    """One line of the panel: its group (menu title), what it does, and the keys or gesture."""

    group: str
    command: str
    keys: str


def _native(portable: str) -> str:
    """A key combination such as ``"Ctrl+Shift"`` in the platform's notation."""
    return QKeySequence(portable + "+A").toString(QKeySequence.SequenceFormat.NativeText)[:-1]


def mouse_gestures() -> list[ShortcutRow]:
    """The piano roll's and velocity lane's mouse gestures (what the code implements)."""
    ctrl, alt, shift = _native("Ctrl"), _native("Alt"), _native("Shift")
    gestures = (
        ("Add a note (last length and velocity)", "Click (Draw tool)"),
        ("Add a note (any tool)", "Double-click"),
        ("Move the selected notes", "Drag a note"),
        ("Copy the selected notes", f"{ctrl}drag a note"),
        ("Resize notes", "Drag a note's right edge (Draw tool)"),
        ("Select with a rubber band", "Drag on empty space (Select tool)"),
        ("Add to the selection", f"{shift}click or {shift}drag"),
        ("Erase notes", "Click or drag (Erase tool)"),
        ("Select tool while held", f"{ctrl.rstrip('+')} (hold)"),
        ("No snapping while held", f"{alt.rstrip('+')} (hold)"),
        ("Cancel a drag", QKeySequence("Esc").toString(QKeySequence.SequenceFormat.NativeText)),
        ("Scroll pitch", "Wheel"),
        ("Scroll time", f"{shift}wheel"),
        ("Zoom time", f"{ctrl}wheel"),
        ("Select a bar", "Click the ruler"),
        ("Extend the bar selection", f"{shift}click the ruler"),
        ("Lock or regenerate a bar", "Right-click the ruler"),
        ("Set velocity (of the selection when selected)", "Drag a stem in the velocity lane"),
    )
    return [ShortcutRow(MOUSE_GROUP, command, keys) for command, keys in gestures]


def action_text(action: QAction) -> str:
    """An action's text as read: no ``&`` mnemonics (``&&`` is a real ``&``), no tab part."""
    text = action.text().split("\t", 1)[0]
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _keys(action: QAction) -> str:
    native = QKeySequence.SequenceFormat.NativeText
    return ", ".join(s.toString(native) for s in action.shortcuts() if not s.isEmpty())


def _menu_title(menu: QMenu) -> str:
    return action_text(menu.menuAction())


def collect_shortcuts(window: QWidget) -> list[ShortcutRow]:
    """Rows for every action of ``window`` that has a shortcut, in menu order.

    An action is listed once, under the first menu (``"Edit > Tool"`` for a sub-menu) of the
    menu bar that holds it; actions with shortcuts in no menu come last under
    :data:`OTHER_GROUP`.
    """
    rows: list[ShortcutRow] = []
    seen: set[int] = set()

    def visit(menu: QMenu, title: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                visit(sub, f"{title} > {_menu_title(sub)}")
                continue
            if action.isSeparator() or id(action) in seen:
                continue
            keys = _keys(action)
            if keys:
                seen.add(id(action))
                rows.append(ShortcutRow(title, action_text(action), keys))

    if isinstance(window, QMainWindow):
        for action in window.menuBar().actions():
            menu = action.menu()
            if isinstance(menu, QMenu):
                visit(menu, _menu_title(menu))
    for action in window.findChildren(QAction):
        if id(action) in seen or action.isSeparator() or isinstance(action.menu(), QMenu):
            continue
        keys = _keys(action)
        if keys:
            seen.add(id(action))
            rows.append(ShortcutRow(OTHER_GROUP, action_text(action), keys))
    return rows


class ShortcutsPanel(QDialog):
    """A read-only, filterable table of ``window``'s shortcuts and the mouse gestures.

    Parameters
    ----------
    window : QWidget
        Usually the main window; its actions are read now (open a new panel to see later
        changes). The panel is its child, so it stays above it.
    """

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows: list[ShortcutRow] = collect_shortcuts(window) + mouse_gestures()

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by command, menu or key…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.set_filter)
        self.table = QTableWidget(len(self.rows), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        for index, row in enumerate(self.rows):
            for column, text in enumerate((row.group, row.command, row.keys)):
                self.table.setItem(index, column, QTableWidgetItem(text))
        self.empty_label = QLabel("No shortcut matches the filter.")
        self.empty_label.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table)
        layout.addWidget(self.empty_label)
        layout.addWidget(buttons)
        self.resize(620, 560)

    def set_filter(self, text: str) -> None:
        """Show only rows whose group, command or keys contain every word of ``text``
        (case-insensitive)."""
        words = text.casefold().split()
        shown = 0
        for index, row in enumerate(self.rows):
            haystack = f"{row.group} {row.command} {row.keys}".casefold()
            match = all(word in haystack for word in words)
            self.table.setRowHidden(index, not match)
            shown += match
        self.empty_label.setVisible(shown == 0)

    def visible_rows(self) -> list[ShortcutRow]:
        """The rows the filter lets through, in order."""
        return [row for i, row in enumerate(self.rows) if not self.table.isRowHidden(i)]
