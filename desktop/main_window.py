# SPDX-License-Identifier: MIT
"""The main window: track list on the left, piano roll in the centre, facts in the status bar."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QWidget

from desktop.piano_roll_view import PianoRollView
from desktop.track_list import TrackList
from engine import __version__
from engine.gan.errors import CheckpointError
from engine.midi.files import MidiFileError, MidiImport, read_midi_file
from engine.models import ModelInfo, describe_model
from engine.music import Pattern

APP_NAME = "Barforge"
MIDI_FILTER = "MIDI files (*.mid *.midi *.smf *.kar *.rmi);;All files (*)"
ABOUT_TEXT = (
    f"<p><b>Barforge {__version__}</b></p>"
    "<p>An AI companion for composers working in a DAW.</p>"
    "<p>This first version opens and shows MIDI files. The piano-roll editor, the "
    "generating model and live MIDI to your DAW are being built and are not in it yet.</p>"
)
#: Longest warning text shown in the status bar; the tooltip holds them all.
MAX_WARNING_CHARS = 90


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def pattern_summary(pattern: Pattern) -> str:
    """``"120 BPM · 4/4 · 8 bars · 4 tracks · 312 notes"``."""
    return " · ".join(
        (
            f"{round(pattern.bpm, 2):g} BPM",
            str(pattern.time_signature),
            _plural(pattern.n_bars, "bar"),
            _plural(len(pattern.tracks), "track"),
            _plural(pattern.n_notes, "note"),
        )
    )


def warnings_summary(warnings: tuple[str, ...]) -> str:
    """One line for the status bar: how many import warnings, and the first of them."""
    if not warnings:
        return ""
    first = warnings[0]
    if len(first) > MAX_WARNING_CHARS:
        first = first[: MAX_WARNING_CHARS - 1] + "…"
    more = f" (+{len(warnings) - 1} more, hover to read)" if len(warnings) > 1 else ""
    return f"{_plural(len(warnings), 'import warning')}: {first}{more}"


class MainWindow(QMainWindow):
    """Barforge's window. :meth:`open_file` shows a MIDI file; a file that cannot be read
    leaves the window as it was and tells the user why, without blocking."""

    def __init__(
        self, parent: QWidget | None = None, model: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(parent)
        self._import: MidiImport | None = None
        self._path: Path | None = None
        #: Why the last attempt to open a file failed (file and reason); None after a success.
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.about_box: QMessageBox | None = None
        self.file_dialog: QFileDialog | None = None

        self.track_list = TrackList()
        self.piano_roll = PianoRollView()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.track_list)
        splitter.addWidget(self.piano_roll)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([380, 900])
        self.setCentralWidget(splitter)

        self.summary_label = QLabel()
        self.warnings_label = QLabel()
        self.warnings_label.setStyleSheet("color: #9a5b00;")
        self.model_label = QLabel()
        self.statusBar().addWidget(self.summary_label)
        self.statusBar().addWidget(self.warnings_label, 1)
        self.statusBar().addPermanentWidget(self.model_label)
        #: The model generation will use (the default one unless named), or None with
        #: :attr:`model_error` saying why it cannot be used. Read without loading torch.
        self.model_info: ModelInfo | None = None
        self.model_error: str | None = None
        self.set_model(model)

        self.open_action = QAction("&Open MIDI…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.show_open_dialog)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.triggered.connect(self.close)
        self.fit_action = QAction("&Fit Whole Pattern", self)
        self.fit_action.setShortcut(QKeySequence("Ctrl+0"))
        self.fit_action.triggered.connect(self.piano_roll.fit_to_pattern)
        self.about_action = QAction("&About Barforge", self)
        self.about_action.triggered.connect(self.show_about)
        menus = self.menuBar()
        self.file_menu = menus.addMenu("&File")
        self.file_menu.addAction(self.open_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)
        self.view_menu = menus.addMenu("&View")
        self.view_menu.addAction(self.fit_action)
        self.help_menu = menus.addMenu("&Help")
        self.help_menu.addAction(self.about_action)

        self.resize(1280, 800)
        self._show_state()

    # --- what is shown --------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern | None:
        """The pattern shown, or None before any file was opened."""
        return None if self._import is None else self._import.pattern

    @property
    def path(self) -> Path | None:
        """The file shown, as it was given to :meth:`open_file`."""
        return self._path

    @property
    def import_warnings(self) -> tuple[str, ...]:
        """What reading the shown file could not keep as it was (MidiImport.warnings)."""
        return () if self._import is None else self._import.warnings

    def open_file(self, path: str | os.PathLike[str]) -> bool:
        """Show the MIDI file at ``path``; on failure keep what is shown and report why.

        Returns whether the file was opened. A failure sets :attr:`last_error` and opens a
        window-modal message box (:attr:`error_box`) that does not block the caller.
        """
        try:
            result = read_midi_file(path)
        except MidiFileError as error:
            self._show_error(error)
            return False
        self._import = result
        self._path = Path(path)
        self.last_error = None
        self._show_state()
        return True

    def _show_state(self) -> None:
        pattern = self.pattern
        self.track_list.set_pattern(pattern)
        self.piano_roll.set_pattern(pattern)
        self.fit_action.setEnabled(pattern is not None)
        if pattern is None or self._path is None:
            self.setWindowTitle(APP_NAME)
            self.summary_label.setText("No file open")
        else:
            self.setWindowTitle(f"{APP_NAME} — {self._path.name}")
            self.summary_label.setText(pattern_summary(pattern))
        self.warnings_label.setText(warnings_summary(self.import_warnings))
        self.warnings_label.setToolTip("\n".join(self.import_warnings))

    def set_model(self, folder: str | os.PathLike[str] | None) -> bool:
        """Use the model in ``folder`` (None: the default model); show it in the status bar,
        or why it cannot be used. Returns whether it can."""
        try:
            self.model_info = describe_model(folder)
        except CheckpointError as error:
            self.model_info = None
            self.model_error = f"{error.path}: {error.reason}"
            self.model_label.setText("Model: none")
            self.model_label.setStyleSheet("color: #9a5b00;")
            self.model_label.setToolTip(f"No model: {self.model_error}")
            return False
        self.model_error = None
        self.model_label.setText(f"Model: {self.model_info.summary}")
        self.model_label.setStyleSheet("")
        self.model_label.setToolTip(str(self.model_info.folder))
        return True

    # --- dialogs --------------------------------------------------------------------------
    def _show_error(self, error: MidiFileError) -> None:
        self.last_error = f"Could not open {error.path}: {error.reason}"
        name = Path(error.path).name or error.path
        reason = error.reason[:1].upper() + error.reason[1:]
        kept = "\n\nThe file shown before stays open." if self.pattern is not None else ""
        if self.error_box is not None:
            self.error_box.close()
            self.error_box.deleteLater()
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(APP_NAME)
        box.setText(f"Could not open “{name}”")
        box.setInformativeText(f"{reason.rstrip('.')}.\n\n{error.path}{kept}")
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.error_box = box
        box.open()

    def show_open_dialog(self) -> None:
        """Ask for a MIDI file to open, without blocking (the answer calls open_file)."""
        if self.file_dialog is None:
            start = str(self._path.parent) if self._path is not None else str(Path.home())
            dialog = QFileDialog(self, "Open MIDI File", start, MIDI_FILTER)
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
            dialog.fileSelected.connect(self.open_file)
            self.file_dialog = dialog
        elif self._path is not None:
            self.file_dialog.setDirectory(str(self._path.parent))
        self.file_dialog.open()

    def show_about(self) -> None:
        """What Barforge is, and what this version does not do yet."""
        if self.about_box is None:
            box = QMessageBox(self)
            box.setWindowTitle(f"About {APP_NAME}")
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(ABOUT_TEXT)
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
            self.about_box = box
        self.about_box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        for dialog in (self.error_box, self.about_box, self.file_dialog):
            if dialog is not None:
                dialog.close()
        super().closeEvent(event)
