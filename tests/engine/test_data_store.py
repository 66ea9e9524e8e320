# SPDX-License-Identifier: MIT
"""The phrase store's loader: rolls, transposition augmentation, patterns, and refusals."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from engine.data.build import BuildOptions, build
from engine.data.store import (
    MANIFEST_FILE,
    PHRASES_FILE,
    DatasetError,
    PhraseDataset,
    npz_bytes,
    sha256_hex,
)
from engine.midi.files import write_midi_file
from engine.music import DRUM_CHANNEL, Note, Pattern, Track

TPQ = 480
BAR = 4 * TPQ
STEP = TPQ // 12  # one step of the default grid (48 a bar)


def _song(seed: int, n_bars: int, top: int | None = None) -> Pattern:
    """Drums on every quarter, a bass and a piano line, all on the grid."""
    rng = np.random.default_rng(seed)
    drums = [Note(q * TPQ, STEP * 3, 36 + 2 * (q % 2)) for q in range(4 * n_bars)]
    bass = [Note(h * 2 * TPQ, 2 * TPQ - STEP, int(rng.integers(36, 48))) for h in range(2 * n_bars)]
    piano = [Note(e * TPQ // 2, TPQ // 2, int(rng.integers(60, 72))) for e in range(8 * n_bars)]
    if top is not None:  # one note near the top of the 24..107 pitch axis, in bar 0
        piano[0] = Note(0, TPQ // 2, top)
    return Pattern(
        (
            Track("Kit", 0, True, DRUM_CHANNEL, drums),
            Track("Bass", 33, False, 1, bass),
            Track("Keys", 4, False, 0, piano),
        ),
        n_bars=n_bars,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("midi")
    write_midi_file(_song(1, 6, top=104), source / "one.mid")  # 3 semitones below 107
    write_midi_file(_song(2, 5), source / "two.mid")
    write_midi_file(_song(3, 5), source / "three.mid")
    out = tmp_path_factory.mktemp("store")
    build(
        str(source), out, BuildOptions(valid_fraction=0.34), jobs=1, progress_stream=io.StringIO()
    )
    return out


@pytest.fixture
def data(store: Path) -> PhraseDataset:
    return PhraseDataset.load(store)


def _copy(store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(store, target)
    return target


def _edit_manifest(folder: Path, change: Any) -> None:
    path = folder / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


# --- what loads ----------------------------------------------------------------------------------


def test_spec_indices_and_roll_shapes(data: PhraseDataset) -> None:
    spec = data.spec
    assert spec.track_names == ("Drums", "Piano", "Guitar", "Bass", "Strings")
    assert spec.is_drum == (True, False, False, False, False)
    assert (spec.n_bars, spec.n_steps_per_bar, spec.lowest_pitch, spec.n_pitches) == (4, 48, 24, 84)
    assert len(data) == 3 + 2 + 2
    train, valid = data.indices("train"), data.indices("valid")
    assert sorted(np.concatenate([train, valid]).tolist()) == data.indices("all").tolist()
    assert len(valid) == 2  # one piece of three, two phrases
    frames, onsets = data.rolls([0, 3, 3])
    assert frames.shape == onsets.shape == (3, *spec.shape)
    assert frames.dtype == onsets.dtype == np.bool_
    assert np.array_equal(frames[1], frames[2])
    assert not np.any(onsets & ~frames)  # every onset sounds
    assert frames[:, 0].any()
    assert frames[:, 1].any()
    assert frames[:, 3].any()
    assert not frames[:, 2].any()
    assert not frames[:, 4].any()
    with pytest.raises(ValueError, match="split must be one of"):
        data.indices("test")
    with pytest.raises(IndexError):
        data.rolls([len(data)])


def test_to_pattern_gives_back_the_source_notes(data: PhraseDataset) -> None:
    index = next(i for i in range(len(data)) if data.source_of(i) == ("one.mid", 1))
    pattern = data.to_pattern(index)
    source = _song(1, 6, top=104)
    keys = next(t for t in pattern.tracks if t.name == "Piano")
    expected = [
        Note(n.start - BAR, n.duration, n.pitch, n.velocity)
        for n in source.tracks[2].notes_between(BAR, 5 * BAR)
    ]
    assert list(keys.notes) == expected
    assert pattern.tracks[0].is_drum
    assert pattern.tracks[0].channel == DRUM_CHANNEL
    assert [len(p.tracks) for p in data.patterns([0, 1])] == [5, 5]


def test_transposition_moves_pitched_tracks_and_leaves_drums(data: PhraseDataset) -> None:
    indices = data.indices("all")
    frames, onsets = data.rolls(indices)
    moved_f, moved_o = data.rolls(indices, transpose=-3)
    assert np.array_equal(moved_f[:, 0], frames[:, 0])  # drums stay
    assert np.array_equal(moved_f[:, 1:, ..., :-3], frames[:, 1:, ..., 3:])
    assert not moved_f[:, 1:, ..., -3:].any()
    assert np.array_equal(moved_o[:, 3, ..., :-3], onsets[:, 3, ..., 3:])
    shifts = np.arange(len(indices)) % 3 - 1
    per_phrase, _ = data.rolls(indices, transpose=shifts)
    for i, shift in enumerate(shifts):
        expected, _ = data.rolls([indices[i]], transpose=int(shift))
        assert np.array_equal(per_phrase[i], expected[0])


def test_shifts_that_leave_the_pitch_range_are_refused(data: PhraseDataset) -> None:
    top = [i for i in range(len(data)) if data.source_of(i) == ("one.mid", 0)]
    low, high = data.shift_limits(top)
    assert high.tolist() == [3]  # 104 + 3 = 107, the top of the axis
    source = _song(1, 6, top=104)
    lowest = min(n.pitch for t in source.tracks[1:] for n in t.notes_between(0, 4 * BAR))
    assert low.tolist() == [-(lowest - 24)]  # the lowest note may fall to 24, no further
    data.rolls(top, transpose=3)
    with pytest.raises(ValueError, match=r"transposing phrase \d+ by 4 semitones"):
        data.rolls(top, transpose=4)
    with pytest.raises(ValueError, match="whole semitones"):
        data.rolls(top, transpose=0.5)


def test_sample_batch_applies_only_shifts_that_fit(data: PhraseDataset) -> None:
    rng = np.random.default_rng(0)
    seen: set[int] = set()
    for _ in range(30):
        batch = data.sample_batch("train", 4, rng, transpose_range=(-5, 5))
        assert batch.frames.shape == (4, *data.spec.shape)
        assert len(set(batch.indices.tolist())) == 4  # without replacement: 5 to choose from
        assert set(batch.indices.tolist()) <= set(data.indices("train").tolist())
        low, high = data.shift_limits(batch.indices)
        assert np.all(batch.shifts >= np.maximum(low, -5))
        assert np.all(batch.shifts <= np.minimum(high, 5))
        plain, _ = data.rolls(batch.indices)
        assert np.array_equal(batch.frames[:, 0], plain[:, 0])  # drums never move
        expected, _ = data.rolls(batch.indices, batch.shifts)
        assert np.array_equal(batch.frames, expected)
        seen.update(batch.shifts.tolist())
    assert seen == set(range(-5, 6))
    big = data.sample_batch("valid", 9, rng, transpose_range=(0, 0))
    assert not big.shifts.any()
    assert len(big.indices) == 9  # with replacement: the split holds 2


# --- what is refused --------------------------------------------------------------------------


def _refused(folder: Path, *fragments: str) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        PhraseDataset.load(folder)
    message = str(caught.value)
    assert str(folder) in message
    for fragment in fragments:
        assert fragment in message
    return caught.value


def test_missing_folder_manifest_or_phrases(store: Path, tmp_path: Path) -> None:
    _refused(tmp_path / "nowhere", "no such folder")
    copy = _copy(store, tmp_path)
    (copy / PHRASES_FILE).unlink()
    _refused(copy, "phrases.npz is missing", "rebuild with --force")
    (copy / MANIFEST_FILE).unlink()
    _refused(copy, "no manifest.json")


def test_corrupt_or_replaced_phrases_are_refused(store: Path, tmp_path: Path) -> None:
    copy = _copy(store, tmp_path)
    data = bytearray((copy / PHRASES_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / PHRASES_FILE).write_bytes(bytes(data))
    _refused(copy, "phrases.npz does not match manifest.json", "changed or is corrupt")
    # Garbage whose hash the manifest agrees with: the archive itself cannot be read.
    garbage = b"PK\x03\x04 not really a zip"
    (copy / PHRASES_FILE).write_bytes(garbage)
    _edit_manifest(copy, lambda m: m.update(phrases_sha256=sha256_hex(garbage)))
    error = _refused(copy, "cannot read phrases.npz")
    assert "BadZipFile" in error.reason


def test_arrays_that_disagree_with_the_manifest_are_refused(store: Path, tmp_path: Path) -> None:
    copy = _copy(store, tmp_path)
    with np.load(copy / PHRASES_FILE, allow_pickle=False) as archive:
        good = {name: archive[name] for name in archive.files}
    arrays = dict(good)
    arrays.pop("phrase_split")
    data = npz_bytes(arrays)
    (copy / PHRASES_FILE).write_bytes(data)
    _edit_manifest(copy, lambda m: m.update(phrases_sha256=sha256_hex(data)))
    _refused(copy, "lacks the array 'phrase_split'")
    arrays = dict(good)
    arrays["note_pitch"] = arrays["note_pitch"] + 100  # beyond the 84 pitches
    data = npz_bytes(arrays)
    (copy / PHRASES_FILE).write_bytes(data)
    _edit_manifest(copy, lambda m: m.update(phrases_sha256=sha256_hex(data)))
    _refused(copy, "a note lies outside its phrase, tracks or pitch range")


def test_another_format_version_or_a_garbled_manifest_is_refused(
    store: Path, tmp_path: Path
) -> None:
    copy = _copy(store, tmp_path)
    _edit_manifest(copy, lambda m: m.update(format_version=99))
    _refused(copy, "format version 99", "reads version 1", "rebuild with --force")
    _edit_manifest(copy, lambda m: m.update(format_version=1))
    _edit_manifest(copy, lambda m: m.pop("pitch_range"))
    _refused(copy, "manifest.json lacks or garbles a field")
    (copy / MANIFEST_FILE).write_text("{ not json")
    _refused(copy, "manifest.json is not valid JSON")
    (copy / MANIFEST_FILE).write_text('{"format": "something else"}')
    _refused(copy, "does not describe a barforge-phrases store")


def test_npz_bytes_are_reproducible_and_hold_no_pickles(tmp_path: Path) -> None:
    arrays: dict[str, NDArray[Any]] = {
        "b": np.arange(5, dtype=np.int32),
        "a": np.ones(3, dtype=np.uint8),
    }
    first = npz_bytes(arrays)
    assert first == npz_bytes(dict(reversed(arrays.items())))
    path = tmp_path / "x.npz"
    path.write_bytes(first)
    with np.load(path, allow_pickle=False) as loaded:
        assert sorted(loaded.files) == ["a", "b"]
        assert np.array_equal(loaded["b"], arrays["b"])
