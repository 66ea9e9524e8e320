# SPDX-License-Identifier: MIT
"""The transport toolbar: buttons and boxes bound to a :class:`~desktop.transport.Transport`.

The bar holds no logic of its own: each control sets a property of the transport or calls one
of its methods, and the bar shows what the transport reports (its state and playhead). The
window supplies what the bar cannot know: the pattern to play and the track to record into.

Shortcuts (chosen among keys the main window leaves free):

============================  ==========================================================
Space                         Play / Stop (the usual DAW key)
R                             Record (as in Logic and FL Studio; arms the next bar line)
Ctrl+L                        Loop on/off (L alone locks notes)
Ctrl+Shift+P                  Panic: release every note
============================  ==========================================================

Stop has no key of its own: Space stops too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QSpinBox,
    QToolBar,
    QWidget,
)

from desktop.transport import MAX_BPM, MIN_BPM, PREVIEW_OUTPUT, Transport
from engine.music import Pattern

VIRTUAL_OUTPUT_LABEL: Final = "Barforge (virtual port)"
PREVIEW_OUTPUT_LABEL: Final = "Built-in synth (audio preview)"
NO_INPUT_LABEL: Final = "None"
SYNC_LABELS: Final = (("Internal", "internal"), ("DAW clock", "clock"))
#: Longest loop and recording the boxes offer, bars.
MAX_BARS: Final = 256
#: Longest playback problem shown beside the transport; its tooltip holds all of it.
MAX_PROBLEM_CHARS: Final = 48


class _SpaceStaysShortcut(QObject):
    """Lets a bare Space reach its shortcut (Play/Stop) from a number box or a list, where a
    space is never valid input: a spin box would otherwise take it and go blank."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Space
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            event.ignore()  # not overridden: the window's shortcut runs
            return True
        return False


_SPACE_FILTER = _SpaceStaysShortcut()


def let_space_play(widget: QWidget) -> None:
    """Make Space in ``widget`` (a spin box or a combo box) press Play/Stop instead of typing."""
    widget.installEventFilter(_SPACE_FILTER)
    if isinstance(widget, QAbstractSpinBox):
        line = widget.findChild(QWidget, "qt_spinbox_lineedit")
        if line is not None:
            line.installEventFilter(_SPACE_FILTER)


def format_position(beat: float, beats_per_bar: float) -> str:
    """``beat`` (quarter notes from the pattern's start) as "bar.beat", both counted from 1:
    beat 5.5 in 4/4 is "2.2"."""
    beat = max(0.0, beat)
    per_bar = beats_per_bar if beats_per_bar > 0 else 4.0
    bar = int(beat // per_bar)
    in_bar = int(beat - bar * per_bar)
    return f"{bar + 1}.{in_bar + 1}"


class _PortBox(QComboBox):
    """A combo box that refreshes its list just before it opens."""

    def __init__(self, refresh: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._refresh = refresh

    def showPopup(self) -> None:
        self._refresh()
        super().showPopup()


class TransportBar(QToolBar):
    """Play, stop, record, loop, tempo, sync and ports of a :class:`Transport`.

    Parameters
    ----------
    transport : Transport
    pattern_provider : callable
        Returns the pattern to play (the document's), or None when there is none.
    current_track_provider : callable
        Returns the index of the track to record into (the one selected).
    parent : QWidget or None

    Signals
    -------
    bpm_edited(float)
        The composer set a tempo in the BPM box (not emitted by :meth:`show_bpm`).
    """

    bpm_edited = Signal(float)

    def __init__(
        self,
        transport: Transport,
        pattern_provider: Callable[[], Pattern | None],
        current_track_provider: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        self.transport = transport
        self._pattern_provider = pattern_provider
        self._current_track_provider = current_track_provider

        self.play_action = self._action(
            "Play", "Space", "Play the pattern in a loop into the MIDI port; again to stop (Space)"
        )
        self.play_action.setCheckable(True)
        self.play_action.triggered.connect(self._play_triggered)
        self.stop_action = self._action(
            "Stop", None, "Stop, release every note and go back to the start of the loop"
        )
        self.stop_action.triggered.connect(transport.stop)
        self.record_action = self._action(
            "Record",
            "R",
            "Record the input's notes into the selected track from the next bar line, for the "
            "bars set beside (starts playing if stopped) (R)",
        )
        self.record_action.triggered.connect(self._record)
        self.record_bars_box = QSpinBox()
        self.record_bars_box.setRange(1, MAX_BARS)
        self.record_bars_box.setValue(4)
        self.record_bars_box.setSuffix(" bars")
        self.record_bars_box.setToolTip("How many bars Record takes")
        self.addWidget(self.record_bars_box)
        self.panic_action = self._action(
            "Panic", "Ctrl+Shift+P", "Release every sounding note now (Ctrl+Shift+P)"
        )
        self.panic_action.triggered.connect(transport.panic)
        self.addSeparator()

        self.bpm_box = QDoubleSpinBox()
        self.bpm_box.setRange(MIN_BPM, MAX_BPM)
        self.bpm_box.setDecimals(1)
        self.bpm_box.setSuffix(" BPM")
        self.bpm_box.setKeyboardTracking(False)  # apply on Enter, not at every digit
        self.bpm_box.setValue(transport.bpm)
        self.bpm_box.setToolTip("Tempo of Barforge's own clock (Sync: Internal)")
        self.bpm_box.valueChanged.connect(self._bpm_changed)
        self.addWidget(self.bpm_box)

        self.loop_action = self._action(
            "Loop", "Ctrl+L", "Loop only the bars set beside; off loops the whole pattern (Ctrl+L)"
        )
        self.loop_action.setCheckable(True)
        self.loop_action.setChecked(transport.loop is not None)
        self.loop_action.triggered.connect(self._loop_changed)
        # Off, the boxes offer the usual first loop: four bars from the start.
        first, end = transport.loop if transport.loop is not None else (0, 4)
        self.loop_start_box = self._bar_box("First bar of the loop", first + 1)
        self.loop_end_box = self._bar_box("Last bar of the loop (included)", end)
        self.addSeparator()

        self.sync_box = QComboBox()
        for label, mode in SYNC_LABELS:
            self.sync_box.addItem(label, mode)
        self.sync_box.setCurrentIndex(self.sync_box.findData(transport.sync))
        self.sync_box.setToolTip(
            "Internal: Barforge keeps its own tempo. DAW clock: follow the MIDI clock, Start "
            "and Stop the DAW sends to the input port"
        )
        self.sync_box.currentIndexChanged.connect(self._sync_changed)
        self.addWidget(self.sync_box)
        self.clock_action = self._action(
            "Send clock", None, "Send MIDI clock, Start and Stop with the notes (Sync: Internal)"
        )
        self.clock_action.setCheckable(True)
        self.clock_action.setChecked(transport.send_clock)
        self.clock_action.triggered.connect(self._send_clock_changed)

        self.addWidget(QLabel(" Out "))
        self.output_box = _PortBox(self.refresh_ports)
        self.output_box.setToolTip(
            "Where the notes go: Barforge's own virtual port (connect your DAW's MIDI input "
            "to it) or another program's port"
        )
        self.output_box.activated.connect(self._output_chosen)
        self.addWidget(self.output_box)
        self.addWidget(QLabel(" In "))
        self.input_box = _PortBox(self.refresh_ports)
        self.input_box.setToolTip(
            "Where the DAW's clock and your keyboard's notes come from (for DAW clock sync and "
            "Record)"
        )
        self.input_box.activated.connect(self._input_chosen)
        self.addWidget(self.input_box)
        self.refresh_action = self._action(
            "Refresh", None, "List the MIDI ports again (after starting a DAW or a synth)"
        )
        self.refresh_action.triggered.connect(self.refresh_ports)
        self.addSeparator()

        self.position_label = QLabel()
        self.position_label.setToolTip("Playhead: bar.beat in the pattern")
        self.position_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("000.00"))
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.position_label)
        self.problem_label = QLabel()
        self.problem_label.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.problem_label.setVisible(False)
        self.addWidget(self.problem_label)
        for box in (
            self.record_bars_box,
            self.bpm_box,
            self.loop_start_box,
            self.loop_end_box,
            self.sync_box,
            self.output_box,
            self.input_box,
        ):
            let_space_play(box)

        transport.state_changed.connect(self._show_state)
        transport.position_changed.connect(self._show_position)
        self._fill_port_boxes([], [])
        self._show_state(transport.state)
        self._show_position(transport.position())

    # --- building ----------------------------------------------------------------------------
    def _action(self, text: str, shortcut: str | None, tip: str) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _bar_box(self, tip: str, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(1, MAX_BARS)
        box.setValue(value)
        box.setToolTip(tip)
        box.valueChanged.connect(self._loop_changed)
        self.addWidget(box)
        return box

    # --- ports -------------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        """List the ports again (keeping the choices); a MIDI system that cannot be asked shows
        only the defaults, with the reason as the boxes' tooltip."""
        outputs = self.transport.available_outputs()
        inputs = self.transport.available_inputs()
        self._fill_port_boxes(outputs, inputs)
        problem = self.transport.port_error
        for box in (self.output_box, self.input_box):
            box.setStatusTip(problem)

    def _fill_port_boxes(self, outputs: list[str], inputs: list[str]) -> None:
        fill = (
            (self.output_box, VIRTUAL_OUTPUT_LABEL, outputs, self.transport.output_port),
            (self.input_box, NO_INPUT_LABEL, inputs, self.transport.input_port),
        )
        for box, default, names, chosen in fill:
            box.blockSignals(True)
            box.clear()
            box.addItem(default, None)
            if box is self.output_box:
                box.addItem(PREVIEW_OUTPUT_LABEL, PREVIEW_OUTPUT)
            for name in names:
                box.addItem(name, name)
            if chosen is not None and chosen not in names and box.findData(chosen) < 0:
                box.addItem(chosen, chosen)  # chosen earlier, not listed now
            box.setCurrentIndex(max(0, box.findData(chosen)) if chosen is not None else 0)
            box.blockSignals(False)

    def _output_chosen(self, index: int) -> None:
        self.transport.output_port = self.output_box.itemData(index)

    def _input_chosen(self, index: int) -> None:
        self.transport.input_port = self.input_box.itemData(index)

    # --- controls ----------------------------------------------------------------------------
    def _play_triggered(self, checked: bool) -> None:
        if checked:
            self.transport.play(self._pattern_provider())
        else:
            self.transport.stop()
        self._show_state(self.transport.state)  # a failed start leaves it stopped

    def _record(self) -> None:
        self.transport.record(self.record_bars_box.value(), self._current_track_provider())
        self._show_state(self.transport.state)

    def _bpm_changed(self, value: float) -> None:
        self.transport.bpm = value
        self.bpm_edited.emit(value)

    def show_bpm(self, bpm: float) -> None:
        """Set the transport's tempo and the BPM box to ``bpm`` (clamped to the box's range),
        without :attr:`bpm_edited`: the project's tempo arrived."""
        value = min(max(bpm, self.bpm_box.minimum()), self.bpm_box.maximum())
        self.bpm_box.blockSignals(True)
        self.bpm_box.setValue(value)
        self.bpm_box.blockSignals(False)
        self.transport.bpm = self.bpm_box.value()

    def _loop_changed(self) -> None:
        first = self.loop_start_box.value()
        if self.loop_end_box.value() < first:
            self.loop_end_box.blockSignals(True)
            self.loop_end_box.setValue(first)
            self.loop_end_box.blockSignals(False)
        on = self.loop_action.isChecked()
        self.transport.loop = (first - 1, self.loop_end_box.value()) if on else None

    def _sync_changed(self, index: int) -> None:
        self.transport.sync = str(self.sync_box.itemData(index))

    def _send_clock_changed(self, checked: bool) -> None:
        self.transport.send_clock = checked

    # --- showing the transport ---------------------------------------------------------------
    def show_problem(self, message: str) -> None:
        """Keep the last playback problem in sight beside the transport (hovering a button
        replaces the status bar's message) until something plays."""
        short = message if len(message) <= MAX_PROBLEM_CHARS else message[: MAX_PROBLEM_CHARS - 1]
        self.problem_label.setText(f"⚠ {short.rstrip()}{'…' if short != message else ''}")
        self.problem_label.setToolTip(message)
        self.problem_label.setVisible(True)

    def _show_state(self, state: str) -> None:
        playing = state in ("playing", "waiting")
        self.play_action.setChecked(playing)
        if playing:
            self.problem_label.setVisible(False)
        tips = {
            "waiting": "Waiting for the DAW's Start: press Play in the DAW",
            "paused": "Paused: Play resumes",
        }
        self.position_label.setStatusTip(tips.get(state, ""))

    def _show_position(self, beat: float) -> None:
        self.position_label.setText(format_position(beat, self.transport.beats_per_bar))
