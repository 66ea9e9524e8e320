# SPDX-License-Identifier: MIT
"""The seed-and-variation browser: a grid of thumbnails to audition and adopt, favourites to
interpolate between, and the history of adopted states.

The panel is a pure view. It shows what the main window gives it (labels, thumbnails, which
tiles are favourites, which one plays, the favourites and history lists) and turns what the
user does into request signals; it never changes that state itself. A star clicked on a tile,
for instance, emits :attr:`BrowserPanel.favourite_toggled`; the star lights up once the window
calls :meth:`BrowserPanel.set_favourite_marks`. So a request the window refuses leaves nothing
wrong on screen (as in the track list).

Keys on a tile: arrows move the current tile; Space audition; Enter or Return adopt; F toggle
the favourite. Mouse: click audition; double-click adopt; click the star to toggle it.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import cos, pi, sin

from PySide6.QtCore import QPointF, QRect, QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QIcon,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop import colors

#: Tiles in a row of the grid, and the most the grid holds (a batch of 16 variations).
COLUMNS = 4
MAX_TILES = 16
#: Size in pixels of the thumbnails the panel expects (what to ask the renderer for).
THUMBNAIL_SIZE = QSize(160, 90)
#: Size of the icons in the favourites and history lists, in pixels.
ICON_SIZE = QSize(64, 36)
PLACEHOLDER_TEXT = "rendering…"
TILE_TIP = (
    "Click or Space: audition · Double-click or Enter: adopt · "
    "F or the star: favourite · Arrows: move"
)

_TILE_BACKGROUND = QColor("#1b1e23")
_TILE_EDGE = QColor("#3a404a")
_CURRENT_EDGE = colors.SELECTED_RULER
_PLAYING = colors.PLAYHEAD
_STAR_ON = QColor("#ffc940")
_STAR_OFF = QColor("#8a909a")
_LABEL_TEXT = colors.RULER_TEXT


def _star(centre: QPointF, radius: float) -> QPolygonF:
    """A five-pointed star around ``centre``, point up, ``radius`` pixels to its tips."""
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.45
        angle = -pi / 2 + i * pi / 5
        points.append(QPointF(centre.x() + r * cos(angle), centre.y() + r * sin(angle)))
    return QPolygonF(points)


def _tile_size_hint() -> QSize:
    """A tile's natural size: the thumbnail at its own size, with margins and label."""
    margin, label = ThumbnailTile.MARGIN, ThumbnailTile.LABEL_HEIGHT
    return QSize(THUMBNAIL_SIZE.width() + 2 * margin, THUMBNAIL_SIZE.height() + 2 * margin + label)


class ThumbnailTile(QWidget):
    """One idea in the grid: its thumbnail scaled to fit, a label under it, a star in the
    top-right corner, a border when it is the current tile and a red mark while it plays.

    It shows what it is told (:attr:`image`, :attr:`favourite`, :attr:`current`,
    :attr:`playing`) and emits what the user does, with its :attr:`index`.
    """

    #: Clicked (not on the star) or Space: audition it.
    clicked = Signal(int)
    #: Double-clicked, Enter or Return: adopt it.
    activated = Signal(int)
    #: The star clicked or F pressed: ``(index, on)``, ``on`` the opposite of what it shows.
    star_toggled = Signal(int, bool)
    #: An arrow key pressed: ``(index, columns, rows)`` to move by, each -1, 0 or 1.
    arrow_pressed = Signal(int, int, int)
    #: It took the keyboard focus (by Tab or a click).
    focused = Signal(int)

    #: Pixels around the picture, under it for the label, and the star's hot zone's side.
    MARGIN = 4
    LABEL_HEIGHT = 18
    STAR_SIZE = 20

    def __init__(self, index: int, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._label = label
        self._image: QImage | None = None
        self._favourite = False
        self._current = False
        self._playing = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(88, 68)
        self.setToolTip(TILE_TIP)
        self.setAccessibleName(label)

    # --- state ----------------------------------------------------------------------------
    @property
    def index(self) -> int:
        """Its position in the batch (0-based)."""
        return self._index

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, text: str) -> None:
        if text != self._label:
            self._label = text
            self.update()

    @property
    def image(self) -> QImage | None:
        """The thumbnail (None: not rendered yet, shown as a placeholder)."""
        return self._image

    @image.setter
    def image(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    @property
    def favourite(self) -> bool:
        return self._favourite

    @favourite.setter
    def favourite(self, on: bool) -> None:
        if on != self._favourite:
            self._favourite = on
            self.update()

    @property
    def current(self) -> bool:
        """The current tile (keyboard focus, last auditioned): a highlighted border."""
        return self._current

    @current.setter
    def current(self, on: bool) -> None:
        if on != self._current:
            self._current = on
            self.update()

    @property
    def playing(self) -> bool:
        """Being played now: a red triangle and edge."""
        return self._playing

    @playing.setter
    def playing(self, on: bool) -> None:
        if on != self._playing:
            self._playing = on
            self.update()

    def star_rect(self) -> QRect:
        """The star's hot zone, in tile pixels: the picture's top-right corner."""
        picture = self.image_rect()
        side = self.STAR_SIZE
        return QRect(picture.right() + 1 - side, picture.top(), side, side)

    def image_rect(self) -> QRect:
        """Where the picture is drawn: the area above the label, at the image's aspect ratio
        (the thumbnail size's for the placeholder), centred."""
        area = QRect(
            self.MARGIN,
            self.MARGIN,
            max(self.width() - 2 * self.MARGIN, 1),
            max(self.height() - 2 * self.MARGIN - self.LABEL_HEIGHT, 1),
        )
        source = self._image.size() if self._image is not None else THUMBNAIL_SIZE
        fitted = source.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        fitted = fitted.expandedTo(QSize(1, 1))
        left = area.left() + (area.width() - fitted.width()) // 2
        top = area.top() + (area.height() - fitted.height()) // 2
        return QRect(left, top, fitted.width(), fitted.height())

    def sizeHint(self) -> QSize:
        return _tile_size_hint()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """Tall enough for a picture of the thumbnail's aspect ratio at ``width`` pixels."""
        picture = (width - 2 * self.MARGIN) * THUMBNAIL_SIZE.height() / THUMBNAIL_SIZE.width()
        return max(round(picture) + 2 * self.MARGIN + self.LABEL_HEIGHT, self.minimumHeight())

    # --- Qt events ------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.star_rect().contains(event.position().toPoint()):
            self.star_toggled.emit(self._index, not self._favourite)
        else:
            self.clicked.emit(self._index)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        if self.star_rect().contains(event.position().toPoint()):
            # The second click of a quick double click on the star: a click like the first.
            self.star_toggled.emit(self._index, not self._favourite)
        else:
            self.activated.emit(self._index)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        shortcut = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        moves = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
        }
        if key in moves:
            self.arrow_pressed.emit(self._index, *moves[key])
        elif key == Qt.Key.Key_Space:
            self.clicked.emit(self._index)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.activated.emit(self._index)
        elif key == Qt.Key.Key_F and not event.modifiers() & shortcut:
            self.star_toggled.emit(self._index, not self._favourite)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.focused.emit(self._index)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.fillRect(self.rect(), _TILE_BACKGROUND)
            picture = self.image_rect()
            if self._image is None:
                painter.fillRect(picture, colors.ROLL_BACKGROUND)
                painter.setPen(colors.HINT_TEXT)
                painter.drawText(picture, int(Qt.AlignmentFlag.AlignCenter), PLACEHOLDER_TEXT)
            else:
                painter.drawImage(QRectF(picture), self._image)
            self._paint_label(painter)
            self._paint_star(painter)
            if self._playing:
                self._paint_playing(painter, picture)
            self._paint_border(painter)
        finally:
            painter.end()

    # --- painting -------------------------------------------------------------------------
    def _paint_label(self, painter: QPainter) -> None:
        area = QRect(
            self.MARGIN,
            self.height() - self.MARGIN - self.LABEL_HEIGHT,
            max(self.width() - 2 * self.MARGIN, 1),
            self.LABEL_HEIGHT,
        )
        text = self.fontMetrics().elidedText(self._label, Qt.TextElideMode.ElideRight, area.width())
        painter.setPen(_LABEL_TEXT)
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), text)

    def _paint_star(self, painter: QPainter) -> None:
        zone = QRectF(self.star_rect())
        star = _star(zone.center(), zone.width() * 0.42)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1.0))
        painter.setBrush(_STAR_ON if self._favourite else QColor(0, 0, 0, 90))
        painter.drawPolygon(star)
        if not self._favourite:
            painter.setPen(QPen(_STAR_OFF, 1.2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolygon(star)

    def _paint_playing(self, painter: QPainter, picture: QRect) -> None:
        """A play triangle in the picture's top-left corner and a red line under it."""
        x, y, side = picture.left() + 5.0, picture.top() + 5.0, 12.0
        triangle = QPolygonF(
            [QPointF(x, y), QPointF(x + side * 0.87, y + side / 2), QPointF(x, y + side)]
        )
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1.0))
        painter.setBrush(_PLAYING)
        painter.drawPolygon(triangle)
        painter.fillRect(QRect(picture.left(), picture.bottom() - 2, picture.width(), 3), _PLAYING)

    def _paint_border(self, painter: QPainter) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self._current:
            width = 3.0 if self.hasFocus() else 2.0
            painter.setPen(QPen(_CURRENT_EDGE, width))
        else:
            painter.setPen(QPen(_TILE_EDGE, 1.0))
        inset = painter.pen().widthF() / 2
        painter.drawRect(QRectF(self.rect()).adjusted(inset, inset, -inset, -inset))


class _GridScroll(QScrollArea):
    """Scrolls the grid; asks for room for two rows of tiles at their natural size."""

    def sizeHint(self) -> QSize:
        tile = _tile_size_hint()
        return QSize(COLUMNS * (tile.width() + 6) + 24, 2 * (tile.height() + 6) + 8)


class _CompactList(QListWidget):
    """A list that asks for little height, so the grid gets the dock's space first. Labels
    wrap beside their thumbnail rather than run out of sight to the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setUniformItemSizes(False)

    def sizeHint(self) -> QSize:
        return QSize(220, 4 * ICON_SIZE.height())


class _FavouriteList(_CompactList):
    """The favourites: several can be selected (two to interpolate); Delete asks to remove
    the selected ones."""

    #: Delete or Backspace: the selected rows, highest first (so that removing them one by
    #: one keeps the others' indices valid).
    delete_pressed = Signal(list)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            rows = sorted((self.row(item) for item in self.selectedItems()), reverse=True)
            if rows:
                self.delete_pressed.emit(rows)
                event.accept()
                return
        super().keyPressEvent(event)


def _fill_list(
    widget: QListWidget, items: Sequence[tuple[str, QImage | None]], keep_selection: bool
) -> None:
    """Show ``(label, thumbnail)`` rows in ``widget``, emitting no signal; with
    ``keep_selection`` the rows selected before stay selected where they still exist."""
    with QSignalBlocker(widget):
        selected = {widget.row(item) for item in widget.selectedItems()}
        widget.clear()
        for row, (label, image) in enumerate(items):
            item = QListWidgetItem(label)
            if image is not None and not image.isNull():
                scaled = image.scaled(
                    ICON_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                item.setIcon(QIcon(QPixmap.fromImage(scaled)))
            item.setToolTip(label)
            widget.addItem(item)
            if keep_selection and row in selected:
                item.setSelected(True)


class BrowserPanel(QWidget):
    """Browse variations of the current seed (meant for a dock titled "Browser").

    Signals
    -------
    vary_requested(int, float)
        ``(count, strength)``: the Vary button: ``count`` variations 1..16 of the current seed,
        ``strength`` 0..1 (how far they may stray).
    audition_requested(int)
        A tile clicked or Space: play that idea.
    adopt_requested(int)
        A tile double-clicked, Enter or Return: make that idea the current pattern.
    favourite_toggled(int, bool)
        ``(index, on)``: a tile's star clicked or F: mark (``on``) or unmark it.
    interpolate_requested(int, int, int)
        ``(fav_a, fav_b, steps)``: the Interpolate button with two favourites selected (rows
        of the favourites list, ascending) and the number of points, both ends included.
    favourite_adopt_requested(int)
        A favourite double-clicked (or Enter): adopt it.
    favourite_removed(int)
        Delete in the favourites list: remove that row (emitted per selected row, highest
        first).
    history_adopt_requested(int)
        A history entry double-clicked (or Enter): adopt it again (its row, newest first).
    """

    vary_requested = Signal(int, float)
    audition_requested = Signal(int)
    adopt_requested = Signal(int)
    favourite_toggled = Signal(int, bool)
    interpolate_requested = Signal(int, int, int)
    favourite_adopt_requested = Signal(int)
    favourite_removed = Signal(int)
    history_adopt_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._batch_id: int | None = None
        self._tiles: list[ThumbnailTile] = []
        self._current: int | None = None
        self._playing: int | None = None
        self._favourite_marks: frozenset[int] = frozenset()

        # Controls: Vary, its strength and count.
        self.vary_button = QPushButton("Vary")
        self.vary_button.setToolTip("Make variations of the current seed")
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setValue(50)
        self.strength_slider.setToolTip("How far the variations may stray from the seed")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("100 %") + 4)
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, MAX_TILES)
        self.count_spin.setValue(8)
        self.count_spin.setToolTip("How many variations to make")
        strength_caption = QLabel("Strength")
        strength_caption.setBuddy(self.strength_slider)
        count_caption = QLabel("Count")
        count_caption.setBuddy(self.count_spin)
        controls = QHBoxLayout()
        controls.addWidget(self.vary_button)
        controls.addWidget(strength_caption)
        controls.addWidget(self.strength_slider, 1)
        controls.addWidget(self.strength_label)
        controls.addWidget(count_caption)
        controls.addWidget(self.count_spin)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        # The grid of tiles, scrolling when the dock is short.
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self._grid.setSpacing(6)
        for column in range(COLUMNS):
            self._grid.setColumnStretch(column, 1)
        # Space left under the tiles stays empty rather than stretching them.
        self._grid.setRowStretch(MAX_TILES // COLUMNS, 1)
        self.scroll_area = _GridScroll()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self._grid_host)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # At least one whole row of tiles shows, however the splitter is dragged.
        self.scroll_area.setMinimumHeight(_tile_size_hint().height() + 8)

        # Favourites, with interpolation between two of them.
        self.favourites_list = _FavouriteList()
        self.favourites_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.favourites_list.setIconSize(ICON_SIZE)
        self.favourites_list.setToolTip(
            "Select two to interpolate · Double-click to adopt · Delete to remove"
        )
        self.interpolate_button = QPushButton("Interpolate")
        self.interpolate_button.setToolTip("Blend between the two selected favourites")
        self.interpolate_button.setEnabled(False)
        self.steps_spin = QSpinBox()
        # Steps count both ends as well as the points between them: 3 is the fewest that adds
        # anything new (t = 0, 0.5, 1); 5 gives t = 0, .25, .5, .75, 1; 16 fills the grid.
        self.steps_spin.setRange(3, MAX_TILES)
        self.steps_spin.setValue(5)
        self.steps_spin.setToolTip("Points from one favourite to the other, both included")
        steps_caption = QLabel("Steps")
        steps_caption.setBuddy(self.steps_spin)
        interpolate_row = QHBoxLayout()
        interpolate_row.addWidget(self.interpolate_button)
        interpolate_row.addWidget(steps_caption)
        interpolate_row.addWidget(self.steps_spin)
        interpolate_row.addStretch(1)
        favourites_box = QGroupBox("Favourites")
        favourites_layout = QVBoxLayout(favourites_box)
        favourites_layout.addWidget(self.favourites_list)
        favourites_layout.addLayout(interpolate_row)

        # History of adopted states, newest first.
        self.history_list = _CompactList()
        self.history_list.setIconSize(ICON_SIZE)
        self.history_list.setToolTip("Adopted ideas, newest first · Double-click to adopt again")
        history_box = QGroupBox("History")
        history_layout = QVBoxLayout(history_box)
        history_layout.addWidget(self.history_list)

        lists = QWidget()
        lists_layout = QHBoxLayout(lists)
        lists_layout.setContentsMargins(0, 0, 0, 0)
        lists_layout.addWidget(favourites_box, 3)  # favourites need room for Interpolate
        lists_layout.addWidget(history_box, 2)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.scroll_area)
        splitter.addWidget(lists)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status_label)
        layout.addWidget(splitter, 1)

        self.vary_button.clicked.connect(self._on_vary)
        self.strength_slider.valueChanged.connect(self._show_strength)
        self.interpolate_button.clicked.connect(self._on_interpolate)
        self.favourites_list.itemSelectionChanged.connect(self._update_interpolate)
        self.favourites_list.itemActivated.connect(
            lambda item: self.favourite_adopt_requested.emit(self.favourites_list.row(item))
        )
        self.favourites_list.delete_pressed.connect(self._on_favourites_deleted)
        self.history_list.itemActivated.connect(
            lambda item: self.history_adopt_requested.emit(self.history_list.row(item))
        )
        self._show_strength(self.strength_slider.value())

    # --- settings -------------------------------------------------------------------------
    @property
    def strength(self) -> float:
        """How far variations may stray from the seed, 0..1 (the slider's percent / 100)."""
        return self.strength_slider.value() / 100

    @strength.setter
    def strength(self, value: float) -> None:
        self.strength_slider.setValue(round(min(max(value, 0.0), 1.0) * 100))

    @property
    def count(self) -> int:
        """How many variations Vary asks for, 1..16."""
        return self.count_spin.value()

    @count.setter
    def count(self, value: int) -> None:
        self.count_spin.setValue(value)

    @property
    def interpolation_steps(self) -> int:
        """Points from one favourite to the other, both ends included, 3..16."""
        return self.steps_spin.value()

    @interpolation_steps.setter
    def interpolation_steps(self, value: int) -> None:
        self.steps_spin.setValue(value)

    @property
    def thumbnail_size(self) -> QSize:
        """Size in pixels to render thumbnails at (tiles scale them to fit)."""
        return QSize(THUMBNAIL_SIZE)

    # --- the grid -------------------------------------------------------------------------
    @property
    def batch_id(self) -> int | None:
        """The batch the grid shows (None before the first :meth:`show_batch`)."""
        return self._batch_id

    @property
    def tiles(self) -> tuple[ThumbnailTile, ...]:
        """The grid's tiles, in batch order."""
        return tuple(self._tiles)

    @property
    def current_index(self) -> int | None:
        """The current tile's index (None: an empty grid)."""
        return self._current

    @current_index.setter
    def current_index(self, index: int | None) -> None:
        """Make tile ``index`` current (emits nothing); an index with no tile is ignored."""
        if index is not None and not 0 <= index < len(self._tiles):
            return
        self._current = index
        for tile in self._tiles:
            tile.current = tile.index == index

    def show_batch(self, batch_id: int, labels: Sequence[str]) -> None:
        """Replace the grid with one placeholder tile per label (at most 16) for batch
        ``batch_id``; the first tile becomes current. Thumbnails for earlier batches are
        ignored from now on."""
        if len(labels) > MAX_TILES:
            raise ValueError(
                f"BrowserPanel.show_batch: at most {MAX_TILES} tiles, got {len(labels)}"
            )
        had_focus = any(tile.hasFocus() for tile in self._tiles)
        # Tiles are kept and relabelled (making and laying out 16 new widgets every batch
        # costs the UI thread several milliseconds); only a count that changes adds or drops.
        for tile in self._tiles[len(labels) :]:
            self._grid.removeWidget(tile)
            tile.hide()
            tile.deleteLater()
        self._batch_id = batch_id
        self._tiles = self._tiles[: len(labels)]
        self._playing = None
        for tile, label in zip(self._tiles, labels, strict=False):
            tile.label = label
            tile.image = None
            tile.playing = False
        for index in range(len(self._tiles), len(labels)):
            tile = ThumbnailTile(index, labels[index], self._grid_host)
            tile.clicked.connect(self._on_tile_clicked)
            tile.activated.connect(self.adopt_requested)
            tile.star_toggled.connect(self.favourite_toggled)
            tile.arrow_pressed.connect(self._on_arrow)
            tile.focused.connect(self._on_tile_focused)
            self._grid.addWidget(tile, index // COLUMNS, index % COLUMNS)
            self._tiles.append(tile)
        for index, tile in enumerate(self._tiles):
            tile.favourite = index in self._favourite_marks
        self.current_index = 0 if self._tiles else None
        if had_focus and self._tiles:
            self._tiles[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def set_thumbnail(self, batch_id: int, index: int, image: QImage) -> None:
        """Show ``image`` in tile ``index``; ignored unless ``batch_id`` is the batch shown
        and the tile exists (a late picture of an older batch)."""
        if batch_id == self._batch_id and 0 <= index < len(self._tiles):
            self._tiles[index].image = image

    def set_favourite_marks(self, indices: set[int] | frozenset[int]) -> None:
        """Light the star of the tiles ``indices`` (and no others); kept for the next batch
        too until set again."""
        self._favourite_marks = frozenset(indices)
        for tile in self._tiles:
            tile.favourite = tile.index in self._favourite_marks

    def set_playing(self, index: int | None) -> None:
        """Mark tile ``index`` as playing (None: none plays)."""
        self._playing = index
        for tile in self._tiles:
            tile.playing = tile.index == index

    @property
    def playing_index(self) -> int | None:
        return self._playing

    def set_busy(self, busy: bool, text: str = "") -> None:
        """Show a status line: ``text`` while ``busy`` (e.g. "Generating 8 variations…",
        "Working…" if empty); when not busy, ``text`` (an outcome or an error) or, if it is
        empty, nothing. The grid stays usable meanwhile (a new request supersedes the old)."""
        shown = (text or "Working…") if busy else text
        self.status_label.setText(shown)
        self.status_label.setVisible(bool(shown))

    @property
    def status_text(self) -> str:
        """The status line's text ("" while hidden)."""
        return self.status_label.text() if self.status_label.isVisibleTo(self) else ""

    # --- the lists ------------------------------------------------------------------------
    def set_favourites(self, items: Sequence[tuple[str, QImage | None]]) -> None:
        """Show the favourites as ``(label, thumbnail or None)`` rows; rows selected before
        stay selected while they exist."""
        _fill_list(self.favourites_list, items, keep_selection=True)
        self._update_interpolate()

    def set_history(self, items: Sequence[tuple[str, QImage | None]]) -> None:
        """Show the adopted states as ``(label, thumbnail or None)`` rows, in the order given
        (pass the newest first); :attr:`history_adopt_requested` names rows of this list."""
        _fill_list(self.history_list, items, keep_selection=False)

    def selected_favourites(self) -> list[int]:
        """Rows selected in the favourites list, ascending."""
        return sorted(
            self.favourites_list.row(item) for item in self.favourites_list.selectedItems()
        )

    # --- slots ----------------------------------------------------------------------------
    def _show_strength(self, value: int) -> None:
        self.strength_label.setText(f"{value} %")

    def _on_vary(self) -> None:
        self.vary_requested.emit(self.count, self.strength)

    def _on_interpolate(self) -> None:
        selected = self.selected_favourites()
        if len(selected) == 2:
            self.interpolate_requested.emit(selected[0], selected[1], self.interpolation_steps)

    def _update_interpolate(self) -> None:
        self.interpolate_button.setEnabled(len(self.favourites_list.selectedItems()) == 2)

    def _on_favourites_deleted(self, rows: list[int]) -> None:
        for row in rows:
            self.favourite_removed.emit(row)

    def _on_tile_clicked(self, index: int) -> None:
        self.current_index = index
        self.audition_requested.emit(index)

    def _on_tile_focused(self, index: int) -> None:
        self.current_index = index
        if 0 <= index < len(self._tiles):
            self.scroll_area.ensureWidgetVisible(self._tiles[index])

    def _on_arrow(self, index: int, columns: int, rows: int) -> None:
        if not self._tiles:
            return
        # Left and right run on through the rows (reading order); up and down a column.
        target = index + columns + rows * COLUMNS
        if not 0 <= target < len(self._tiles):
            return
        self.current_index = target
        self._tiles[target].setFocus(Qt.FocusReason.OtherFocusReason)
