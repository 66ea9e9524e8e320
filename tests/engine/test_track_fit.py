# SPDX-License-Identifier: MIT
"""Whether a pattern has the tracks a model writes, and the reason when it does not."""

from __future__ import annotations

from engine.generation.track_fit import track_fit_problem
from engine.music import Note, Pattern, Track

NAMES = ("Soprano", "Alto", "Tenor", "Bass")
PITCHED = (False, False, False, False)


def pattern(*tracks: tuple[str, bool]) -> Pattern:
    return Pattern(
        [
            Track(name, 0, is_drum=drum, channel=9 if drum else i, notes=[Note(0, 480, 60)])
            for i, (name, drum) in enumerate(tracks)
        ],
        n_bars=1,
    )


def test_the_models_own_tracks_fit_whatever_the_letter_case() -> None:
    p = pattern(("soprano", False), ("ALTO", False), (" Tenor ", False), ("Bass", False))
    assert track_fit_problem(p, NAMES, PITCHED) is None


def test_a_drum_track_where_the_model_writes_a_voice_is_named() -> None:
    p = pattern(("Drums", True), ("Bass", False), ("Piano", False), ("Flute", False))
    problem = track_fit_problem(p, NAMES, PITCHED, trust_names=True)
    assert problem is not None
    assert "track 1 “Drums” is a drum track" in problem
    assert "pitched notes into a drum track" in problem


def test_a_pitched_track_where_the_model_writes_drums_is_named() -> None:
    p = pattern(("Kick", False), ("Bass", False))
    problem = track_fit_problem(p, ("Drums", "Bass"), (True, False))
    assert problem is not None
    assert "drums into a pitched track" in problem


def test_another_track_count_is_named() -> None:
    problem = track_fit_problem(pattern(("Lead", False), ("Bass", False)), NAMES, PITCHED)
    assert problem is not None
    assert "2 tracks" in problem
    assert "writes 4 (Soprano, Alto, Tenor, Bass)" in problem


def test_other_names_are_refused_unless_the_model_made_the_pattern() -> None:
    p = pattern(("Lead", False), ("Alto", False), ("Tenor", False), ("Bass", False))
    problem = track_fit_problem(p, NAMES, PITCHED)
    assert problem is not None
    assert "track 1 “Lead” would be written as the model's Soprano" in problem
    assert track_fit_problem(p, NAMES, PITCHED, trust_names=True) is None
