# SPDX-License-Identifier: MIT
"""The main window: track list on the left, piano roll and velocity lane in the centre,
generation on the toolbar, device, model and latency in the status bar.

The window holds no music logic: edits are ``engine.editing`` functions through the piano
roll's controller (:mod:`desktop.roll_tools`), every change is a step of the engine's undo
history (:class:`desktop.document.EditDocument`), generation runs on the worker thread
(:mod:`desktop.worker`) and files are ``engine.project`` and ``engine.midi.files``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QMimeData, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolBar,
    QWidget,
)

from desktop.browser import BrowserPanel
from desktop.browser_controller import BrowserController
from desktop.document import EditDocument
from desktop.drag_out import DragHandle, clip_mime_data, drag_folder, prune_drag_folder
from desktop.generation_panel import GenerationPanel
from desktop.grids import DEFAULT_GRID, GRIDS
from desktop.piano_roll_view import PianoRollView
from desktop.playback import Playback
from desktop.preferences import Preferences, PreferencesDialog
from desktop.recent_files import RecentFiles
from desktop.roll_tools import RollEditor
from desktop.shortcuts_panel import ShortcutsPanel
from desktop.theme import apply_theme
from desktop.track_list import TrackList
from desktop.transport_bar import let_space_play
from desktop.velocity_lane import VelocityLane
from desktop.welcome import GUIDE_TITLE, GuideWindow, WelcomeDialog
from desktop.worker import GenerationService, LoadedModel
from engine import __version__
from engine import editing as ed
from engine.autosave import Autosaver, RecoverableSession, discard, find_recoverable
from engine.clips import clip_file_name
from engine.gan.errors import CheckpointError
from engine.generation.locking import enforce_locks, merge_regenerated
from engine.generation.settings import Locks
from engine.generation.track_fit import track_fit_problem
from engine.history import Document
from engine.midi.files import MidiFileError, read_midi_file, write_midi_file
from engine.models import ModelInfo, describe_model
from engine.music import Pattern
from engine.project import Idea, Project, ProjectFileError, load_project, save_project

APP_NAME = "Barforge"
PROJECT_SUFFIX = ".barforge"
MIDI_FILTER = "MIDI files (*.mid *.midi *.smf *.kar *.rmi);;All files (*)"
PROJECT_FILTER = f"Barforge projects (*{PROJECT_SUFFIX});;All files (*)"
OPEN_FILTER = (
    f"Projects and MIDI files (*{PROJECT_SUFFIX} *.mid *.midi *.smf *.kar *.rmi);;All files (*)"
)
ABOUT_TEXT = (
    f"<p><b>Barforge {__version__}</b></p>"
    "<p>An AI companion for composers working in a DAW: generate multi-track bars from a "
    "seed, edit them in the piano roll, lock what you like and regenerate the rest.</p>"
    "<p>Browse variations of a seed, audition them live into your DAW (or through the "
    "built-in synth) and drag the bars you keep out as MIDI files.</p>"
)
#: Width of the browser beside the piano roll when the window opens, pixels.
BROWSER_WIDTH = 470
#: Longest warning text shown in the status bar; the tooltip holds them all.
MAX_WARNING_CHARS = 90
#: Seconds between autosaves of a project with changes.
AUTOSAVE_SEC = 5.0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def pattern_summary(pattern: Pattern) -> str:
    """``"120 BPM · 4/4 · 8 bars · 4 tracks · 312 notes"``."""
    return " · ".join(
        (
            f"{pattern.bpm:.6g} BPM",
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


class TakeMemory:
    """The takes behind the provenances of the undo history's states, newest kept: Regenerate
    continues from the take the shown state came from, after an undo too. A state edited by
    hand keeps its provenance object, and so its take; a state no generation made has none."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        # id(provenance) -> (provenance, take); holding the provenance keeps its id unique
        self._known: dict[int, tuple[object, Any]] = {}

    def remember(self, take: Any) -> None:
        provenance = take.provenance
        self._known.pop(id(provenance), None)
        self._known[id(provenance)] = (provenance, take)
        while len(self._known) > self.limit:
            del self._known[next(iter(self._known))]

    def behind(self, provenance: object) -> Any:
        """The take whose provenance is ``provenance`` (the same object), or None."""
        known = self._known.get(id(provenance))
        return known[1] if known is not None and known[0] is provenance else None

    def clear(self) -> None:
        self._known.clear()


@dataclass(slots=True)
class _Pending:
    """A generation request the window waits for."""

    kind: str
    label: str
    bars: tuple[int, ...] | None = None
    tracks: tuple[int, ...] | None = None
    seed: int | None = None


class MainWindow(QMainWindow):
    """Barforge's window.

    Parameters
    ----------
    model : path-like or None
        The model folder (default: the shipped model, or ``$BARFORGE_MODEL``).
    autosave_dir : path-like or None
        Where crash-recovery files go (default: ``engine.autosave.default_directory()``).
    start_worker : bool
        Start loading the model in the worker thread once the window shows (tests that need
        no model pass False).
    """

    #: Ask to save unsaved changes when the window closes (tests and screenshots turn it off).
    confirm_close = True
    #: Create the virtual MIDI port as the window opens, so the DAW can be routed to it first
    #: (tests that need no MIDI system turn it off).
    open_port_at_start = True

    def __init__(
        self,
        parent: QWidget | None = None,
        model: str | os.PathLike[str] | None = None,
        *,
        autosave_dir: str | os.PathLike[str] | None = None,
        start_worker: bool = True,
    ) -> None:
        super().__init__(parent)
        #: What the composer chose last time (ports, grid, theme...), kept with QSettings.
        self.prefs = Preferences()
        self.recent = RecentFiles(parent=self)
        self.preferences_dialog: PreferencesDialog | None = None
        self.shortcuts_panel: ShortcutsPanel | None = None
        self.document = EditDocument(self)
        self.document.changed.connect(self._on_document_changed)
        self.import_warnings: tuple[str, ...] = ()
        #: Why the last attempt to open or save a file failed; None after a success.
        self.last_error: str | None = None
        #: The last generation's message (an error) shown to the user, if any.
        self.last_generation_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.about_box: QMessageBox | None = None
        self.recovery_box: QMessageBox | None = None
        self.welcome_dialog: WelcomeDialog | None = None
        self.guide_window: GuideWindow | None = None
        self.close_box: QMessageBox | None = None
        self.file_dialog: QFileDialog | None = None
        #: The takes the history's states came from (Regenerate continues from the state's).
        self.takes = TakeMemory()
        self._lane_base: Pattern | None = None
        #: The name of the MIDI file a never-saved project was imported from (for the title).
        self.source_name: str | None = None
        #: Where that file was (the save and export dialogs start there).
        self.source_folder: Path | None = None
        self._pending: dict[int, _Pending] = {}
        self._takes = 0  # fills and accompaniments asked for (each gets its own seed)
        self._close_confirmed = False
        self._closed = False
        self.last_latency_sec: float | None = None
        #: perf_counter when the last generation result was applied (bench gui reads it).
        self.last_applied_at: float | None = None

        # --- widgets -------------------------------------------------------------------------
        self.track_list = TrackList()
        self.piano_roll = PianoRollView()
        self.editor = RollEditor(self.document, grid_ticks=120)
        self.editor.on_change = self._on_selection_changed
        self.piano_roll.editor = self.editor
        self.velocity_lane = VelocityLane(self.piano_roll)
        centre = QSplitter(Qt.Orientation.Vertical)
        centre.addWidget(self.piano_roll)
        centre.addWidget(self.velocity_lane)
        centre.setStretchFactor(0, 1)
        centre.setSizes([640, 110])
        centre.setChildrenCollapsible(False)
        #: What the model writes, and the output settings of the next generation.
        self.generation_panel = GenerationPanel()
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.track_list)
        left.addWidget(self.generation_panel)
        left.setStretchFactor(0, 1)
        left.setChildrenCollapsible(False)
        left.setSizes([260, 500])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(centre)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([300, 900])
        self.setCentralWidget(splitter)

        self.summary_label = QLabel()
        self.warnings_label = QLabel()
        self.warnings_label.setStyleSheet("color: #9a5b00;")
        self.model_label = QLabel()
        self.device_label = QLabel("Device: not loaded yet")
        self.latency_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_generation)
        bar = self.statusBar()
        bar.addWidget(self.summary_label)
        bar.addWidget(self.warnings_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.latency_label)
        bar.addPermanentWidget(self.device_label)
        bar.addPermanentWidget(self.model_label)

        # --- model and worker ----------------------------------------------------------------
        self.model_info: ModelInfo | None = None
        self.model_error: str | None = None
        self.model_ready = False
        self._model_dir = model
        self.service = GenerationService(self)
        self.service.model_ready.connect(self._on_model_ready)
        self.service.model_failed.connect(self._on_model_failed)
        self.service.finished.connect(self._on_generated)
        self.service.failed.connect(self._on_generation_failed)
        self.service.cancelled.connect(self._on_generation_cancelled)
        self.service.progressed.connect(self._on_progress)
        self.set_model(model)
        if start_worker and self.model_info is not None:
            QTimer.singleShot(0, self.start_worker)

        # --- files ---------------------------------------------------------------------------
        self.autosaver = Autosaver(autosave_dir)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(int(AUTOSAVE_SEC * 1000))
        self._autosave_timer.timeout.connect(self.autosave)

        # --- browser -------------------------------------------------------------------------
        self.browser_panel = BrowserPanel()
        self.browser_dock = QDockWidget("Browser", self)
        self.browser_dock.setObjectName("browser")
        self.browser_dock.setWidget(self.browser_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.browser_dock)
        self.resizeDocks([self.browser_dock], [BROWSER_WIDTH], Qt.Orientation.Horizontal)
        self.browser = BrowserController(
            self.browser_panel,
            self.service,
            self.document,
            shaper=self.shaper,
            audition=lambda pattern: self.playback.audition(pattern),
            adopt=self.adopt_idea,
            seed=self._browser_seed,
            settings=self.generation_panel.settings,
            parent=self,
        )
        self.playback = Playback(
            self,
            self.document,
            self.piano_roll,
            self.track_list,
            self.browser_panel,
            current_track=lambda: self.editor.track,
            show_message=self._message,
            prefs=self.prefs,
        )
        self.transport = self.playback.transport

        self._build_actions()
        self.transport_bar = self.playback.bar
        let_space_play(self.seed_box)
        let_space_play(self.grid_box)
        self.addToolBarBreak()
        self.addToolBar(self.transport_bar)
        self._build_more_actions()
        self._wire_widgets()
        self.resize(1480, 860)
        self._restore_preferences()
        self._show_state(True)
        if self.open_port_at_start:
            QTimer.singleShot(0, self.playback.open_port_at_start)

    # --- actions -----------------------------------------------------------------------------
    def _action(
        self, text: str, shortcut: str | QKeySequence.StandardKey | None, slot: Any
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        # ``triggered`` passes the action's checked state; a slot with an optional argument
        # (new_from_seed's seed, regenerate's bars) would take it for one. Call it bare.
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.new_action = self._action("&New from Seed", "Ctrl+N", self.new_from_seed)
        self.open_action = self._action("&Open…", key.Open, self.show_open_dialog)
        self.save_action = self._action("&Save", key.Save, self.save)
        self.save_as_action = self._action("Save &As…", "Ctrl+Shift+S", self.show_save_dialog)
        self.import_action = self._action("&Import MIDI…", "Ctrl+I", self.show_import_dialog)
        self.export_action = self._action("&Export MIDI…", "Ctrl+E", self.show_export_dialog)
        self.quit_action = self._action("&Quit", "Ctrl+Q", self.close)
        self.undo_action = self._action("&Undo", key.Undo, self.undo)
        self.redo_action = self._action("&Redo", "Ctrl+Shift+Z", self.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.cut_action = self._action("Cu&t", key.Cut, lambda: self._edit(self.editor.cut))
        self.copy_action = self._action("&Copy", key.Copy, self.editor.copy)
        self.paste_action = self._action("&Paste", key.Paste, self.paste)
        self.delete_action = self._action("&Delete", "Del", lambda: self._edit(self.editor.delete))
        self.delete_action.setShortcuts([QKeySequence("Del"), QKeySequence("Backspace")])
        self.select_all_action = self._action("Select &All", key.SelectAll, self.select_all)
        self.duplicate_action = self._action(
            "D&uplicate", "Ctrl+D", lambda: self._edit(self.editor.duplicate)
        )
        nudges = (
            ("Move Right", "Shift+Right", 1, 0),
            ("Move Left", "Shift+Left", -1, 0),
            ("Semitone Up", "Shift+Up", 0, 1),
            ("Semitone Down", "Shift+Down", 0, -1),
            ("Octave Up", "Ctrl+Up", 0, 12),
            ("Octave Down", "Ctrl+Down", 0, -12),
        )
        self.nudge_actions = [
            self._action(text, shortcut, lambda s=s, p=p: self._nudge(s, p))
            for text, shortcut, s, p in nudges
        ]
        self.lengthen_action = self._action(
            "Lengthen", "Shift+Alt+Right", lambda: self._edit(lambda: self.editor.lengthen(1))
        )
        self.shorten_action = self._action(
            "Shorten", "Shift+Alt+Left", lambda: self._edit(lambda: self.editor.lengthen(-1))
        )
        self.lock_notes_action = self._action("&Lock Selected Notes", "L", self.toggle_note_locks)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for tool, text, shortcut in (
            ("draw", "&Draw", "D"),
            ("select", "&Select", "S"),
            ("erase", "&Erase", "E"),
        ):
            action = self._action(text, shortcut, lambda t=tool: self.set_tool(t))
            action.setCheckable(True)
            self.tool_group.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions["draw"].setChecked(True)
        self.fit_action = self._action(
            "&Fit Whole Pattern", "Ctrl+0", self.piano_roll.fit_to_pattern
        )
        self.regenerate_action = self._action("&Regenerate", "Ctrl+R", self.regenerate)
        self.regenerate_action.setToolTip(
            "Regenerate the bars selected in the ruler, else the bars of the selected notes "
            "on the current track, else the current track (locks are kept)"
        )
        self.inpaint_action = self._action("&Fill Around Locks", "Ctrl+Shift+R", self.inpaint)
        self.inpaint_action.setToolTip(
            "Generate everything that is not locked so that it fits the locked notes, bars "
            "and tracks"
        )
        self.accompany_action = self._action(
            "&Accompany Current Track", "Ctrl+Shift+A", self.accompany
        )
        self.cancel_action = self._action("&Cancel Generation", None, self.cancel_generation)
        self.about_action = self._action("&About Barforge", None, self.show_about)
        self.welcome_action = self._action(
            "&Welcome: Connect to Your DAW…", None, self.show_welcome
        )
        self.guide_action = self._action(f"&{GUIDE_TITLE}", None, self.show_guide)

        menus = self.menuBar()
        self.file_menu = menus.addMenu("&File")
        for action in (self.new_action, self.open_action, self.save_action, self.save_as_action):
            self.file_menu.addAction(action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.import_action)
        self.file_menu.addAction(self.export_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)
        self.edit_menu = menus.addMenu("&Edit")
        for action in (self.undo_action, self.redo_action):
            self.edit_menu.addAction(action)
        self.edit_menu.addSeparator()
        for action in (
            self.cut_action,
            self.copy_action,
            self.paste_action,
            self.delete_action,
            self.duplicate_action,
            self.select_all_action,
        ):
            self.edit_menu.addAction(action)
        self.edit_menu.addSeparator()
        self.edit_menu.addAction(self.lock_notes_action)
        tools = self.edit_menu.addMenu("&Tool")
        for action in self.tool_actions.values():
            tools.addAction(action)
        self.generate_menu = menus.addMenu("&Generate")
        for action in (
            self.new_action,
            self.regenerate_action,
            self.inpaint_action,
            self.accompany_action,
            self.cancel_action,
        ):
            self.generate_menu.addAction(action)
        self.view_menu = menus.addMenu("&View")
        self.view_menu.addAction(self.fit_action)
        self.help_menu = menus.addMenu("&Help")
        self.help_menu.addAction(self.welcome_action)
        self.help_menu.addAction(self.guide_action)
        self.help_menu.addSeparator()
        self.help_menu.addAction(self.about_action)

        toolbar = QToolBar("Tools")
        toolbar.setObjectName("tools")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        for action in self.tool_actions.values():
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Grid "))
        self.grid_box = QComboBox()
        for label, _ in GRIDS:
            self.grid_box.addItem(label)
        self.grid_box.setCurrentText(DEFAULT_GRID)
        self.grid_box.currentTextChanged.connect(lambda _: self._apply_grid())
        toolbar.addWidget(self.grid_box)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Seed "))
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("The seed New from Seed generates (Ctrl+N)")
        toolbar.addWidget(self.seed_box)
        toolbar.addAction(self.new_action)
        toolbar.addSeparator()
        toolbar.addAction(self.regenerate_action)
        toolbar.addAction(self.inpaint_action)
        toolbar.addAction(self.accompany_action)
        self.toolbar = toolbar

    def _build_more_actions(self) -> None:
        """Recent files, preferences, the shortcuts panel and the drag-out grips."""
        self.recent_menu = QMenu("Open &Recent", self)
        self.file_menu.insertMenu(self.save_action, self.recent_menu)
        self.recent.attach(self.recent_menu, self._open_recent)
        self.preferences_action = self._action("&Preferences…", "Ctrl+,", self.show_preferences)
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.edit_menu.addSeparator()
        self.edit_menu.addAction(self.preferences_action)
        self.browser_action = self.browser_dock.toggleViewAction()
        self.browser_action.setText("&Browser")
        self.browser_action.setShortcut(QKeySequence("Ctrl+B"))
        self.view_menu.addAction(self.browser_action)
        self.shortcuts_action = self._action(
            "&Keyboard Shortcuts", QKeySequence.StandardKey.HelpContents, self.show_shortcuts
        )
        self.help_menu.insertAction(self.about_action, self.shortcuts_action)
        self.toolbar.addSeparator()
        self.drag_pattern = DragHandle(lambda: self.clip_for_drag(one_track=False))
        self.drag_pattern.setText("⠿ Pattern")
        self.drag_pattern.setToolTip(
            "Drag the pattern (or the bars chosen in the ruler) into your DAW or a file "
            "manager as a MIDI file"
        )
        self.drag_track = DragHandle(lambda: self.clip_for_drag(one_track=True))
        self.drag_track.setText("⠿ Track")
        self.drag_track.setToolTip(
            "Drag the current track (or its bars chosen in the ruler) into your DAW or a file "
            "manager as a MIDI file"
        )
        for handle in (self.drag_pattern, self.drag_track):
            handle.clip_dropped.connect(
                lambda name: self.statusBar().showMessage(f"Dragged out {name}", 4000)
            )
            handle.drag_failed.connect(
                lambda why: self._message("Drag-out", f"Could not make the MIDI clip: {why}")
            )
            self.toolbar.addWidget(handle)

    def _open_recent(self, path: str) -> None:
        if not self.open_file(path) and not Path(path).exists():
            self.recent.remove(path)

    def _restore_preferences(self) -> None:
        prefs = self.prefs
        self.grid_box.setCurrentText(prefs.grid)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, prefs.theme)
        if prefs.window_geometry is not None:
            self.restoreGeometry(QByteArray(prefs.window_geometry))
        if prefs.window_state is not None:
            self.restoreState(QByteArray(prefs.window_state))
        self.grid_box.currentTextChanged.connect(self._remember_grid)
        # A cache folder that cannot be cleaned is no reason not to start.
        with contextlib.suppress(OSError):
            prune_drag_folder(drag_folder())

    def _remember_grid(self, label: str) -> None:
        self.prefs.grid = label

    def show_preferences(self) -> None:
        # The transport bar's ports are the ones in use: show those, not the ones of last start.
        self.playback.save_preferences(self.prefs)
        dialog = PreferencesDialog(
            self.prefs,
            outputs=self._output_ports,
            inputs=self._input_ports,
            audio_devices=self._audio_devices,
            parent=self,
        )
        dialog.preferences_changed.connect(self._apply_preferences)
        self.preferences_dialog = dialog
        dialog.open()

    def _apply_preferences(self) -> None:
        prefs = self.prefs
        self.grid_box.setCurrentText(prefs.grid)
        self.playback.apply_preferences(prefs)
        self.transport_bar.refresh_ports()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, prefs.theme)

    def _output_ports(self) -> list[str]:
        from engine.midi.ports import list_output_ports

        return list_output_ports(self.prefs.midi_api)

    def _input_ports(self) -> list[str]:
        from engine.midi.ports import list_input_ports

        return list_input_ports(self.prefs.midi_api)

    def _audio_devices(self) -> list[str]:
        from engine.audio.preview import list_output_devices

        return list_output_devices()

    def show_shortcuts(self) -> None:
        """The keyboard shortcuts panel, built from the actions as they are now."""
        if self.shortcuts_panel is not None:
            self.shortcuts_panel.close()
        self.shortcuts_panel = ShortcutsPanel(self)
        self.shortcuts_panel.show()

    def clip_for_drag(self, one_track: bool) -> tuple[QMimeData, str] | None:
        """What a drag-out grip drags: the bars chosen in the ruler (else the whole pattern),
        of every track or of the current track only, written as a MIDI file."""
        pattern = self.pattern
        if pattern is None:
            return None
        chosen = sorted(self.piano_roll.selected_bars)
        bars = (chosen[0], chosen[-1] + 1) if chosen else None
        track = self.editor.track if one_track else None
        doc = self.document
        name = doc.path.stem if doc.path is not None else self.source_name or "Untitled"
        mime = clip_mime_data(pattern, bars, track, drag_folder(), name)
        return mime, clip_file_name(pattern, bars, track, name)

    def _wire_widgets(self) -> None:
        roll = self.piano_roll
        roll.bar_clicked.connect(self._on_bar_clicked)
        roll.bar_menu_requested.connect(self._on_bar_menu)
        tracks = self.track_list
        tracks.current_track_changed.connect(self._on_current_track)
        tracks.rename_requested.connect(self._rename_track)
        tracks.program_requested.connect(self._set_program)
        tracks.channel_requested.connect(self._set_channel)
        tracks.mute_toggled.connect(lambda i, on: self._set_track_flag(i, mute=on))
        tracks.solo_toggled.connect(lambda i, on: self._set_track_flag(i, solo=on))
        tracks.lock_toggled.connect(self.set_track_lock)
        lane = self.velocity_lane
        lane.velocity_drag_started.connect(self._on_lane_drag_started)
        lane.velocity_changed.connect(self._on_lane_velocity)
        lane.velocity_drag_finished.connect(self._on_lane_drag_finished)

    # --- what is shown -----------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern | None:
        """The pattern being edited, or None before anything was opened or generated."""
        return self.document.pattern if self.document.is_open else None

    @property
    def path(self) -> Path | None:
        """The file the document came from or was saved to."""
        return self.document.path

    def _on_document_changed(self, music: bool) -> None:
        self._show_state(music)
        self.playback.project_changed(music)

    def _show_state(self, music: bool) -> None:
        pattern = self.pattern
        doc = self.document
        if music:
            self.track_list.set_pattern(pattern)
            self.piano_roll.set_pattern(pattern, keep_view=True)
            self.velocity_lane.set_pattern(pattern)
            if pattern is not None:
                self.editor.refresh()
            else:
                self.editor.selection = frozenset()
        if pattern is not None:
            states = doc.track_states
            self.track_list.set_states(
                {i for i, s in enumerate(states) if s.mute},
                {i for i, s in enumerate(states) if s.solo},
                set(doc.locks.tracks),
            )
            self.piano_roll.locked_bars = doc.locks.bars
            self.piano_roll.locked_notes = frozenset(doc.locks.notes)
            self.piano_roll.muted_tracks = frozenset(i for i, s in enumerate(states) if s.mute)
            self.piano_roll.soloed_tracks = frozenset(i for i, s in enumerate(states) if s.solo)
        else:
            self.piano_roll.locked_bars = frozenset()
            self.piano_roll.locked_notes = frozenset()
            self.piano_roll.muted_tracks = frozenset()
            self.piano_roll.soloed_tracks = frozenset()
        self.piano_roll.selected_bars = frozenset(
            b for b in self.piano_roll.selected_bars if pattern is not None and b < pattern.n_bars
        )
        self.piano_roll.update()
        has = pattern is not None
        history = doc.history
        self.undo_action.setEnabled(history is not None and history.can_undo)
        self.redo_action.setEnabled(history is not None and history.can_redo)
        self.undo_action.setText(
            f"&Undo {history.undo_label}" if history and history.undo_label else "&Undo"
        )
        self.redo_action.setText(
            f"&Redo {history.redo_label}" if history and history.redo_label else "&Redo"
        )
        for action in (
            self.save_action,
            self.save_as_action,
            self.export_action,
            self.fit_action,
            self.regenerate_action,
            self.inpaint_action,
            self.accompany_action,
        ):
            action.setEnabled(has)
        if not has:
            self.setWindowTitle(APP_NAME)
            self.summary_label.setText("Nothing open: generate from a seed, open or import")
        else:
            name = doc.path.name if doc.path is not None else self.source_name or "Untitled"
            star = " •" if doc.unsaved else ""
            self.setWindowTitle(f"{APP_NAME} — {name}{star}")
            assert pattern is not None
            self.summary_label.setText(pattern_summary(pattern))
        self.warnings_label.setText(warnings_summary(self.import_warnings))
        self.warnings_label.setToolTip("\n".join(self.import_warnings))

    def _on_selection_changed(self) -> None:
        self.velocity_lane.set_selection(self.editor.selection)
        self.piano_roll.update()

    # --- editing -----------------------------------------------------------------------------
    def _edit(self, action: Any) -> None:
        if self.document.is_open and not self.editor.dragging:
            action()

    def _nudge(self, steps: int, semitones: int) -> None:
        self._edit(lambda: self.editor.nudge(steps, semitones))

    def set_tool(self, tool: str) -> None:
        self.editor.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    def _apply_grid(self) -> None:
        fraction = dict(GRIDS).get(self.grid_box.currentText(), 0.25)
        tpq = self.pattern.ticks_per_quarter if self.pattern is not None else 480
        self.editor.grid_ticks = max(1, round(tpq * fraction))

    def paste(self) -> None:
        """Paste after the selection, else at the left edge of the view."""
        if self.pattern is None:
            return
        at = max((n.end for _, n in self.editor.selection), default=None)
        if at is None:
            view = self.piano_roll.viewport
            at = int(view.start_tick) if view is not None else 0
        self._edit(lambda: self.editor.paste(at))

    def select_all(self) -> None:
        self._edit(self.editor.select_all)
        self.piano_roll.update()

    def undo(self) -> None:
        history = self.document.history
        if history is not None and history.can_undo and not self.editor.dragging:
            history.undo()

    def redo(self) -> None:
        history = self.document.history
        if history is not None and history.can_redo and not self.editor.dragging:
            history.redo()

    def _on_current_track(self, index: int) -> None:
        self.editor.set_track(index)
        self.velocity_lane.set_track(index)
        self.piano_roll.update()

    def _replace_track(self, label: str, index: int, **changes: Any) -> None:
        pattern = self.pattern
        if pattern is None or not 0 <= index < len(pattern.tracks):
            return
        track = pattern.tracks[index]
        try:
            new = type(track)(
                changes.get("name", track.name),
                changes.get("program", track.program),
                track.is_drum,
                changes.get("channel", track.channel),
                track.notes,
            )
        except ValueError as error:
            self.statusBar().showMessage(str(error), 5000)
            self._show_state(True)
            return
        self.document.push(label, ed.replace_track(pattern, index, new))

    def _rename_track(self, index: int, name: str) -> None:
        self._replace_track("Rename track", index, name=name)

    def _set_program(self, index: int, program: int) -> None:
        self._replace_track("Change program", index, program=program)

    def _set_channel(self, index: int, channel: int) -> None:
        self._replace_track("Change channel", index, channel=channel)

    def _set_track_flag(self, index: int, **flag: bool) -> None:
        if self.document.is_open and 0 <= index < len(self.document.track_states):
            self.document.set_track_state(index, **flag)

    def set_track_lock(self, index: int, locked: bool) -> None:
        """Lock or unlock a whole track (one undo step)."""
        if not self.document.is_open:
            return
        locks = self.document.locks
        tracks = set(locks.tracks)
        tracks.add(index) if locked else tracks.discard(index)
        label = "Lock track" if locked else "Unlock track"
        self.document.set_locks(label, Locks(locks.notes, locks.bars, tracks))

    def set_bar_lock(self, bar: int, locked: bool) -> None:
        """Lock or unlock a bar for every track (one undo step)."""
        if not self.document.is_open:
            return
        locks = self.document.locks
        bars = set(locks.bars)
        bars.add(bar) if locked else bars.discard(bar)
        label = "Lock bar" if locked else "Unlock bar"
        self.document.set_locks(label, Locks(locks.notes, bars, locks.tracks))

    def toggle_note_locks(self) -> None:
        """Lock the selected notes (or unlock them when all are locked already)."""
        if not self.document.is_open or not self.editor.selection:
            return
        locks = self.document.locks
        current = set(locks.notes)
        chosen = set(self.editor.selection)
        if chosen <= current:
            notes, label = current - chosen, "Unlock notes"
        else:
            notes, label = current | chosen, "Lock notes"
        self.document.set_locks(label, Locks(sorted(notes), locks.bars, locks.tracks))

    def _on_lane_drag_started(self) -> None:
        if self.pattern is not None:
            self._lane_base = self.pattern
            self.document.begin("Change velocity")

    def _on_lane_drag_finished(self) -> None:
        if self._lane_base is not None and self.document.is_open:
            self.document.commit()
        self._lane_base = None

    def _on_lane_velocity(self, refs: object, velocity: int) -> None:
        base = self._lane_base
        if base is None or not self.document.is_open:
            return
        pattern, selection = ed.set_velocity(base, refs, velocity)  # type: ignore[arg-type]
        self.document.update(pattern)
        self.editor.selection = selection
        self.velocity_lane.set_selection(selection)

    def _on_bar_clicked(self, bar: int, extend: bool) -> None:
        bars = set(self.piano_roll.selected_bars) if extend else set()
        if extend and bar in bars:
            bars.discard(bar)
        else:
            bars.add(bar)
        self.piano_roll.selected_bars = frozenset(bars)
        self.piano_roll.update()

    def _on_bar_menu(self, bar: int, x: int, y: int) -> None:
        menu = self.bar_menu(bar)
        menu.popup(QPoint(x, y))

    def bar_menu(self, bar: int) -> QMenu:
        """The ruler's menu for ``bar``: lock or unlock it, regenerate it."""
        menu = QMenu(self)
        locked = bar in self.document.locks.bars if self.document.is_open else False
        lock = menu.addAction(f"Unlock Bar {bar + 1}" if locked else f"Lock Bar {bar + 1}")
        lock.triggered.connect(lambda: self.set_bar_lock(bar, not locked))
        again = menu.addAction(f"Regenerate Bar {bar + 1}")
        again.setEnabled(not locked)
        again.triggered.connect(lambda: self.regenerate(bars=[bar]))
        self._bar_menu = menu
        return menu

    # --- generation --------------------------------------------------------------------------
    def start_worker(self) -> None:
        """Load the model in the worker thread (the window shows meanwhile)."""
        if self.model_info is None or (self.service.running and self.model_ready):
            return
        self.model_label.setText(f"Model: loading {self.model_info.folder.name}…")
        self.service.start(self._model_dir)

    def _on_model_ready(self, loaded: LoadedModel) -> None:
        self.model_ready = True
        self.model_info = loaded.info
        device = loaded.device.upper() if loaded.device != "cpu" else "CPU"
        self.device_label.setText(f"Device: {device}")
        self.model_label.setText(f"Model: {loaded.info.summary} · ready")
        self.model_label.setToolTip(f"{loaded.info.folder}\nloaded in {loaded.load_sec:.1f} s")

    def _on_model_failed(self, message: str) -> None:
        self.model_ready = False
        self.model_error = message
        self.model_label.setText("Model: failed to load")
        self.model_label.setStyleSheet("color: #9a5b00;")
        self.model_label.setToolTip(message)
        self._show_generation_error(f"The model could not be loaded: {message}")

    def _submit(self, pending: _Pending, **params: Any) -> int | None:
        if self.model_info is None:
            self._show_generation_error(f"There is no model to generate with: {self.model_error}")
            return None
        if not self.service.running:
            self.start_worker()
        try:
            request = self.service.submit(pending.kind, slot="edit", **params)
        except (ValueError, RuntimeError) as error:
            self._show_generation_error(str(error))
            return None
        self._pending = {request: pending}  # the slot makes older requests stale
        if pending.kind in ("inpaint", "accompany"):
            self.progress.setRange(0, 0)
            self.progress.setVisible(True)
            self.cancel_button.setVisible(True)
        self.statusBar().showMessage(f"{pending.label}…")
        return request

    def fit_problem(self) -> str | None:
        """Why the loaded model cannot write on the open project (its tracks are not the
        model's: pitched notes would go into a drum track, a voice into another part), or None
        when it can. A project the model made may have renamed tracks."""
        if not self.document.is_open or self.model_info is None:
            return None
        config = self.model_info.config
        return track_fit_problem(
            self.document.pattern,
            config.track_names,
            config.is_drum,
            trust_names=self.document.state.provenance is not None,
        )

    def _refuse_unfit(self, what: str) -> bool:
        """Say why ``what`` cannot run on this project and return True, or return False."""
        problem = self.fit_problem()
        if problem is None:
            return False
        self._show_generation_error(f"{what} is not possible: {problem}.")
        return True

    def _refuse_replacing_locks(self, what: str) -> bool:
        """Say why ``what`` (the model's own tracks replacing the project's) would lose locks
        and return True, or return False when nothing locked would be lost."""
        doc = self.document
        if not doc.is_open or doc.locks.empty:
            return False
        problem = self.fit_problem()
        if problem is None:
            return False
        self._show_generation_error(
            f"{what} would replace the locked notes, bars or tracks: {problem}. "
            "Unlock them (or start a new project) first."
        )
        return True

    def new_from_seed(self, seed: int | None = None) -> int | None:
        """Generate the model's phrase for ``seed`` (default: the seed box) as a new state of
        the document (one undo step; a new untitled project when nothing is open)."""
        value = self.seed_box.value() if seed is None else int(seed)
        if self._refuse_replacing_locks("New from Seed"):
            return None
        pending = _Pending("generate", f"Generate seed {value}", seed=value)
        panel = self.generation_panel
        return self._submit(pending, seed=value, n_bars=panel.n_bars(), settings=panel.settings())

    def _target_cells(self, bars: list[int] | None) -> tuple[list[int] | None, list[int] | None]:
        """What Regenerate means now: explicit bars; else bars chosen in the ruler; else the
        bars of the selected notes on the current track; else the current track."""
        if bars is not None:
            return bars, None
        if self.piano_roll.selected_bars:
            return sorted(self.piano_roll.selected_bars), None
        pattern = self.pattern
        assert pattern is not None
        if self.editor.selection:
            bar = pattern.bar_ticks
            chosen = {n.start // bar for _, n in self.editor.selection}
            return sorted(chosen), [self.editor.track]
        return None, [self.editor.track]

    def regenerate(self, bars: list[int] | None = None) -> int | None:
        """Regenerate bars or a track of the edited pattern; locked notes, bars and tracks and
        everything outside the chosen cells stay as they are (one undo step)."""
        if not self.document.is_open or self._refuse_unfit("Regenerate"):
            return None
        target_bars, target_tracks = self._target_cells(bars)
        locks = self.document.locks
        label = "Regenerate " + (
            f"bar{'s' if len(target_bars) > 1 else ''} {', '.join(str(b + 1) for b in target_bars)}"
            if target_bars is not None
            else f"track {self.editor.track + 1}"
        )
        pending = _Pending(
            "regenerate",
            label,
            tuple(target_bars) if target_bars is not None else None,
            tuple(target_tracks) if target_tracks is not None else None,
        )
        take = self.takes.behind(self.document.state.provenance)
        if take is not None:
            return self._submit(pending, take=take, bars=target_bars, tracks=target_tracks)
        # A pattern that no generation made (an imported file): fill the cells around the rest.
        pattern = self.document.pattern
        keep_bars = set(locks.bars)
        keep_tracks = set(locks.tracks)
        if target_bars is not None:
            keep_bars |= set(range(pattern.n_bars)) - set(target_bars)
        if target_tracks is not None:
            keep_tracks |= set(range(len(pattern.tracks))) - set(target_tracks)
        pending.kind = "inpaint"
        return self._submit(
            pending,
            pattern=pattern,
            locks=Locks(locks.notes, keep_bars, keep_tracks),
            seed=self._next_seed(),
            settings=self.generation_panel.settings(),
        )

    def inpaint(self) -> int | None:
        """Generate everything not locked around what is (one undo step)."""
        if not self.document.is_open or self._refuse_unfit("Fill Around Locks"):
            return None
        pending = _Pending("inpaint", "Fill around locks")
        return self._submit(
            pending,
            pattern=self.document.pattern,
            locks=self.document.locks,
            seed=self._next_seed(),
            settings=self.generation_panel.settings(),
        )

    def accompany(self) -> int | None:
        """Keep the current track and generate the others around it (one undo step)."""
        if not self.document.is_open or self._refuse_unfit("Accompany"):
            return None
        track = self.editor.track
        pending = _Pending("accompany", f"Accompany track {track + 1}")
        return self._submit(
            pending,
            pattern=self.document.pattern,
            track=track,
            locks=self.document.locks,
            seed=self._next_seed(),
            settings=self.generation_panel.settings(),
        )

    def _next_seed(self) -> int:
        """A new seed for each fill or accompaniment: asking again gives another take."""
        self._takes += 1
        return self._takes

    def cancel_generation(self) -> None:
        for request in list(self._pending):
            self.service.cancel(request)

    def _end_progress(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _on_progress(self, request: int, done: int, total: int) -> None:
        if request in self._pending:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_generated(self, request: int, result: Any, latency_sec: float) -> None:
        pending = self._pending.pop(request, None)
        if pending is None:
            return
        self._end_progress()
        take = result[0] if isinstance(result, list) else result
        doc = self.document
        if pending.kind == "regenerate" and doc.is_open:
            pattern = merge_regenerated(
                doc.pattern,
                take.pattern,
                pending.bars,
                pending.tracks,
                doc.locks,
            )
            state = dataclasses.replace(doc.state, pattern=pattern, provenance=take.provenance)
        elif doc.is_open:
            # A new piece, fill or accompaniment: the project's track names, programs,
            # channels and tempo on the new notes, and every lock kept.
            pattern = self.shape_take(take.pattern)
            seed = pending.seed if pending.seed is not None else doc.state.seed
            state = dataclasses.replace(
                doc.state, pattern=pattern, provenance=take.provenance, seed=seed
            )
        else:
            state = Document(
                self._at_transport_tempo(take.pattern),
                provenance=take.provenance,
                seed=pending.seed,
            )
        self.takes.remember(take)
        if pending.kind == "generate" and pending.seed is not None:
            self.seed_box.setValue(pending.seed)
        if doc.is_open:
            doc.push_state(pending.label, state)
        else:
            self.import_warnings = ()
            doc.open(Project.from_document(state), None, dirty=True)
            self._start_autosave()
        self._apply_grid()
        self.last_latency_sec = latency_sec
        self.last_applied_at = time.perf_counter()
        self.latency_label.setText(f"Last generation: {latency_sec * 1000:.0f} ms")
        self.statusBar().showMessage(f"{pending.label}: done", 3000)

    def _on_generation_failed(self, request: int, message: str) -> None:
        pending = self._pending.pop(request, None)
        self._end_progress()
        what = pending.label if pending is not None else "Generation"
        self._show_generation_error(f"{what} failed: {message}")

    def _on_generation_cancelled(self, request: int) -> None:
        pending = self._pending.pop(request, None)
        self._end_progress()
        if pending is not None:
            self.statusBar().showMessage(f"{pending.label}: cancelled", 3000)

    def _show_generation_error(self, message: str) -> None:
        self.last_generation_error = message
        self.statusBar().showMessage(message, 10000)
        self._message("Generation", message)

    # --- browser -----------------------------------------------------------------------------
    def _browser_seed(self) -> int:
        doc = self.document
        if doc.is_open and doc.state.seed is not None:
            return doc.state.seed
        return self.seed_box.value()

    def shape_take(self, pattern: Pattern) -> Pattern:
        """What adopting ``pattern`` makes of it: the project's track names, programs and
        channels on the generated notes, and every locked note, bar and track kept."""
        return self.shaper()(pattern)

    def shaper(self) -> Callable[[Pattern], Pattern]:
        """:meth:`shape_take` for the project as it is now, as a pure function (the browser
        runs it on the worker thread)."""
        doc = self.document
        if not doc.is_open or self.fit_problem() is not None:
            # Nothing open, or tracks the model does not write: its own tracks replace them
            # (New from Seed and adopting refuse that while anything is locked).
            return lambda pattern: pattern
        current, locks = doc.pattern, doc.locks

        def shape(pattern: Pattern) -> Pattern:
            if len(current.tracks) != len(pattern.tracks) or current.bar_ticks != pattern.bar_ticks:
                return pattern  # the model's own tracks replace the project's
            shaped = dataclasses.replace(pattern, tempo_us=current.tempo_us)
            for i, (mine, theirs) in enumerate(zip(current.tracks, pattern.tracks, strict=True)):
                shaped = shaped.with_track(i, mine.with_notes(theirs.notes))
            return shaped if locks.empty else enforce_locks(shaped, current, locks)

        return shape

    def _at_transport_tempo(self, pattern: Pattern) -> Pattern:
        """A new project's pattern at the tempo set on the transport."""
        return dataclasses.replace(pattern, tempo_us=self.playback.tempo_for_new())

    def adopt_idea(self, idea: Idea, take: Any = None) -> None:
        """Make a browser idea the project's state: one undo step (a new untitled project when
        nothing is open). ``take`` (when the idea is fresh from the model) lets Regenerate
        continue from it."""
        doc = self.document
        label = f"Adopt {idea.label}"
        if self._refuse_replacing_locks("Adopting"):
            return
        self.playback.adopting()
        if doc.is_open:
            doc.note_adopted(idea)  # before the step, so the history list shows it at once
            state = dataclasses.replace(
                doc.state,
                pattern=self.shape_take(idea.pattern),
                provenance=idea.provenance,
                seed=idea.seed if idea.seed is not None else doc.state.seed,
            )
            doc.push_state(label, state)
        else:
            state = Document(
                self._at_transport_tempo(idea.pattern), provenance=idea.provenance, seed=idea.seed
            )
            self.import_warnings = ()
            doc.open(Project.from_document(state), None, dirty=True)
            doc.note_adopted(idea)
            self._start_autosave()
            self._apply_grid()
        if take is not None:
            self.takes.remember(take)
        self.statusBar().showMessage(f"{label}: done (Ctrl+Z undoes it)", 4000)

    # --- model -------------------------------------------------------------------------------
    def set_model(self, folder: str | os.PathLike[str] | None) -> bool:
        """Use the model in ``folder`` (None: the default model); show it in the status bar,
        or why it cannot be used. Returns whether it can. The worker loads it later."""
        try:
            self.model_info = describe_model(folder)
        except CheckpointError as error:
            self.model_info = None
            self.model_error = f"{error.path}: {error.reason}"
            self.model_label.setText("Model: none")
            self.model_label.setStyleSheet("color: #9a5b00;")
            self.model_label.setToolTip(f"No model: {self.model_error}")
            self.generation_panel.show_model(None, self.model_error)
            return False
        self._model_dir = folder
        self.model_error = None
        self.model_label.setText(f"Model: {self.model_info.summary}")
        self.model_label.setStyleSheet("")
        self.model_label.setToolTip(str(self.model_info.folder))
        self.generation_panel.show_model(self.model_info)
        return True

    # --- files -------------------------------------------------------------------------------
    def open_file(self, path: str | os.PathLike[str]) -> bool:
        """Open a project (``.barforge``) or import a MIDI file. On failure what is open stays
        and a window-modal message (:attr:`error_box`) names the file and the reason."""
        is_project = str(path).endswith(PROJECT_SUFFIX)
        opened = self.open_project(path) if is_project else self.import_midi(path)
        if opened:
            self.recent.add(path)
        return opened

    def open_project(self, path: str | os.PathLike[str]) -> bool:
        try:
            project = load_project(path)
        except ProjectFileError as error:
            self._file_error("open", error.path, error.reason)
            return False
        self.import_warnings = ()
        self.takes.clear()
        self.source_name = None
        self.source_folder = None
        self.document.open(project, Path(path))
        self.last_error = None
        self._apply_grid()
        self._start_autosave()
        self.piano_roll.fit_to_pattern()
        return True

    def import_midi(self, path: str | os.PathLike[str]) -> bool:
        """Import a MIDI file: a new untitled project, or, when one is open, a new state of it
        (one undo step, so nothing is lost)."""
        try:
            result = read_midi_file(path)
        except MidiFileError as error:
            self._file_error("open", error.path, error.reason)
            return False
        self.import_warnings = result.warnings
        name = Path(path).name
        self.source_name = name
        self.source_folder = Path(path).resolve().parent
        if self.document.is_open:
            state = Document(result.pattern)
            self.document.push_state(f"Import {name}", state)
            # The imported music is a new, untitled project (what was open is one undo away):
            # Save asks for a name instead of overwriting the project that was open.
            self.document.path = None
            self.document.mark_unsaved()
            self.autosaver.project_path = None
        else:
            self.document.open(Project.from_document(Document(result.pattern)), None)
            self._start_autosave()
        self.last_error = None
        self._apply_grid()
        self.piano_roll.fit_to_pattern()
        self._show_state(False)
        return True

    def save(self) -> bool:
        """Save to the project's file (asks for one the first time)."""
        if not self.document.is_open:
            return False
        if self.document.path is None:
            self.show_save_dialog()
            return False
        return self.save_to(self.document.path)

    def save_to(self, path: str | os.PathLike[str]) -> bool:
        """Write the project to ``path`` atomically; the title then shows it saved."""
        if not self.document.is_open:
            return False
        target = Path(path)
        if target.suffix != PROJECT_SUFFIX:
            target = target.with_name(target.name + PROJECT_SUFFIX)
        try:
            save_project(self.document.to_project(), target)
        except (ProjectFileError, OSError) as error:
            reason = error.reason if isinstance(error, ProjectFileError) else str(error)
            self._file_error("save", target, reason)
            return False
        self.document.mark_saved(target)
        self.recent.add(target)
        self.autosaver.project_path = target
        self.last_error = None
        self._show_state(False)
        return True

    def export_midi(self, path: str | os.PathLike[str]) -> bool:
        if self.pattern is None:
            return False
        try:
            write_midi_file(self.pattern, path)
        except (MidiFileError, OSError) as error:
            reason = error.reason if isinstance(error, MidiFileError) else str(error)
            self._file_error("export", path, reason)
            return False
        self.statusBar().showMessage(f"Exported {Path(path).name}", 3000)
        return True

    def _file_error(self, verb: str, path: str | os.PathLike[str], reason: str) -> None:
        self.last_error = f"Could not {verb} {path}: {reason}"
        name = Path(path).name or str(path)
        reason = reason[:1].upper() + reason[1:]
        kept = "\n\nWhat was open stays open." if self.document.is_open else ""
        self._message(f"Could not {verb} “{name}”", f"{reason.rstrip('.')}.\n\n{path}{kept}")

    def _message(self, text: str, details: str) -> None:
        if self.error_box is not None:
            self.error_box.close()
            self.error_box.deleteLater()
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(APP_NAME)
        box.setText(text)
        box.setInformativeText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.error_box = box
        box.open()

    def _project_stem(self) -> str:
        """The name files made from the project start with."""
        doc = self.document
        if doc.path is not None:
            return doc.path.stem
        if self.source_name:
            return Path(self.source_name).stem
        return "Untitled"

    def _dialog(
        self, title: str, filter_: str, mode: str, slot: Any, suggested: str | None = None
    ) -> None:
        folder = self.document.path.parent if self.document.path else self.source_folder
        if folder is None or not folder.is_dir():
            folder = Path.home()
        start = str(folder / suggested) if suggested else str(folder)
        if self.file_dialog is not None:
            self.file_dialog.close()
            self.file_dialog.deleteLater()
        dialog = QFileDialog(self, title, start, filter_)
        if mode == "open":
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        else:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(slot)
        self.file_dialog = dialog
        dialog.open()

    def show_open_dialog(self) -> None:
        """Ask for a project or MIDI file to open, without blocking."""
        self._dialog("Open", OPEN_FILTER, "open", self.open_file)

    def show_import_dialog(self) -> None:
        self._dialog("Import MIDI File", MIDI_FILTER, "open", self.import_midi)

    def show_save_dialog(self) -> None:
        suggested = self._project_stem() + PROJECT_SUFFIX
        self._dialog("Save Project", PROJECT_FILTER, "save", self.save_to, suggested)

    def show_export_dialog(self) -> None:
        suggested = self._project_stem() + ".mid"
        self._dialog("Export MIDI File", MIDI_FILTER, "save", self.export_midi, suggested)

    # --- autosave and recovery ---------------------------------------------------------------
    def _start_autosave(self) -> None:
        if self.autosaver.active:
            self.autosaver.project_path = self.document.path
        else:
            try:
                self.autosaver.start(self.document.path)
            except OSError as error:
                self.statusBar().showMessage(f"Autosave is off: {error}", 10000)
                return
        self._autosave_timer.start()

    def autosave(self) -> bool:
        """Write the recovery file if anything changed since the last one."""
        if not self.document.is_open or not self.autosaver.active:
            return False
        try:
            return self.autosaver.save(self.document.to_project())
        except (ProjectFileError, OSError) as error:
            self.statusBar().showMessage(f"Autosave failed: {error}", 10000)
            return False

    def offer_recovery(self) -> list[RecoverableSession]:
        """After a crash: offer the newest recoverable session (a window-modal question that
        does not block). Returns what was found."""
        sessions = find_recoverable(self.autosaver.directory)
        usable = [s for s in sessions if s.project is not None]
        for broken in (s for s in sessions if s.project is None):
            self.statusBar().showMessage(
                f"A recovery file could not be read: {broken.error}", 10000
            )
        if not usable:
            return sessions
        newest = max(usable, key=lambda s: s.modified)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(APP_NAME)
        name = newest.project_path.name if newest.project_path else "an untitled project"
        box.setText(f"Barforge did not close properly. Recover your work on {name}?")
        when = time.strftime("%H:%M:%S", time.localtime(newest.modified))
        box.setInformativeText(f"The last autosave is from {when}.")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(lambda button: self._recovery_answer(newest, button is recover))
        self.recovery_box = box
        box.open()
        return sessions

    def _recovery_answer(self, session: RecoverableSession, recover: bool) -> None:
        if recover:
            self.recover(session)
        else:
            discard(session)

    def recover(self, session: RecoverableSession) -> bool:
        """Open what a crashed session autosaved (unsaved until you save it)."""
        if session.project is None:
            return False
        self.import_warnings = ()
        self.takes.clear()
        self.document.open(session.project, session.project_path, dirty=True)
        discard(session)
        self._apply_grid()
        self._start_autosave()
        self.piano_roll.fit_to_pattern()
        return True

    # --- dialogs and closing -----------------------------------------------------------------
    def offer_welcome(self) -> bool:
        """At start-up: the welcome, unless the composer turned it off. Whether it shows."""
        if not self.prefs.show_welcome:
            return False
        self.show_welcome()
        return True

    def show_welcome(self) -> None:
        if self.welcome_dialog is None:
            self.welcome_dialog = WelcomeDialog(self.prefs, self)
            self.welcome_dialog.guide_requested.connect(self.show_guide)
        self.welcome_dialog.show()
        self.welcome_dialog.raise_()

    def show_guide(self) -> None:
        if self.guide_window is None:
            self.guide_window = GuideWindow(self)
        self.guide_window.show()
        self.guide_window.raise_()

    def show_about(self) -> None:
        if self.about_box is None:
            box = QMessageBox(self)
            box.setWindowTitle(f"About {APP_NAME}")
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setText(ABOUT_TEXT)
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
            self.about_box = box
        self.about_box.open()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.confirm_close and self.document.unsaved and not self._close_confirmed:
            event.ignore()
            self._ask_before_closing()
            return
        for dialog in (
            self.error_box,
            self.about_box,
            self.file_dialog,
            self.recovery_box,
            self.welcome_dialog,
            self.guide_window,
            self.close_box,
            self.preferences_dialog,
            self.shortcuts_panel,
        ):
            if dialog is not None:
                dialog.close()
        self._closed = True
        prefs = self.prefs
        prefs.window_geometry = bytes(self.saveGeometry().data())
        prefs.window_state = bytes(self.saveState().data())
        self.playback.save_preferences(prefs)
        self.playback.close()
        self._autosave_timer.stop()
        self.browser.close()
        self.service.shutdown()
        self.autosaver.finish()
        super().closeEvent(event)

    def _ask_before_closing(self) -> None:
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(APP_NAME)
        box.setText("Save your changes before closing?")
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.finished.connect(lambda _: self._close_answer(box.clickedButton(), box))
        self.close_box = box
        box.open()

    def _close_answer(self, button: Any, box: QMessageBox) -> None:
        role = box.standardButton(button)
        buttons = QMessageBox.StandardButton
        if role == buttons.Discard or (role == buttons.Save and self.save()):
            self._close_confirmed = True
            self.close()
