# SPDX-License-Identifier: MIT
"""PNG pictures for reports: phrases as piano rolls, and distributions of metric values.

matplotlib draws off-screen (the Agg canvas, no pyplot and no window), so this works on a
machine without a screen and never touches global plotting state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from numpy.typing import NDArray

from engine.palette import TRACK_COLORS, rgb
from engine.pianoroll import PhraseSpec

#: Track colours (RGB 0..1), the desktop's palette.
TRACK_RGB = tuple(rgb(color) for color in TRACK_COLORS)
_BACKGROUND = (0.13, 0.14, 0.17)


def roll_image(
    frames: NDArray[np.bool_], onsets: NDArray[np.bool_] | None = None
) -> NDArray[np.float64]:
    """An RGB image of one phrase: shape ``(n_pitches, n_bars * n_steps_per_bar, 3)``.

    ``frames`` (and ``onsets``) have shape ``(n_tracks, n_bars, n_steps_per_bar, n_pitches)``.
    Row 0 is the lowest pitch (draw with ``origin="lower"``); where tracks overlap, the later
    track shows; a note's first step is drawn lighter so that repeated notes stay apart.
    """
    n_tracks, n_bars, n_steps, n_pitches = frames.shape
    image = np.empty((n_pitches, n_bars * n_steps, 3))
    image[:] = _BACKGROUND
    for track in range(n_tracks):
        colour = np.array(TRACK_RGB[track % len(TRACK_RGB)])
        sounding = frames[track].reshape(n_bars * n_steps, n_pitches).T
        image[sounding] = colour
        if onsets is not None:
            starts = sounding & onsets[track].reshape(n_bars * n_steps, n_pitches).T
            image[starts] = 0.55 * colour + 0.45
    return image


def _save(figure: Figure, path: str | os.PathLike[str]) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100, facecolor="white")


def save_roll_grid(
    phrases: Sequence[tuple[NDArray[np.bool_], NDArray[np.bool_]]],
    titles: Sequence[str],
    spec: PhraseSpec,
    path: str | os.PathLike[str],
    columns: int = 2,
) -> None:
    """Save phrases, each ``(frames, onsets)``, as piano rolls with bar lines and a legend."""
    if len(phrases) != len(titles) or not phrases:
        raise ValueError("save_roll_grid: give one title per phrase, and at least one phrase")
    rows = -(-len(phrases) // columns)
    figure = Figure(figsize=(6 * columns, 3.2 * rows + 0.6))
    n_steps = spec.n_steps_per_bar
    for i, ((frames, onsets), title) in enumerate(zip(phrases, titles, strict=True)):
        axes = figure.add_subplot(rows, columns, i + 1)
        extent = (0, spec.n_bars * n_steps, spec.lowest_pitch, spec.lowest_pitch + spec.n_pitches)
        axes.imshow(
            roll_image(frames, onsets),
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            extent=extent,
        )
        for bar in range(1, spec.n_bars):
            axes.axvline(bar * n_steps, color=(0.5, 0.5, 0.55), linewidth=0.8)
        axes.set_xticks([bar * n_steps for bar in range(spec.n_bars)])
        axes.set_xticklabels([str(bar + 1) for bar in range(spec.n_bars)])
        axes.set_xlabel("bar")
        axes.set_ylabel("MIDI pitch")
        axes.set_title(title, fontsize=10)
    legend = [
        Patch(color=TRACK_RGB[t % len(TRACK_RGB)], label=name)
        for t, name in enumerate(spec.track_names)
    ]
    figure.legend(handles=legend, loc="lower center", ncol=len(legend), frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    _save(figure, path)


def save_distributions(
    values: Mapping[str, Mapping[str, NDArray[np.float64]]],
    path: str | os.PathLike[str],
    columns: int = 3,
) -> None:
    """Histograms of per-phrase values: one panel per measure, one outline per source.

    ``values[measure][source]`` holds that source's values (NaN values are left out).
    """
    measures = list(values)
    if not measures:
        raise ValueError("save_distributions: no measures given")
    rows = -(-len(measures) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows))
    for i, measure in enumerate(measures):
        axes = figure.add_subplot(rows, columns, i + 1)
        finite = {s: v[np.isfinite(v)] for s, v in values[measure].items()}
        pooled = np.concatenate([v for v in finite.values() if v.size] or [np.zeros(1)])
        low, high = float(pooled.min()), float(pooled.max())
        bins = np.linspace(low, high if high > low else low + 1, 31).tolist()
        for source, data in finite.items():
            if data.size:
                axes.hist(data, bins=bins, histtype="step", density=True, label=source)
        axes.set_title(measure, fontsize=10)
        axes.tick_params(labelsize=8)
        if i == 0:
            axes.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)
