# SPDX-License-Identifier: MIT
"""Report pictures: the roll image's pixels, and PNG files that load back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from engine.pianoroll import PhraseSpec
from engine.plots import TRACK_RGB, roll_image, save_distributions, save_roll_grid

SPEC = PhraseSpec(("Lead", "Bass"), (False, False), (0, 33), 4, 4, 2, 40, 24)


def _phrase() -> tuple[np.ndarray, np.ndarray]:
    frames = np.zeros(SPEC.shape, dtype=bool)
    onsets = np.zeros(SPEC.shape, dtype=bool)
    frames[0, 0, 0:4, 10] = True  # one note, bar 1, steps 0-3, pitch 50
    onsets[0, 0, 0, 10] = True
    frames[1, 1, 2:6, 3] = True  # bar 2, steps 2-5, pitch 43: two repeated notes
    onsets[1, 1, 2, 3] = onsets[1, 1, 4, 3] = True
    return frames, onsets


def test_roll_image_places_notes_by_time_and_pitch() -> None:
    frames, onsets = _phrase()
    image = roll_image(frames, onsets)
    assert image.shape == (24, 32, 3)
    lead, bass = np.array(TRACK_RGB[0]), np.array(TRACK_RGB[1])
    np.testing.assert_allclose(image[10, 1], lead)
    np.testing.assert_allclose(image[10, 0], 0.55 * lead + 0.45)  # the onset is lighter
    np.testing.assert_allclose(image[3, 16 + 3], bass)
    np.testing.assert_allclose(image[3, 16 + 4], 0.55 * bass + 0.45)  # the repeat shows
    silent = np.ones((24, 32), dtype=bool)
    silent[10, 0:4] = silent[3, 18:22] = False
    assert np.all(image[silent] == image[0, 31])


def test_roll_grid_and_distributions_write_pngs(tmp_path: Path) -> None:
    phrase = _phrase()
    rolls = tmp_path / "rolls.png"
    save_roll_grid([phrase, phrase, phrase], ["a", "b", "c"], SPEC, rolls, columns=2)
    picture = imread(rolls)
    assert picture.shape[0] > 300
    assert picture.shape[1] > 600
    assert picture[..., :3].std() > 0.1  # not a blank page

    dist = tmp_path / "dist.png"
    values = {
        "notes per bar": {"real": np.array([1.0, 2.0, np.nan, 4.0]), "model": np.array([np.nan])},
        "UPC": {"real": np.array([3.0, 3.0])},
    }
    save_distributions(values, dist)
    assert imread(dist).shape[1] > 600


def test_roll_grid_wants_a_title_per_phrase(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one title per phrase"):
        save_roll_grid([_phrase()], ["a", "b"], SPEC, tmp_path / "x.png")
