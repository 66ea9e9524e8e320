# SPDX-License-Identifier: MIT
"""A quality regression test of the shipped model: 200 seeded phrases, note lists straight
from ``Composer.generate`` (as the app and the command line get them), against the real
validation chorales' figures that ``barforge pick`` recorded in ``selection.json``.

This is not a timing test. It fails when a change to the model, the decoding or the note
reading makes the voices choppier (more notes, more re-strikes) than the targets allow.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.generation.composer import Composer
from engine.models import DEFAULT_MODEL_RELATIVE, project_root
from engine.note_features import note_features
from engine.pianoroll import pattern_to_roll

N_PHRASES = 200
#: Targets of issue 15: re-strike share within 0.03 of real, notes per bar within 10%.
RESTRIKE_TOLERANCE = 0.03
NPB_TOLERANCE = 0.10
#: Voices whose notes per bar miss the 10% target in the model card's evaluation (1,000
#: phrases), with the relative deviation allowed here: the measured one plus 0.03 for the
#: smaller sample. A model that meets the target on them should drop them from this table.
NPB_KNOWN_MISSES: dict[str, float] = {
    "Alto": 0.11 + 0.03,
    "Tenor": 0.17 + 0.03,
    "Bass": 0.12 + 0.03,
}
SHIPPED = project_root() / DEFAULT_MODEL_RELATIVE

Measured = tuple[dict[str, list[float]], list[str], np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def measured() -> Measured:
    composer = Composer(SHIPPED, device="cpu", warm_up=False)
    frames, onsets = [], []
    for seed in range(N_PHRASES):
        roll = pattern_to_roll(composer.generate(seed).pattern, composer.spec.grid).roll
        frames.append(roll.frames)
        onsets.append(roll.onsets)
    features = note_features(np.stack(frames), np.stack(onsets), composer.spec)
    selection = json.loads((SHIPPED / "selection.json").read_text())
    names = list(composer.spec.track_names)
    return selection["real_validation"], names, features.restrike, features.npb


def test_the_shipped_model_restrikes_held_notes_as_often_as_bach(measured: Measured) -> None:
    real, names, restrike, _ = measured
    for name, model, want in zip(names, restrike, real["restrike"], strict=True):
        assert abs(model - want) <= RESTRIKE_TOLERANCE, (
            f"{name}: {model:.3f} of notes re-strike the pitch just held, real {want:.3f}"
        )


def test_the_shipped_model_writes_as_many_notes_per_bar_as_bach(measured: Measured) -> None:
    real, names, _, npb = measured
    for name, model, want in zip(names, npb, real["notes_per_bar"], strict=True):
        allowed = NPB_KNOWN_MISSES.get(name, NPB_TOLERANCE)
        assert abs(model / want - 1) <= allowed, (
            f"{name}: {model:.2f} notes per bar, real {want:.2f} (allowed {allowed:.0%} off)"
        )
