# SPDX-License-Identifier: MIT
"""The browser's logic: variations and interpolations from the worker, thumbnails from the
renderer's thread, favourites and adopted states in the document.

Data flow::

    Vary (count, strength) -> service.submit("variations", slot="browser", then=prepare)
        -> on the worker thread, after the model: shape each take's notes as adopting would
           (the project's tracks, the locks kept) and draw its thumbnail
        -> finished(prepared takes) -> panel tiles and pictures, in one paint
    ideas from a file (favourites, history) -> renderer thread -> icons as they are ready
    click a tile   -> audition(pattern)          (the window plays it: DAW port or preview)
    double-click   -> adopt(label, idea, take)   (the window pushes one undo step)
    star           -> document.set_ideas(...)    (saved with the project)
    Interpolate    -> service.submit("blend", a, b, steps): the ends are the favourites

The controller never waits: every result arrives as a signal, and a newer request makes the
older one stale (the worker's slot rule), so a quick second click on Vary wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QImage

from desktop.browser import BrowserPanel
from desktop.document import EditDocument
from desktop.thumbnails import ThumbnailRenderer, thumbnail_image
from desktop.worker import GenerationService
from engine.generation.settings import OutputSettings
from engine.music import Pattern
from engine.project import Idea

#: Size of a thumbnail in the grid, in pixels.
THUMBNAIL_SIZE = QSize(176, 96)
#: Size of the small pictures in the favourites and history lists.
ICON_SIZE = QSize(64, 36)
#: The worker slot of browser requests (a new one makes the previous one stale).
SLOT = "browser"


@dataclass(frozen=True, slots=True, eq=False)
class Prepared:
    """A take made ready on the worker thread: its notes as adopting would make them, and
    their thumbnail."""

    take: Any
    pattern: Pattern
    image: QImage


def preparer(shape: Callable[[Pattern], Pattern], size: QSize) -> Callable[[Any], list[Prepared]]:
    """What the worker runs after the model (see :meth:`GenerationService.submit`): shape each
    take and draw its thumbnail, off the UI thread. ``shape`` must be pure (it runs on the
    worker thread)."""

    def prepare(result: Any) -> list[Prepared]:
        takes = list(result) if isinstance(result, list) else [result]
        prepared = []
        for take in takes:
            pattern = shape(take.pattern)
            image = thumbnail_image(pattern, size.width(), size.height())
            prepared.append(Prepared(take, pattern, image))
        return prepared

    return prepare


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """One tile: what it shows and plays (``idea.pattern``), its short label, and the take it
    came from (which Regenerate can continue from after adopting; None for a kept idea)."""

    idea: Idea
    label: str
    take: Any = None


class BrowserController(QObject):
    """Connects a :class:`BrowserPanel` to the generation service and the document.

    Parameters
    ----------
    panel, service, document
        The view, the worker's service and the project being edited.
    shaper : callable
        ``shaper()`` returns a pure function ``shape(pattern) -> pattern``: what adopting would
        make of a take's notes now (the project's track names and programs, its locked notes,
        bars and tracks kept). Tiles show and play that, so what is heard is what is adopted.
        It runs on the worker thread.
    audition : callable
        ``audition(pattern)`` plays a tile (the window routes it to the DAW or the preview).
    adopt : callable
        ``adopt(idea, take)`` makes the idea the project's state (one undo step).
    seed : callable
        The seed whose variations to make (the document's, else the seed box's).
    settings : callable or None
        The output settings variations are made with (None: the model's defaults).

    Signals
    -------
    batch_filled(int, float)
        Batch id and seconds from the request to its last thumbnail (the bench reads it).
    """

    batch_filled = Signal(int, float)

    def __init__(
        self,
        panel: BrowserPanel,
        service: GenerationService,
        document: EditDocument,
        *,
        shaper: Callable[[], Callable[[Pattern], Pattern]],
        audition: Callable[[Pattern], None],
        adopt: Callable[[Idea, Any], None],
        seed: Callable[[], int],
        settings: Callable[[], OutputSettings] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.service = service
        self.document = document
        self._shaper = shaper
        self._audition = audition
        self._adopt = adopt
        self._seed = seed
        self._settings = settings
        self.renderer = ThumbnailRenderer(self)
        self.entries: list[Entry] = []
        self.batch = 0
        self._request: int | None = None
        self._requested_at = 0.0
        self._what = ""
        self._icon_wanted: list[Idea] = []
        # id(idea) -> (idea, its picture); holding the idea keeps its id from being reused
        self._images: dict[int, tuple[Idea, QImage]] = {}
        self._blend_ends: tuple[Idea, Idea] | None = None
        #: Why the last browser request failed (None after a success).
        self.last_error: str | None = None

        self.renderer.thumbnail_ready.connect(self._on_icon)
        service.finished.connect(self._on_finished)
        service.failed.connect(self._on_failed)
        service.cancelled.connect(self._on_cancelled)
        panel.vary_requested.connect(self.vary)
        panel.audition_requested.connect(self.audition)
        panel.adopt_requested.connect(self.adopt)
        panel.favourite_toggled.connect(self.set_favourite)
        panel.interpolate_requested.connect(self.interpolate)
        panel.history_adopt_requested.connect(self._adopt_from_history)
        panel.favourite_adopt_requested.connect(self._adopt_favourite)
        panel.favourite_removed.connect(self.remove_favourite)
        document.changed.connect(self._on_document_changed)
        self._shown_ideas: tuple[list[Idea], list[Idea]] | None = None
        self._icon_batch = 0

    # --- requests ------------------------------------------------------------------------------
    def vary(self, count: int, strength: float) -> int | None:
        """Ask for ``count`` variations of the current seed at ``strength`` (0..1)."""
        seed = self._seed()
        self._blend_ends = None
        self._what = f"Seed {seed}"
        label = f"{count} variation{'s' if count != 1 else ''} of seed {seed}"
        settings = self._settings() if self._settings is not None else None
        return self._submit(
            "variations",
            label,
            seed=seed,
            n=count,
            strength=strength,
            n_bars=self._n_bars(),
            settings=settings,
        )

    def interpolate(self, first: int, second: int, steps: int) -> int | None:
        """Ask for ``steps`` takes between favourites ``first`` and ``second`` (indices into
        the favourites list); the path's ends are the favourites themselves."""
        ideas = self.document.ideas
        if not (0 <= first < len(ideas) and 0 <= second < len(ideas)) or first == second:
            return None
        a, b = ideas[first], ideas[second]
        ends = [i.provenance if i.provenance is not None else i.seed for i in (a, b)]
        if any(end is None for end in ends):
            self._fail("Interpolate needs two generated takes; an edited or imported one cannot")
            return None
        self._blend_ends = (a, b)
        self._what = f"{a.label} → {b.label}"
        label = f"{steps} steps from {a.label} to {b.label}"
        return self._submit("blend", label, a=ends[0], b=ends[1], steps=steps)

    def _n_bars(self) -> int | None:
        model = self.service.model
        doc = self.document
        if model is None or not doc.is_open:
            return None
        n_bars = doc.pattern.n_bars
        return n_bars if n_bars % model.info.config.n_bars == 0 else None

    def _submit(self, kind: str, label: str, **params: Any) -> int | None:
        if not self.service.running:
            self._fail("The model is not loaded yet")
            return None
        self.batch += 1
        self._requested_at = time.perf_counter()
        then = preparer(self._shaper(), THUMBNAIL_SIZE)
        try:
            self._request = self.service.submit(kind, slot=SLOT, then=then, **params)
        except (RuntimeError, ValueError) as error:
            self._fail(str(error))
            return None
        self.panel.set_busy(True, f"Generating {label}…")
        return self._request

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.panel.set_busy(False, message)

    # --- results -------------------------------------------------------------------------------
    def _on_finished(self, request: int, result: object, latency_sec: float) -> None:
        if request != self._request:
            return
        self._request = None
        self.last_error = None
        prepared: list[Prepared] = list(result)  # type: ignore[call-overload]
        entries = []
        images = []
        for i, ready in enumerate(prepared):
            take = ready.take
            step = take.provenance.history[-1]
            if step.get("op") == "blend":
                label = f"t={step['t']:.2f}"
                long = f"{self._what} (t={step['t']:.2f})"
            else:
                label = f"Var {i + 1}"
                long = f"{self._what} · var {i + 1} ({round(step['strength'] * 100)}%)"
            idea = Idea(long, ready.pattern, take.provenance, take.seed)
            entries.append(Entry(idea, label, take))
            images.append(ready.image)
        if self._blend_ends is not None and len(entries) >= 2:
            # The ends are the favourites exactly as they were heard.
            a, b = self._blend_ends
            entries[0] = Entry(a, "t=0.00 ★")
            entries[-1] = Entry(b, "t=1.00 ★")
            images[0] = self._images.get(id(a), (a, images[0]))[1]
            images[-1] = self._images.get(id(b), (b, images[-1]))[1]
        self.entries = entries
        for entry, image in zip(entries, images, strict=True):
            self._images[id(entry.idea)] = (entry.idea, image)
        self._prune_images()
        self.panel.show_batch(self.batch, [e.label for e in entries])
        for index, image in enumerate(images):
            self.panel.set_thumbnail(self.batch, index, image)
        self.panel.set_busy(False, f"{self._what}: {len(entries)} takes")
        self._mark_favourites()
        self.batch_filled.emit(self.batch, time.perf_counter() - self._requested_at)

    def _on_failed(self, request: int, message: str) -> None:
        if request == self._request:
            self._request = None
            self._fail(f"Browser: {message}")

    def _on_cancelled(self, request: int) -> None:
        if request == self._request:
            self._request = None
            self.panel.set_busy(False, "Cancelled")

    # --- tiles ---------------------------------------------------------------------------------
    def audition(self, index: int) -> None:
        if 0 <= index < len(self.entries):
            self._audition(self.entries[index].idea.pattern)
            self.panel.set_playing(index)

    def adopt(self, index: int) -> None:
        if 0 <= index < len(self.entries):
            entry = self.entries[index]
            self._adopt(entry.idea, entry.take)

    def _adopt_from_history(self, index: int) -> None:
        adopted = self.document.adopted
        newest_first = list(reversed(adopted))
        if 0 <= index < len(newest_first):
            self._adopt(newest_first[index], None)

    def _adopt_favourite(self, index: int) -> None:
        if 0 <= index < len(self.document.ideas):
            self._adopt(self.document.ideas[index], None)

    def set_favourite(self, index: int, on: bool) -> None:
        """Star (or unstar) tile ``index``: its idea joins (or leaves) the favourites."""
        if not 0 <= index < len(self.entries) or not self.document.is_open:
            return
        idea = self.entries[index].idea
        ideas = [i for i in self.document.ideas if i is not idea]
        if on:
            ideas.append(idea)
        self.document.set_ideas(ideas)

    def remove_favourite(self, index: int) -> None:
        ideas = list(self.document.ideas)
        if 0 <= index < len(ideas):
            del ideas[index]
            self.document.set_ideas(ideas)

    # --- lists ---------------------------------------------------------------------------------
    def _on_document_changed(self, music: bool) -> None:
        doc = self.document
        shown = (list(doc.ideas), list(doc.adopted))
        if shown == self._shown_ideas:  # ideas compare by identity
            return
        self._shown_ideas = shown
        self._prune_images()
        self._show_lists()
        self._mark_favourites()
        missing = [i for i in (*doc.ideas, *doc.adopted) if id(i) not in self._images]
        if missing:  # ideas from a file: their pictures are drawn on the renderer's thread
            self._icon_wanted = missing
            self._icon_batch += 1
            self.renderer.render(self._icon_batch, [i.pattern for i in missing], THUMBNAIL_SIZE)

    def _show_lists(self) -> None:
        doc = self.document
        self.panel.set_favourites([(i.label, self._icon(i)) for i in doc.ideas])
        self.panel.set_history([(i.label, self._icon(i)) for i in reversed(doc.adopted)])

    def _on_icon(self, batch: int, index: int, image: QImage) -> None:
        if batch != self._icon_batch or not 0 <= index < len(self._icon_wanted):
            return
        idea = self._icon_wanted[index]
        self._images[id(idea)] = (idea, image)
        if index == len(self._icon_wanted) - 1:
            self._icon_wanted = []
            self._show_lists()

    def _mark_favourites(self) -> None:
        starred = {id(i) for i in self.document.ideas}
        self.panel.set_favourite_marks(
            {n for n, e in enumerate(self.entries) if id(e.idea) in starred}
        )

    def _icon(self, idea: Idea) -> QImage | None:
        known = self._images.get(id(idea))
        return None if known is None else known[1]

    def _prune_images(self) -> None:
        doc = self.document
        kept = (*doc.ideas, *doc.adopted, *(e.idea for e in self.entries), *self._icon_wanted)
        alive = {id(i) for i in kept}
        self._images = {k: v for k, v in self._images.items() if k in alive}

    def close(self) -> None:
        """Stop the thumbnail thread (the window calls this when it closes)."""
        self.renderer.close()
