# SPDX-License-Identifier: MIT
"""Bach chorales from music21's corpus: the first five files, and the measure layout rules."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from engine.data.build import BuildOptions, build
from engine.data.chorales import VOICES, chorale_files, load_chorale, place_measures
from engine.data.phrases import PieceSkipped
from engine.data.store import PhraseDataset

#: Voice ranges (MIDI) over every chorale in the corpus (platform notes; soprano measured
#: down to 57 in one chorale).
RANGES = {"Soprano": (57, 81), "Alto": (53, 74), "Tenor": (48, 69), "Bass": (36, 64)}

Q = Fraction


def test_place_measures_pads_the_pickup_and_joins_split_bars() -> None:
    # pickup of 1 beat, two full bars, a bar split 3 + 1 (at a repeat), a short last bar
    durations = [Q(1), Q(4), Q(4), Q(3), Q(1), Q(4), Q(3)]
    starts = place_measures(durations, [str(i) for i in range(7)])
    assert starts == [Q(3), Q(4), Q(8), Q(12), Q(15), Q(16), Q(20)]
    assert place_measures([Q(4), Q(4)], ["1", "2"]) == [Q(0), Q(4)]


def test_place_measures_refuses_measures_that_do_not_fit_bars() -> None:
    with pytest.raises(PieceSkipped, match="measure 7 lasts 10 beats"):
        place_measures([Q(4), Q(10)], ["6", "7"])
    with pytest.raises(PieceSkipped) as caught:
        place_measures([Q(1), Q(4), Q(1), Q(4)], ["0", "1", "21", "22"])
    assert caught.value.category == "measures do not fit 4/4 bars"
    assert "measure 22 (4 beats) starts 1 beats into a bar" in caught.value.reason


def test_chorale_files_come_from_the_bach_corpus_without_second_encodings() -> None:
    files, left_out = chorale_files()
    keys = [f.key for f in files]
    assert len(keys) >= 400  # 409 in music21 10.5
    assert keys == sorted(keys)
    assert "bach/bwv66.6.mxl" in keys  # not in Riemenschneider's list, still a chorale
    assert not any(k.endswith(".rntxt") or "bwv846" in k for k in keys)
    assert [(k, s.category) for k, s in left_out] == [
        ("bach/bwv277.krn", "second encoding"),
        ("bach/bwv281.krn", "second encoding"),
        ("bach/bwv366.krn", "second encoding"),
    ]


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhraseDataset, str]:
    out = tmp_path_factory.mktemp("chorales")
    stderr = io.StringIO()
    build("chorales", out, BuildOptions(limit=5), jobs=1, progress_stream=stderr)
    return PhraseDataset.load(out), stderr.getvalue()


def test_five_chorales_make_four_voice_phrases_of_four_bars(
    five: tuple[PhraseDataset, str],
) -> None:
    data, progress = five
    assert "reading chorales 5/5 100%" in progress
    assert data.spec.track_names == VOICES
    assert data.spec.programs == (52, 52, 52, 52)
    assert data.spec.shape == (4, 4, 48, 64)
    assert data.spec.lowest_pitch == 28
    manifest = data.manifest
    assert [s["path"] for s in manifest["skipped"]] == ["bach/bwv1.6.mxl"]
    assert manifest["skipped"][0]["reason"].startswith("5 parts (Horn 2, Soprano")
    assert [p["path"] for p in manifest["pieces"]] == [
        "bach/bwv10.7.mxl",
        "bach/bwv101.7.mxl",
        "bach/bwv102.7.mxl",
        "bach/bwv103.6.mxl",
    ]
    frames, _ = data.rolls(data.indices("all"))
    assert frames.shape[1:] == (4, 4, 48, 64)
    for track, voice in enumerate(VOICES):
        sounding = np.flatnonzero(frames[:, track].any(axis=(0, 1, 2)))
        low, high = RANGES[voice]
        assert low <= 28 + sounding.min()
        assert 28 + sounding.max() <= high
    # every phrase has all four voices somewhere
    assert frames.any(axis=(2, 3, 4)).all()


def test_a_pickup_is_padded_so_that_bars_are_the_measures(
    five: tuple[PhraseDataset, str],
) -> None:
    data, _ = five
    pieces = {p["path"]: p for p in data.manifest["pieces"]}
    assert pieces["bach/bwv101.7.mxl"]["pickup_beats"] == 1.0
    assert pieces["bach/bwv10.7.mxl"]["pickup_beats"] == 0.0
    index = next(i for i in range(len(data)) if data.source_of(i) == ("bach/bwv101.7.mxl", 0))
    frames, onsets = data.rolls([index])
    # Bar 0: three beats of silence, then the upbeat on beat 4 (steps 36..47) in every voice.
    assert not frames[0, :, 0, :36].any()
    assert onsets[0, :, 0, 36].any(axis=-1).all()
    # Bar 1 (measure 1) starts with a chord of all four voices.
    assert onsets[0, :, 1, 0].any(axis=-1).all()


def test_a_chorale_becomes_one_note_per_tied_pair(tmp_path: Path) -> None:
    files, _ = chorale_files()
    path = next(f.path for f in files if f.key == "bach/bwv10.7.mxl")
    pattern, info = load_chorale(path)
    assert [t.name for t in pattern.tracks] == list(VOICES)
    assert pattern.ticks_per_quarter == 480
    assert info.pickup_beats == 0.0
    assert info.counts["ties_joined"] > 0
    from music21 import converter, note, stream

    score = converter.parseFile(str(path), forceSource=True, storePickle=False)
    assert isinstance(score, stream.Score)
    for track, part in zip(pattern.tracks, score.parts, strict=True):
        expected = sorted(
            (round(Fraction(n.offset) * 480), round(Fraction(n.quarterLength) * 480), n.pitch.midi)
            for n in part.stripTies().flatten().getElementsByClass(note.Note)
        )
        assert sorted((n.start, n.duration, n.pitch) for n in track.notes) == expected
