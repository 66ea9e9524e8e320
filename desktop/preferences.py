# SPDX-License-Identifier: MIT
"""The user's preferences, kept in QSettings, and the dialog that edits them.

:class:`Preferences` gives each setting a type and a default. What it reads is checked: a
value that is missing, of the wrong type or out of range (a settings file edited by hand, or
written by another version) reads as the default; reading never raises. Writing a bad value is
a programming error and raises ``ValueError``.

:class:`PreferencesDialog` never opens a MIDI or audio port itself: the lists it offers come
from callables the main window passes (``engine.midi.ports`` listings, sounddevice's devices),
and a listing that fails is shown as a message, not raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QByteArray, QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.grids import DEFAULT_GRID, GRIDS
from desktop.theme import DEFAULT_THEME, THEMES
from desktop.transport import PREVIEW_OUTPUT
from engine.live.clock import MAX_BPM, MIN_BPM

ORGANIZATION = "Barforge"
APPLICATION = "Barforge"
#: MIDI APIs the user may choose (None: automatic); the keys of ``engine.midi.ports.API_NAMES``
#: (not imported here, so that the preferences do not load rtmidi), with their labels.
MIDI_API_LABELS = {"alsa": "ALSA", "jack": "JACK", "coremidi": "CoreMIDI", "winmm": "Windows MM"}
MIDI_APIS = tuple(MIDI_API_LABELS)
#: How live playback keeps time: its own tempo, or the DAW's MIDI clock.
SYNC_MODES = ("internal", "clock")
#: Tempo of a new installation, in quarter notes per minute.
DEFAULT_BPM = 120.0
GRID_LABELS = tuple(label for label, _ in GRIDS)

#: Texts an INI file may hold for a true bool (anything else reads as False).
_TRUE = ("true", "1", "yes", "on")

Listing = Callable[[], Sequence[str]]


def _no_items() -> list[str]:
    return []


class Preferences:
    """Typed, checked access to the settings.

    Parameters
    ----------
    settings : QSettings or None
        Where the values live; None: the user's settings for organisation and application
        "Barforge". Tests pass a QSettings over a temporary INI file.
    """

    OUTPUT_PORT = "midi/output_port"
    INPUT_PORT = "midi/input_port"
    MIDI_API = "midi/api"
    AUDIO_DEVICE = "audio/device"
    GRID = "editor/grid"
    THEME = "view/theme"
    BPM = "transport/bpm"
    SYNC = "transport/sync"
    SEND_CLOCK = "transport/send_clock"
    WINDOW_GEOMETRY = "window/geometry"
    WINDOW_STATE = "window/state"
    SHOW_WELCOME = "start/show_welcome"

    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = QSettings(ORGANIZATION, APPLICATION) if settings is None else settings

    # --- reading and writing ---------------------------------------------------------------
    def _text(self, key: str) -> str | None:
        value = self.settings.value(key)
        return value if isinstance(value, str) and value.strip() else None

    def _choice(self, key: str, choices: Sequence[str]) -> str | None:
        value = self._text(key)
        return value if value in choices else None

    def _set_text(self, key: str, value: str | None, choices: Sequence[str] | None = None) -> None:
        if value is None:
            self.settings.remove(key)
            return
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} must be a non-blank string or None, got {value!r}")
        if choices is not None and value not in choices:
            raise ValueError(f"{key} must be one of {', '.join(choices)}, got {value!r}")
        self.settings.setValue(key, value)

    def _bytes(self, key: str) -> bytes | None:
        value = self.settings.value(key)
        if isinstance(value, QByteArray):
            value = value.data()
        return bytes(value) if isinstance(value, bytes | bytearray) and value else None

    def _set_bytes(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.settings.remove(key)
            return
        if not isinstance(value, bytes | bytearray):
            raise ValueError(f"{key} must be bytes or None, got {type(value).__name__}")
        self.settings.setValue(key, QByteArray(bytes(value)))

    def flush(self) -> None:
        """Write pending changes to storage now (QSettings also does it by itself later)."""
        self.settings.sync()

    # --- MIDI and audio --------------------------------------------------------------------
    @property
    def output_port(self) -> str | None:
        """Name of the MIDI output to play into; None: Barforge's own virtual port."""
        return self._text(self.OUTPUT_PORT)

    @output_port.setter
    def output_port(self, value: str | None) -> None:
        self._set_text(self.OUTPUT_PORT, value)

    @property
    def input_port(self) -> str | None:
        """Name of the MIDI input to listen to (clock, notes); None: no input."""
        return self._text(self.INPUT_PORT)

    @input_port.setter
    def input_port(self, value: str | None) -> None:
        self._set_text(self.INPUT_PORT, value)

    @property
    def midi_api(self) -> str | None:
        """One of :data:`MIDI_APIS`; None chooses automatically."""
        return self._choice(self.MIDI_API, MIDI_APIS)

    @midi_api.setter
    def midi_api(self, value: str | None) -> None:
        self._set_text(self.MIDI_API, value, MIDI_APIS)

    @property
    def audio_device(self) -> str | None:
        """Name of the audio output for previews; None: the system's default."""
        return self._text(self.AUDIO_DEVICE)

    @audio_device.setter
    def audio_device(self, value: str | None) -> None:
        self._set_text(self.AUDIO_DEVICE, value)

    # --- editor and view -------------------------------------------------------------------
    @property
    def grid(self) -> str:
        """Snap grid label, one of ``desktop.grids.GRIDS`` (default ``DEFAULT_GRID``)."""
        return self._choice(self.GRID, GRID_LABELS) or DEFAULT_GRID

    @grid.setter
    def grid(self, value: str) -> None:
        self._set_text(self.GRID, value, GRID_LABELS)

    @property
    def theme(self) -> str:
        """One of ``desktop.theme.THEMES``: "system" (default), "dark" or "light"."""
        return self._choice(self.THEME, tuple(THEMES)) or DEFAULT_THEME

    @theme.setter
    def theme(self, value: str) -> None:
        self._set_text(self.THEME, value, tuple(THEMES))

    # --- transport -------------------------------------------------------------------------
    @property
    def bpm(self) -> float:
        """Tempo of live playback, quarter notes per minute, in [MIN_BPM, MAX_BPM]
        (``engine.live.clock``); default 120."""
        value = self.settings.value(self.BPM)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return DEFAULT_BPM
        if isinstance(value, bool) or not isinstance(value, int | float):
            return DEFAULT_BPM
        value = float(value)
        return value if math.isfinite(value) and MIN_BPM <= value <= MAX_BPM else DEFAULT_BPM

    @bpm.setter
    def bpm(self, value: float) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not MIN_BPM <= value <= MAX_BPM
        ):
            raise ValueError(f"bpm must be a number in {MIN_BPM:g}..{MAX_BPM:g}, got {value!r}")
        self.settings.setValue(self.BPM, float(value))

    @property
    def sync(self) -> str:
        """How live playback keeps time: "internal" (default, Barforge's own tempo) or "clock"
        (follow the DAW's MIDI clock)."""
        return self._choice(self.SYNC, SYNC_MODES) or SYNC_MODES[0]

    @sync.setter
    def sync(self, value: str) -> None:
        self._set_text(self.SYNC, value, SYNC_MODES)

    def _flag(self, key: str, default: bool) -> bool:
        value = self.settings.value(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return isinstance(value, str) and value.strip().lower() in _TRUE

    def _set_flag(self, key: str, name: str, value: bool) -> None:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        self.settings.setValue(key, value)

    @property
    def send_clock(self) -> bool:
        """Also send MIDI clock to the output while playing (default False)."""
        return self._flag(self.SEND_CLOCK, False)

    @send_clock.setter
    def send_clock(self, value: bool) -> None:
        self._set_flag(self.SEND_CLOCK, "send_clock", value)

    @property
    def show_welcome(self) -> bool:
        """Show the welcome when the app starts (default True, until the composer turns it
        off)."""
        return self._flag(self.SHOW_WELCOME, True)

    @show_welcome.setter
    def show_welcome(self, value: bool) -> None:
        self._set_flag(self.SHOW_WELCOME, "show_welcome", value)

    # --- window ----------------------------------------------------------------------------
    @property
    def window_geometry(self) -> bytes | None:
        """``QMainWindow.saveGeometry()`` from the last session, or None."""
        return self._bytes(self.WINDOW_GEOMETRY)

    @window_geometry.setter
    def window_geometry(self, value: bytes | None) -> None:
        self._set_bytes(self.WINDOW_GEOMETRY, value)

    @property
    def window_state(self) -> bytes | None:
        """``QMainWindow.saveState()`` (toolbars, docks) from the last session, or None."""
        return self._bytes(self.WINDOW_STATE)

    @window_state.setter
    def window_state(self, value: bytes | None) -> None:
        self._set_bytes(self.WINDOW_STATE, value)


class PreferencesDialog(QDialog):
    """Edits the output and input ports, the MIDI API, the audio device, the grid and the theme.

    OK writes every field to ``preferences`` and emits :attr:`preferences_changed`; Cancel
    (or closing the dialog) writes nothing. A saved port or device that the listing no longer
    offers (unplugged) stays selectable, marked "(not found)", so that OK does not lose it.

    Parameters
    ----------
    preferences : Preferences
    outputs, inputs, audio_devices : callable returning a sequence of str
        Port and device names to offer; called when the dialog opens and by "Rescan". An
        exception from one is shown in the dialog.
    """

    #: OK was pressed and the preferences were written.
    preferences_changed = Signal()

    VIRTUAL_PORT = "Barforge's own virtual port"
    NO_INPUT = "None"
    PREVIEW = "Built-in synth (audio preview)"
    AUTOMATIC = "Automatic"
    SYSTEM_DEFAULT = "System default"
    NOT_FOUND = " (not found)"

    def __init__(
        self,
        preferences: Preferences,
        *,
        outputs: Listing = _no_items,
        inputs: Listing = _no_items,
        audio_devices: Listing = _no_items,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.preferences = preferences
        self._listings = {"output": outputs, "input": inputs, "audio": audio_devices}

        self.output_box = QComboBox()
        self.input_box = QComboBox()
        self.api_box = QComboBox()
        self.api_box.addItem(self.AUTOMATIC, None)
        for api, label in MIDI_API_LABELS.items():
            self.api_box.addItem(label, api)
        self.api_box.setToolTip("Which MIDI system to use; Automatic picks what works here")
        self.audio_box = QComboBox()
        self.grid_box = QComboBox()
        for label in GRID_LABELS:
            self.grid_box.addItem(label, label)
        self.theme_box = QComboBox()
        for name, label in THEMES.items():
            self.theme_box.addItem(label, name)
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("List the MIDI ports and audio devices again")
        self.rescan_button.clicked.connect(self.rescan)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)

        form = QFormLayout()
        form.addRow("MIDI &output:", self.output_box)
        form.addRow("MIDI &input:", self.input_box)
        form.addRow("MIDI &API:", self.api_box)
        form.addRow("Audio &device:", self.audio_box)
        form.addRow("", self.rescan_button)
        form.addRow("Snap &grid:", self.grid_box)
        form.addRow("&Theme:", self.theme_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)

        self._select(self.api_box, preferences.midi_api)
        self._select(self.grid_box, preferences.grid)
        self._select(self.theme_box, preferences.theme)
        self._fill_lists(preferences.output_port, preferences.input_port, preferences.audio_device)

    # --- lists -----------------------------------------------------------------------------
    @staticmethod
    def _select(box: QComboBox, value: str | None) -> None:
        index = box.findData(value)
        box.setCurrentIndex(max(index, 0))

    def _list(self, kind: str, problems: list[str]) -> list[str]:
        try:
            names = [str(name) for name in self._listings[kind]()]
        except Exception as e:  # a backend that fails must not stop the dialog opening
            what = "audio devices" if kind == "audio" else f"MIDI {kind} ports"
            problems.append(f"Could not list the {what}: {e}")
            return []
        return list(dict.fromkeys(names))

    def _fill(self, box: QComboBox, default: str, names: list[str], current: str | None) -> None:
        box.clear()
        box.addItem(default, None)
        if box is self.output_box:  # as on the transport bar: the built-in synth
            box.addItem(self.PREVIEW, PREVIEW_OUTPUT)
        for name in names:
            box.addItem(name, name)
        if current is not None and current not in names and box.findData(current) < 0:
            box.addItem(current + self.NOT_FOUND, current)
        self._select(box, current)

    def _fill_lists(self, output: str | None, input_: str | None, audio: str | None) -> None:
        problems: list[str] = []
        self._fill(self.output_box, self.VIRTUAL_PORT, self._list("output", problems), output)
        self._fill(self.input_box, self.NO_INPUT, self._list("input", problems), input_)
        self._fill(self.audio_box, self.SYSTEM_DEFAULT, self._list("audio", problems), audio)
        self.message_label.setText("\n".join(problems))
        self.message_label.setVisible(bool(problems))

    def rescan(self) -> None:
        """Call the listings again, keeping what is chosen."""
        self._fill_lists(
            self.output_box.currentData(),
            self.input_box.currentData(),
            self.audio_box.currentData(),
        )

    # --- result ----------------------------------------------------------------------------
    def accept(self) -> None:
        """Write every field to the preferences, emit :attr:`preferences_changed`, close."""
        prefs = self.preferences
        prefs.output_port = self.output_box.currentData()
        prefs.input_port = self.input_box.currentData()
        prefs.midi_api = self.api_box.currentData()
        prefs.audio_device = self.audio_box.currentData()
        prefs.grid = self.grid_box.currentData()
        prefs.theme = self.theme_box.currentData()
        prefs.flush()
        super().accept()
        self.preferences_changed.emit()
