# SPDX-License-Identifier: MIT
"""Drag a pattern, some bars or one track out of Barforge into a DAW or a file manager.

DAWs and file managers take a dropped *file*, so a drag first writes the clip
(:func:`engine.clips.extract_clip`) as a real ``.mid`` file into a per-user cache folder
(:func:`drag_folder`) and offers its URL (``text/uri-list``); the same bytes also travel as
``audio/midi`` and ``audio/x-midi`` for the few receivers that read MIME data. The folder is a
cache: :func:`prune_drag_folder` removes old clip files (only those, nothing else) and the main
window calls it at start-up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, QPoint, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDrag, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from engine.atomic import write_bytes_atomically
from engine.clips import CLIP_FILE_PREFIX, CLIP_FILE_SUFFIX, clip_file_name, extract_clip
from engine.midi.files import midi_file_bytes
from engine.music import Pattern

#: Environment variable naming the folder clips are written to (tests set it).
DRAG_DIR_ENV = "BARFORGE_DRAG_DIR"
#: MIME types that carry the clip's bytes besides its file URL.
MIDI_MIME_TYPES = ("audio/midi", "audio/x-midi")
#: Clip files older than this are removed by :func:`prune_drag_folder`, in seconds (7 days).
MAX_CLIP_AGE_SEC = 7 * 24 * 3600.0
DRAG_TOOLTIP = (
    "Drag the pattern (or the selected bars / current track) into your DAW or a file manager"
)

#: What a drag source asks for when a drag starts: the clip's MIME data and a short label for
#: the drag picture and messages (its file name), or None to drag nothing.
ClipProvider = Callable[[], "tuple[QMimeData, str] | None"]


def drag_folder() -> Path:
    """The folder clip files go to, created when missing.

    ``$BARFORGE_DRAG_DIR`` when set, else ``drag`` in the user's cache folder
    (``QStandardPaths.CacheLocation``, e.g. ``~/.cache/Barforge/drag`` on Linux).

    Raises
    ------
    OSError
        When the folder cannot be created.
    """
    override = os.environ.get(DRAG_DIR_ENV)
    if override:
        folder = Path(override)
    else:
        cache = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
        if not cache:  # no home folder at all
            cache = os.path.join(
                QStandardPaths.writableLocation(QStandardPaths.StandardLocation.TempLocation),
                "Barforge",
            )
        folder = Path(cache) / "drag"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clip_mime_data(
    pattern: Pattern,
    bars: tuple[int, int] | None,
    track: int | None,
    folder: Path,
    project_name: str | None,
) -> QMimeData:
    """Write the clip to a ``.mid`` file in ``folder`` and describe it for a drag.

    Parameters
    ----------
    pattern : Pattern
    bars : (int, int) or None
        Bars ``[first, end)`` counted from 0; None: all (see :func:`engine.clips.extract_clip`).
    track : int or None
        One track's index; None: every track.
    folder : Path
        Where the file goes (usually :func:`drag_folder`); it must exist. A file of the same
        name is replaced atomically.
    project_name : str or None
        For the file name (:func:`engine.clips.clip_file_name`).

    Returns
    -------
    QMimeData
        The file's URL (``text/uri-list``) and its bytes under :data:`MIDI_MIME_TYPES`.

    Raises
    ------
    ValueError
        For a range or track that :func:`~engine.clips.extract_clip` refuses, or a clip too long
        for a MIDI file.
    OSError
        When the file cannot be written.
    """
    clip = extract_clip(pattern, bars, track)
    data = midi_file_bytes(clip)
    path = Path(folder) / clip_file_name(pattern, bars, track, project_name)
    write_bytes_atomically(path, data)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path.resolve()))])
    for kind in MIDI_MIME_TYPES:
        mime.setData(kind, QByteArray(data))
    return mime


def prune_drag_folder(
    folder: Path, max_age_sec: float = MAX_CLIP_AGE_SEC, now: float | None = None
) -> list[Path]:
    """Remove clip files older than ``max_age_sec`` seconds from ``folder``.

    Only plain files that Barforge names as clips (``"Barforge - ….mid"``) directly in
    ``folder`` are removed; anything else (other files, links, sub-folders) is left alone.
    Files that cannot be removed are skipped.

    Parameters
    ----------
    now : float or None
        The present as ``time.time()`` seconds (None: the clock's).

    Returns
    -------
    list of Path
        The files removed.
    """
    cutoff = (time.time() if now is None else now) - max_age_sec
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(CLIP_FILE_PREFIX) and name.endswith(CLIP_FILE_SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _drag_pixmap(widget: QWidget, label: str) -> QPixmap:
    """A small picture of ``label`` under the pointer while dragging."""
    metrics = widget.fontMetrics()
    text = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, 360)
    size = metrics.size(0, text)
    ratio = widget.devicePixelRatioF()
    pixmap = QPixmap(int((size.width() + 16) * ratio), int((size.height() + 8) * ratio))
    pixmap.setDevicePixelRatio(ratio)
    palette = widget.palette()
    pixmap.fill(palette.toolTipBase().color())
    painter = QPainter(pixmap)
    try:
        painter.setPen(palette.toolTipText().color())
        painter.setFont(widget.font())
        painter.drawText(8, 4 + metrics.ascent(), text)
    finally:
        painter.end()
    return pixmap


def start_clip_drag(
    source_widget: QWidget, mime: QMimeData, label: str | None = None
) -> Qt.DropAction:
    """Run a copy drag of ``mime`` from ``source_widget`` until it is dropped or cancelled.

    For a drag from any widget (the track list's rows, say) once the pointer has moved
    ``QApplication.startDragDistance()``. The drag owns ``mime`` afterwards. ``label`` (a file
    name) is shown beside the pointer.

    Returns
    -------
    Qt.DropAction
        ``CopyAction`` when something took the clip, ``IgnoreAction`` when the drag was
        cancelled or dropped where nothing accepts it.
    """
    drag = QDrag(source_widget)
    drag.setMimeData(mime)
    if label:
        drag.setPixmap(_drag_pixmap(source_widget, label))
        drag.setHotSpot(QPoint(-12, -12))
    return drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)


class DragHandle(QLabel):
    """A small grip that drags a MIDI clip out of the app.

    Pressing it and moving the pointer past ``QApplication.startDragDistance()`` calls
    ``clip_provider``; when that returns MIME data (see :func:`clip_mime_data`) and a label, a
    copy drag runs; when it returns None (nothing to drag), nothing happens.

    Parameters
    ----------
    clip_provider : callable
        ``() -> (QMimeData, label) | None``, asked once per drag, only when a drag starts.
    """

    #: A drag ended with the clip taken: its label (the file name).
    clip_dropped = Signal(str)
    #: The provider could not make the clip: the reason, for the status bar.
    drag_failed = Signal(str)

    TEXT = "⠿ MIDI"

    def __init__(self, clip_provider: ClipProvider, parent: QWidget | None = None) -> None:
        super().__init__(self.TEXT, parent)
        self.clip_provider = clip_provider
        self.setToolTip(DRAG_TOOLTIP)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setMargin(3)
        self._press_pos: QPoint | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_pos = event.position().toPoint()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        start = self._press_pos
        if start is None:
            super().mouseMoveEvent(event)
            return
        moved = (event.position().toPoint() - start).manhattanLength()
        if moved < QApplication.startDragDistance():
            return
        self._press_pos = None  # one drag per press
        try:
            offered = self.clip_provider()
        except (OSError, ValueError) as e:
            self.drag_failed.emit(str(e))
            return
        if offered is None:
            return
        mime, label = offered
        if start_clip_drag(self, mime, label) == Qt.DropAction.CopyAction:
            self.clip_dropped.emit(label)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press_pos = None
        super().mouseReleaseEvent(event)
