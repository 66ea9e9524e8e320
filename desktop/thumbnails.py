# SPDX-License-Identifier: MIT
"""Small pictures of patterns for the browser, rendered off the UI thread.

:func:`thumbnail_pixels` rasterises a pattern with numpy alone (no Qt call), in the piano
roll's colours: a dark background, beat and bar lines, each track's notes in its colour over a
pitch range fitted to the notes, and drums as short marks in a lane of their own at the bottom.
:func:`thumbnail_image` wraps those pixels in a :class:`QImage` that owns its data, which is
safe to build and to hand over between threads (a ``QPixmap`` is not).

:class:`ThumbnailRenderer` does that on a thread of its own, one batch at a time::

    renderer = ThumbnailRenderer()
    renderer.thumbnail_ready.connect(panel.set_thumbnail)   # (batch_id, index, image)
    renderer.render(batch_id, patterns, QSize(160, 90))
    ...
    renderer.close()                                        # on quit; safe to call twice

A newer batch makes every older one stale: the worker skips the rest of a stale batch, and
nothing more is emitted for it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QCoreApplication, QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage

from desktop import colors
from desktop.threads import ThreadWorker, WorkerThread
from engine.music import Pattern, Track
from engine.palette import TRACK_COLORS

#: Pixel values are 0xAARRGGBB, as ``QColor.rgba()`` gives and ``QImage.Format_RGB32`` reads.
BACKGROUND = colors.ROLL_BACKGROUND.rgba()
BEAT_LINE = colors.ROLL_BEAT_LINE.rgba()
BAR_LINE = colors.ROLL_BAR_LINE.rgba()
#: The default note colours, track ``i`` taking ``DEFAULT_COLOURS[i % 10]`` (as the roll).
DEFAULT_COLOURS = tuple(0xFF000000 | int(hex_colour[1:], 16) for hex_colour in TRACK_COLORS)
#: Pitch rows of space kept above the highest and below the lowest note.
PITCH_MARGIN = 2
#: The fewest pitch rows shown, so that a single held note is a line rather than a slab.
MIN_PITCH_ROWS = 12
#: Beat lines are drawn only where beats lie at least this many pixels apart.
MIN_BEAT_PX = 6
_QUEUED = Qt.ConnectionType.QueuedConnection

PixelArray = NDArray[np.uint32]


def _note_arrays(track: Track) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """``(starts, ends, pitches)`` of a track's notes, each of ``shape=(n_notes,)``, in ticks
    and MIDI note numbers."""
    n = len(track.notes)
    starts = np.fromiter((note.start for note in track.notes), np.int64, n)
    ends = np.fromiter((note.end for note in track.notes), np.int64, n)
    pitches = np.fromiter((note.pitch for note in track.notes), np.int64, n)
    return starts, ends, pitches


def _fill_rects(
    canvas: PixelArray,
    colour: int,
    x0: NDArray[np.int64],
    x1: NDArray[np.int64],
    y0: NDArray[np.int64],
    y1: NDArray[np.int64],
) -> None:
    """Paint the rectangles ``[x0, x1) x [y0, y1)`` (pixels, clipped, non-empty) in ``colour``.

    No loop over rectangles: each is expanded into its rows, each row into its pixels, and
    the pixels are set by one fancy-indexed assignment. The work is proportional to the pixels
    painted (a few thousand in a thumbnail), not to the canvas.
    """
    width = canvas.shape[1]
    heights = y1 - y0
    widths = x1 - x0
    # One entry per (rectangle, row): its pixel row y, first column and width.
    rect_of_row = np.repeat(np.arange(len(x0)), heights)
    first_row = np.repeat(np.cumsum(heights) - heights, heights)
    row_y = y0[rect_of_row] + np.arange(len(rect_of_row)) - first_row
    row_x0 = x0[rect_of_row]
    row_width = widths[rect_of_row]
    # One entry per pixel: its row's offset plus its column within the row.
    row_of_pixel = np.repeat(np.arange(len(row_y)), row_width)
    first_pixel = np.repeat(np.cumsum(row_width) - row_width, row_width)
    column = row_x0[row_of_pixel] + np.arange(len(row_of_pixel)) - first_pixel
    canvas.reshape(-1)[row_y[row_of_pixel] * width + column] = colour


def _row_edges(n_rows: int, top: int, height: int) -> NDArray[np.int64]:
    """Pixel y where each of ``n_rows`` equal rows starts in a band ``[top, top + height)``,
    plus the band's end: ``shape=(n_rows + 1,)``."""
    return top + np.floor(np.arange(n_rows + 1) * height / n_rows).astype(np.int64)


def thumbnail_pixels(
    pattern: Pattern, width: int, height: int, colours: Sequence[int] | None = None
) -> PixelArray:
    """A picture of ``pattern`` as pixels, built with numpy alone (no Qt call; any thread).

    Parameters
    ----------
    pattern : Pattern
        The whole pattern is shown, from tick 0 to ``pattern.length_ticks``.
    width, height : int
        Size of the picture in pixels, each >= 1.
    colours : sequence of int, optional
        Note colour of each track as 0xAARRGGBB (``QColor.rgba()``); track ``i`` takes
        ``colours[i % len(colours)]``. Default: the piano roll's track colours.

    Returns
    -------
    numpy.ndarray of uint32, ``shape=(height, width)``
        0xFFRRGGBB per pixel, row 0 at the top: ready for ``QImage.Format_RGB32``.

    Notes
    -----
    Pitched notes fill their pitch row over the pixel columns their ticks touch (at least one),
    with the pitch range fitted to the pattern's pitched notes plus :data:`PITCH_MARGIN` rows
    (at least :data:`MIN_PITCH_ROWS`). Drum notes are short marks (about 1/80 of the width) in
    a lane at the bottom (a quarter of the height; all of it when there are only drums), one
    row per drum pitch between the lowest and highest used. Later tracks paint over earlier
    ones.
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"thumbnail_pixels.width must be an integer >= 1, got {width!r}")
    if isinstance(height, bool) or not isinstance(height, int) or height < 1:
        raise ValueError(f"thumbnail_pixels.height must be an integer >= 1, got {height!r}")
    palette = tuple(DEFAULT_COLOURS if colours is None else colours)
    if not palette:
        raise ValueError("thumbnail_pixels.colours must hold at least one colour")
    canvas = np.full((height, width), BACKGROUND, dtype=np.uint32)
    length = pattern.length_ticks
    px_per_tick = width / length

    # Beat lines, then bar lines over them (the first bar's line is the left edge: none).
    beat = pattern.ticks_per_quarter * 4 // pattern.time_signature.denominator
    lines = ((beat, BEAT_LINE), (pattern.bar_ticks, BAR_LINE))
    for every, colour in lines:
        if every * px_per_tick < MIN_BEAT_PX and every != pattern.bar_ticks:
            continue
        xs = np.floor(np.arange(every, length, every) * px_per_tick).astype(np.int64)
        canvas[:, xs[xs < width]] = colour

    tables = [_note_arrays(track) for track in pattern.tracks]
    pitched = [t for track, t in zip(pattern.tracks, tables, strict=True) if not track.is_drum]
    drums = [t for track, t in zip(pattern.tracks, tables, strict=True) if track.is_drum]
    pitched_notes = np.concatenate([t[2] for t in pitched]) if pitched else np.empty(0, np.int64)
    drum_notes = np.concatenate([t[2] for t in drums]) if drums else np.empty(0, np.int64)

    # Split the height: pitched band on top, drum lane under it (only the lanes in use).
    lane_px = 0
    if len(drum_notes):
        lane_px = height if not len(pitched_notes) else max(min(height // 4, height - 1), 1)
    band_px = height - lane_px
    if lane_px and band_px:
        canvas[band_px, :] = BAR_LINE  # a separator: the lane's top row
    pitch_edges = drum_edges = np.empty(0, np.int64)
    high = drum_high = 0
    if len(pitched_notes):
        low = int(pitched_notes.min()) - PITCH_MARGIN
        high = int(pitched_notes.max()) + PITCH_MARGIN
        short = MIN_PITCH_ROWS - (high - low + 1)
        if short > 0:
            low, high = low - short // 2, high + short - short // 2
        pitch_edges = _row_edges(high - low + 1, 0, band_px)
    if len(drum_notes):
        drum_low, drum_high = int(drum_notes.min()), int(drum_notes.max())
        top = band_px + 1 if band_px else 0  # under the separator
        drum_edges = _row_edges(drum_high - drum_low + 1, top, height - top)
    mark_px = max(1, round(width / 80))

    for index, (track, (starts, ends, pitches)) in enumerate(
        zip(pattern.tracks, tables, strict=True)
    ):
        if not len(starts):
            continue
        x0 = np.minimum(np.floor(starts * px_per_tick).astype(np.int64), width - 1)
        if track.is_drum:
            x1 = np.minimum(x0 + mark_px, width)
            rows = drum_high - pitches
            y0, y1 = drum_edges[rows], drum_edges[rows + 1]
        else:
            x1 = np.ceil(ends * px_per_tick).astype(np.int64)
            # A pixel's gap after notes three or more pixels long, so repeated notes show.
            x1 = np.where(x1 - x0 >= 3, x1 - 1, x1)
            x1 = np.clip(np.maximum(x1, x0 + 1), 1, width)
            rows = high - pitches
            y0, y1 = pitch_edges[rows], pitch_edges[rows + 1]
        y1 = np.maximum(y1, y0 + 1)  # rows thinner than a pixel still show
        y1 = np.minimum(y1, height)
        y0 = np.minimum(y0, y1 - 1)
        _fill_rects(canvas, palette[index % len(palette)], x0, x1, y0, y1)
    return canvas


def thumbnail_image(pattern: Pattern, width: int, height: int) -> QImage:
    """:func:`thumbnail_pixels` in the roll's colours as a ``QImage`` (``Format_RGB32``) that
    owns its pixels: safe to make on any thread and to send to another."""
    pixels = thumbnail_pixels(pattern, width, height)
    image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_RGB32)
    return image.copy()  # the wrapper only borrows ``pixels``; the copy owns its data


class _LatestBatch:
    """The id of the newest batch asked for, shared by the UI thread and the worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batch_id: int | None = None

    def set(self, batch_id: int | None) -> None:
        with self._lock:
            self._batch_id = batch_id

    def is_current(self, batch_id: int) -> bool:
        with self._lock:
            return self._batch_id == batch_id


class _ThumbnailWorker(ThreadWorker):
    """Lives on the renderer's thread; renders one batch per call, skipping the rest of a
    batch as soon as it is no longer the latest."""

    thumbnail_ready = Signal(int, int, QImage)
    batch_finished = Signal(int)

    def __init__(self, latest: _LatestBatch) -> None:
        super().__init__()
        self._latest = latest

    @Slot(int, object, int, int)
    def render(self, batch_id: int, patterns: list[Pattern], width: int, height: int) -> None:
        for index, pattern in enumerate(patterns):
            if not self._latest.is_current(batch_id):
                return
            self.thumbnail_ready.emit(batch_id, index, thumbnail_image(pattern, width, height))
        if self._latest.is_current(batch_id):
            self.batch_finished.emit(batch_id)


class ThumbnailRenderer(QObject):
    """Renders thumbnails of patterns on a thread of its own (started by the first
    :meth:`render`) and hands them to the UI thread.

    Signals
    -------
    thumbnail_ready(int, int, QImage)
        ``(batch_id, index, image)``: the picture of ``patterns[index]`` of a batch, on the
        UI thread, in index order, as each is done. Never emitted for a stale batch.
    batch_finished(int)
        ``batch_id`` after the last ``thumbnail_ready`` of a batch that stayed current.
    """

    thumbnail_ready = Signal(int, int, QImage)
    batch_finished = Signal(int)

    _render_requested = Signal(int, object, int, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest = _LatestBatch()
        self._thread: WorkerThread | None = None
        self._closed = False

    @property
    def running(self) -> bool:
        """Whether the rendering thread runs (from the first :meth:`render` to :meth:`close`)."""
        return self._thread is not None and self._thread.running

    def render(self, batch_id: int, patterns: Sequence[Pattern], size: QSize) -> None:
        """Queue pictures of ``patterns`` at ``size`` pixels as batch ``batch_id``; returns at
        once. Every older batch becomes stale (its remaining pictures are skipped).

        Raises
        ------
        ValueError
            If ``size`` is smaller than 1x1 pixel.
        RuntimeError
            After :meth:`close`.
        """
        if self._closed:
            raise RuntimeError("the thumbnail renderer was closed")
        if size.width() < 1 or size.height() < 1:
            raise ValueError(f"ThumbnailRenderer.render: size must be at least 1x1, got {size}")
        if self._thread is None:
            self._start()
        self._latest.set(batch_id)
        self._render_requested.emit(batch_id, list(patterns), size.width(), size.height())

    @Slot()
    def close(self) -> None:
        """Drop every batch, end the thread and wait for it (the picture being drawn is
        finished first: a few milliseconds). Nothing is emitted afterwards. Safe to call twice,
        or before any :meth:`render`."""
        if self._closed:
            return
        self._closed = True
        self._latest.set(None)
        if self._thread is not None:
            self._thread.stop()  # the renders queued before now return at once
            self._thread = None

    def _start(self) -> None:
        worker = _ThumbnailWorker(self._latest)
        self._render_requested.connect(worker.render, _QUEUED)
        worker.thumbnail_ready.connect(self._on_thumbnail_ready, _QUEUED)
        worker.batch_finished.connect(self._on_batch_finished, _QUEUED)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)
        self._thread = WorkerThread("barforge-thumbnails", worker)

    # The worker's news arrives here on the UI thread; a batch superseded meanwhile is dropped.
    @Slot(int, int, QImage)
    def _on_thumbnail_ready(self, batch_id: int, index: int, image: QImage) -> None:
        if not self._closed and self._latest.is_current(batch_id):
            self.thumbnail_ready.emit(batch_id, index, image)

    @Slot(int)
    def _on_batch_finished(self, batch_id: int) -> None:
        if not self._closed and self._latest.is_current(batch_id):
            self.batch_finished.emit(batch_id)
