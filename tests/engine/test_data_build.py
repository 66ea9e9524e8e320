# SPDX-License-Identifier: MIT
"""``barforge data build`` from a folder of MIDI files that the tests write themselves."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.data.build import BuildOptions, add_arguments, build, main, main_from_args
from engine.data.midi_folder import find_midi_files, load_midi_piece
from engine.data.store import MANIFEST_FILE, PHRASES_FILE, PhraseDataset
from engine.data.track_map import load_track_map, preset
from engine.midi.files import write_midi_file
from engine.music import DRUM_CHANNEL, Note, Pattern, TimeSignature, Track

TPQ = 480
BAR = 4 * TPQ
SIXTEENTH = TPQ // 4

# Source tracks: (name, program, is_drum, channel, lowest pitch). Pitched tracks use disjoint
# pitch bands, so merging two of them into one target never has to cut a note.
SOURCE_TRACKS = (
    ("Kit", 0, True, DRUM_CHANNEL, 36),
    ("Bass", 33, False, 1, 36),
    ("Piano", 0, False, 0, 60),
    ("Strings", 48, False, 2, 48),
    ("Lead guitar", 0, False, 3, 72),
)
#: Model tracks under the default map, and which source tracks feed each.
TARGETS = {"Drums": ["Kit"], "Piano": ["Piano", "Lead guitar"], "Guitar": [], "Bass": ["Bass"],
           "Strings": ["Strings"]}  # fmt: skip

Bar = dict[str, list[Note]]  # source track name -> notes, ticks from the bar's start


def random_bar(rng: np.random.Generator) -> Bar:
    """One bar of every source track, on the sixteenth grid, no note crossing the bar line."""
    bar: Bar = {}
    for name, _, is_drum, _, low in SOURCE_TRACKS:
        notes = []
        if is_drum:
            for eighth in range(8):
                notes.append(Note(eighth * 2 * SIXTEENTH, SIXTEENTH, int(rng.choice([36, 38, 42]))))
        else:
            position = int(rng.integers(0, 4)) * SIXTEENTH
            while position < BAR:
                length = min(int(rng.integers(1, 5)) * SIXTEENTH, BAR - position)
                pitch = low + int(rng.integers(0, 12))
                notes.append(Note(position, length, pitch, int(rng.integers(40, 120))))
                position += length + int(rng.integers(0, 3)) * SIXTEENTH
        bar[name] = notes
    return bar


def song(bars: list[Bar], time_signature: TimeSignature | None = None) -> Pattern:
    ts = time_signature or TimeSignature(4, 4)
    bar_ticks = TPQ * 4 * ts.numerator // ts.denominator
    tracks = []
    for name, program, is_drum, channel, _ in SOURCE_TRACKS:
        notes = [
            Note(i * bar_ticks + n.start, min(n.duration, bar_ticks - n.start), n.pitch, n.velocity)
            for i, bar in enumerate(bars)
            for n in bar[name]
            if n.start < bar_ticks
        ]
        tracks.append(Track(name, program, is_drum, channel, notes))
    return Pattern(tracks, n_bars=len(bars), ticks_per_quarter=TPQ, time_signature=ts)


@dataclass
class Folder:
    root: Path
    songs: dict[str, Pattern]  # key (path inside root) -> pattern written


def write_folder(root: Path, seed: int = 1) -> Folder:
    """song_a (8 bars, a note near the top of the pitch axis), sub/Song_B.MIDI (its first four
    bars are bars 2-5 of song_a), song_c (bars 4-7 repeat bars 0-3), a 3/4 file, a corrupt file
    and a text file."""
    rng = np.random.default_rng(seed)
    a = [random_bar(rng) for _ in range(8)]
    a[0]["Strings"] = [Note(0, SIXTEENTH, 105)]  # 2 semitones below the top (107)
    b = a[2:6] + [random_bar(rng) for _ in range(2)]
    c_first = [random_bar(rng) for _ in range(4)]
    c = c_first + c_first + [random_bar(rng) for _ in range(2)]
    songs = {"song_a.mid": song(a), "sub/Song_B.MIDI": song(b), "song_c.mid": song(c)}
    (root / "sub").mkdir(parents=True)
    for key, pattern in songs.items():
        write_midi_file(pattern, root / key)
    write_midi_file(
        song([random_bar(rng) for _ in range(6)], TimeSignature(3, 4)), root / "waltz.mid"
    )
    (root / "sub" / "broken.mid").write_bytes(b"this is not a MIDI file at all")
    (root / "notes.txt").write_text("not music")
    return Folder(root, songs)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return write_folder(tmp_path_factory.mktemp("midi"))


@pytest.fixture(scope="module")
def store(folder: Folder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store")
    build(
        str(folder.root),
        out,
        BuildOptions(valid_fraction=0.34),
        jobs=1,
        progress_stream=io.StringIO(),
    )
    return out


def run_main(source: Path, out: Path, **overrides: object) -> int:
    options: dict[str, Any] = {
        "jobs": 1, "steps_per_beat": 12, "hop_bars": 1, "valid_fraction": 0.34, "seed": 0,
        "track_map": None, "force": False,
    }  # fmt: skip
    options.update(overrides)
    return main(str(source), str(out), **options)


def manifest_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    return data


# --- finding and mapping ---------------------------------------------------------------------


def test_midi_files_are_found_recursively_whatever_the_case(folder: Folder) -> None:
    keys = [key for key, _ in find_midi_files(folder.root)]
    assert keys == ["song_a.mid", "song_c.mid", "sub/Song_B.MIDI", "sub/broken.mid", "waltz.mid"]


def test_default_map_takes_gm_families_and_name_map_takes_names(folder: Folder) -> None:
    path = folder.root / "song_a.mid"
    by_program, info = load_midi_piece(path, preset("programs"))
    assert [t.name for t in by_program.tracks] == ["Drums", "Piano", "Guitar", "Bass", "Strings"]
    assert [t.is_drum for t in by_program.tracks] == [True, False, False, False, False]
    assert [t.program for t in by_program.tracks[1:]] == [0, 24, 32, 48]
    source = folder.songs["song_a.mid"]
    lead = next(t for t in source.tracks if t.name == "Lead guitar")
    piano = next(t for t in source.tracks if t.name == "Piano")
    # "Lead guitar" is on program 0: by program it is a piano, merged with the piano track.
    assert set(by_program.tracks[1].notes) == set(piano.notes) | set(lead.notes)
    assert by_program.tracks[2].notes == ()
    assert info.counts.get("merged_tracks") == 1
    by_name, _ = load_midi_piece(path, preset("names"))
    assert by_name.tracks[2].notes == lead.notes
    assert by_name.tracks[1].notes == piano.notes


def test_a_json_track_map_names_targets_and_counts_unmapped_tracks(
    folder: Folder, tmp_path: Path
) -> None:
    spec = {
        "tracks": [
            {"name": "Beat", "drum": True},
            {"name": "Low", "program": 33, "programs": ["32-39"], "names": ["bass"]},
            {"name": "Lead", "program": 81, "names": ["lead|solo"]},
        ]
    }
    path = tmp_path / "map.json"
    path.write_text(json.dumps(spec))
    pattern, info = load_midi_piece(folder.root / "song_a.mid", load_track_map(str(path)))
    assert [(t.name, t.program, t.is_drum) for t in pattern.tracks] == [
        ("Beat", 0, True), ("Low", 33, False), ("Lead", 81, False),
    ]  # fmt: skip
    assert info.counts["unmapped_tracks"] == 2  # Piano and Strings
    assert any("'Strings'" in line and "program 48" in line for line in info.details)
    out = tmp_path / "store"
    assert run_main(folder.root, out, track_map=str(path)) == 0
    manifest = manifest_of(out)
    assert [t["name"] for t in manifest["tracks"]] == ["Beat", "Low", "Lead"]
    assert manifest["counts"]["unmapped_tracks"] == 6  # 2 in each of 3


def test_a_bad_track_map_stops_the_build_with_its_reason(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "map.json"
    path.write_text('{"tracks": [{"name": "Bass", "programs": ["40-200"]}]}')
    assert run_main(folder.root, tmp_path / "out", track_map=str(path)) == 1
    err = capsys.readouterr().err
    assert "map.json" in err
    assert "'40-200' is not within 0..127" in err
    assert not (tmp_path / "out").exists()


# --- the build ----------------------------------------------------------------------------------


def test_bad_and_non_4_4_files_are_skipped_with_their_reasons(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(folder.root, tmp_path / "out") == 0
    out = capsys.readouterr().out
    assert "waltz.mid: meter 3/4 (only 4/4 is used)" in out
    assert "sub/broken.mid: not a Standard MIDI File" in out
    manifest = manifest_of(tmp_path / "out")
    skipped = {s["path"]: s for s in manifest["skipped"]}
    assert skipped["waltz.mid"]["category"] == "not 4/4"
    assert skipped["sub/broken.mid"]["category"] == "unreadable"
    assert manifest["skipped_by_category"] == {"not 4/4": 1, "unreadable": 1}
    counts = manifest["counts"]
    assert counts["files"] == 5
    assert counts["pieces_kept"] == 3
    assert counts["pieces_skipped"] == 2


def test_manifest_records_inputs_grid_tracks_counts_and_hash(folder: Folder, store: Path) -> None:
    manifest = manifest_of(store)
    assert manifest["format"] == "barforge-phrases"
    assert manifest["format_version"] == 1
    inputs = {i["path"]: i for i in manifest["inputs"]}
    assert sorted(inputs) == [key for key, _ in find_midi_files(folder.root)]
    for key, entry in inputs.items():
        data = (folder.root / key).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["grid"] == {
        "steps_per_beat": 12, "beats_per_bar": 4, "n_steps_per_bar": 48, "n_bars": 4,
        "hop_bars": 1, "ticks_per_quarter": 480,
    }  # fmt: skip
    assert manifest["pitch_range"] == {"lowest": 24, "highest": 107, "n_pitches": 84}
    assert [(t["name"], t["program"], t["is_drum"]) for t in manifest["tracks"]] == [
        ("Drums", 0, True), ("Piano", 0, False), ("Guitar", 24, False), ("Bass", 32, False),
        ("Strings", 48, False),
    ]  # fmt: skip
    options = manifest["options"]
    assert options["hop_bars"] == 1
    assert options["seed"] == 0
    assert options["track_map"]["source"] == "programs"
    data = (store / PHRASES_FILE).read_bytes()
    assert manifest["phrases_sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["phrases_bytes"] == len(data)
    counts = manifest["counts"]
    # 8 + 6 + 10 bars: 5 + 3 + 7 windows of 4 bars at hop 1, none silent.
    assert counts["windows"] == 15
    assert counts["silent_windows"] == 0
    split = manifest["split"]
    assert split["train"]["phrases"] + split["valid"]["phrases"] == counts["phrases"]


def test_exact_duplicates_are_removed_across_and_within_pieces(store: Path) -> None:
    manifest = manifest_of(store)
    counts = manifest["counts"]
    # Song_B's first window is song_a's bars 2-5; song_c's window at bar 4 repeats bar 0.
    assert counts["duplicates_across_pieces"] == 1
    assert counts["duplicates_within_piece"] == 1
    assert counts["phrases"] == 15 - 2
    data = PhraseDataset.load(store)
    starts = {key: sorted(b for i in range(len(data)) for k, b in [data.source_of(i)] if k == key)
              for key in ("song_a.mid", "sub/Song_B.MIDI", "song_c.mid")}  # fmt: skip
    assert starts == {"song_a.mid": [0, 1, 2, 3, 4], "sub/Song_B.MIDI": [1, 2],
                      "song_c.mid": [0, 1, 2, 3, 5, 6]}  # fmt: skip
    frames, onsets = data.rolls(data.indices("all"))
    keys = {(f.tobytes(), o.tobytes()) for f, o in zip(frames, onsets, strict=True)}
    assert len(keys) == len(data)


def test_transposed_copies_count_as_duplicates(tmp_path: Path) -> None:
    # The loader's augmentation would turn one into the other, so only the first is kept.
    rng = np.random.default_rng(7)
    original = song([random_bar(rng) for _ in range(6)])
    source = tmp_path / "midi"
    source.mkdir()
    write_midi_file(original, source / "a.mid")
    write_midi_file(original.transpose(2), source / "b.mid")  # drums stay as they are
    outcome = build(
        str(source), tmp_path / "out", BuildOptions(), jobs=1, progress_stream=io.StringIO()
    )
    counts = outcome.manifest["counts"]
    assert counts["windows"] == 6
    assert counts["duplicates_across_pieces"] == 3
    assert counts["duplicates_transposed"] == 3
    assert [p["n_phrases"] for p in outcome.manifest["pieces"]] == [3, 0]


def test_split_is_by_piece_and_no_validation_phrase_equals_a_training_phrase(
    folder: Folder, tmp_path: Path
) -> None:
    splits = []
    for seed in range(4):
        out = tmp_path / f"seed{seed}"
        outcome = build(
            str(folder.root),
            out,
            BuildOptions(valid_fraction=0.34, seed=seed),
            jobs=1,
            progress_stream=io.StringIO(),
        )
        data = PhraseDataset.load(out)
        train, valid = data.indices("train"), data.indices("valid")
        assert len(train) + len(valid) == len(data)
        assert len(valid) > 0
        train_pieces = {data.source_of(int(i))[0] for i in train}
        valid_pieces = {data.source_of(int(i))[0] for i in valid}
        assert train_pieces.isdisjoint(valid_pieces)
        assert len(valid_pieces) == 1  # round(0.34 * 3)
        frames, onsets = data.rolls(data.indices("all"))
        train_keys = {(frames[i].tobytes(), onsets[i].tobytes()) for i in train}
        assert all((frames[i].tobytes(), onsets[i].tobytes()) not in train_keys for i in valid)
        # ... nor does any transposition of one
        for shift in range(-12, 13):
            low, high = data.shift_limits(valid)
            fits = valid[(low <= shift) & (shift <= high)]
            moved_f, moved_o = data.rolls(fits, shift)
            assert all(
                (f.tobytes(), o.tobytes()) not in train_keys
                for f, o in zip(moved_f, moved_o, strict=True)
            )
        pieces = outcome.manifest["pieces"]
        splits.append(tuple(p["split"] for p in pieces))
        again = build(
            str(folder.root),
            tmp_path / f"again{seed}",
            BuildOptions(valid_fraction=0.34, seed=seed),
            jobs=1,
            progress_stream=io.StringIO(),
        )
        assert [p["split"] for p in again.manifest["pieces"]] == list(splits[-1])
    assert len(set(splits)) > 1  # the seed chooses


def test_phrases_decode_to_the_source_notes_of_their_bars(folder: Folder, store: Path) -> None:
    data = PhraseDataset.load(store)
    assert len(data) == 13
    for index in range(len(data)):
        key, first_bar = data.source_of(index)
        source = folder.songs[key]
        pattern = data.to_pattern(index)
        assert pattern.n_bars == 4
        assert pattern.ticks_per_quarter == TPQ
        assert [t.name for t in pattern.tracks] == list(TARGETS)
        for track in pattern.tracks:
            expected = sorted(
                Note(n.start - first_bar * BAR, n.duration, n.pitch, n.velocity)
                for t in source.tracks
                if t.name in TARGETS[track.name]
                for n in t.notes_between(first_bar * BAR, (first_bar + 4) * BAR)
            )
            assert sorted(track.notes) == expected, (key, first_bar, track.name)


def test_rebuild_is_skipped_from_cache_until_an_input_or_option_changes(
    folder: Folder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "midi"
    shutil.copytree(folder.root, source)
    out = tmp_path / "out"
    assert run_main(source, out) == 0
    assert "built in" in capsys.readouterr().out
    stamp = (out / PHRASES_FILE).stat().st_mtime_ns
    assert run_main(source, out) == 0
    text = capsys.readouterr().out
    assert "up to date, build skipped: same 5 input files (by SHA-256) and same options" in text
    assert (out / PHRASES_FILE).stat().st_mtime_ns == stamp

    changed = folder.songs["song_c.mid"].transpose(1)
    write_midi_file(changed, source / "song_c.mid")
    assert run_main(source, out) == 0
    assert "input files changed (1 changed)" in capsys.readouterr().out
    assert run_main(source, out, hop_bars=2) == 0
    assert "options changed (hop_bars)" in capsys.readouterr().out
    assert manifest_of(out)["counts"]["windows"] == 3 + 2 + 4
    assert run_main(source, out, hop_bars=2, force=True) == 0
    assert "(--force)" in capsys.readouterr().out
    (out / PHRASES_FILE).write_bytes(b"damaged")
    assert run_main(source, out, hop_bars=2) == 0
    assert "the old store is damaged" in capsys.readouterr().out
    PhraseDataset.load(out)


def test_two_processes_give_the_same_phrases_as_one(
    folder: Folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[int | None] = []

    class CountingPool(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None, **kwargs: Any) -> None:
            pools.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr("engine.data.build.ProcessPoolExecutor", CountingPool)
    one = build(
        str(folder.root), tmp_path / "one", BuildOptions(), jobs=1, progress_stream=io.StringIO()
    )
    assert pools == []  # in this process
    two = build(
        str(folder.root), tmp_path / "two", BuildOptions(), jobs=2, progress_stream=io.StringIO()
    )
    assert pools == [2]
    assert (tmp_path / "one" / PHRASES_FILE).read_bytes() == (
        tmp_path / "two" / PHRASES_FILE
    ).read_bytes()
    for key in ("counts", "pieces", "skipped", "inputs", "cache_key", "phrases_sha256"):
        assert one.manifest[key] == two.manifest[key], key


def test_a_missing_or_empty_source_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(tmp_path / "nowhere", tmp_path / "out") == 1
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run_main(tmp_path / "empty", tmp_path / "out") == 1
    assert "no MIDI files" in capsys.readouterr().err
    assert run_main(tmp_path / "empty", tmp_path / "out", valid_fraction=1.0) == 1
    assert "--valid-fraction must be in [0, 1)" in capsys.readouterr().err


def test_add_arguments_parses_the_options_for_main(folder: Folder, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--source", str(folder.root), "--out", str(tmp_path / "o")])
    assert (args.jobs, args.steps_per_beat, args.hop_bars, args.phrase_bars) == (None, 12, 1, 4)
    assert (args.valid_fraction, args.seed, args.track_map, args.force) == (0.1, 0, None, False)
    args = parser.parse_args(
        ["--source", str(folder.root), "--out", str(tmp_path / "o"), "--jobs", "1",
         "--steps-per-beat", "4", "--n-pitches", "60", "--lowest-pitch", "30"]
    )  # fmt: skip
    assert main_from_args(args) == 0
    manifest = manifest_of(tmp_path / "o")
    assert manifest["grid"]["n_steps_per_bar"] == 16
    assert manifest["pitch_range"] == {"lowest": 30, "highest": 89, "n_pitches": 60}
    with pytest.raises(SystemExit):
        parser.parse_args(["--source", "x", "--out", "y", "--valid-fraction", "1.5"])


def test_meter_changes_and_unusable_meters_are_skipped_by_their_events(tmp_path: Path) -> None:
    import mido

    songs = tmp_path / "songs"
    songs.mkdir()
    notes = [
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_off", note=60, velocity=0, time=4),
    ]
    # 4/4 that turns into 3/4, and 3/8 at 1 tick per quarter: a meter the pattern cannot hold,
    # so the reader falls back to 4/4; the build must still see the file is not 4/4.
    for name, tpq, signatures in (
        ("changes.mid", 480, [(4, 4, 0), (3, 4, 1920)]),
        ("odd.mid", 1, [(3, 8, 0)]),
    ):
        midi = mido.MidiFile(type=0, ticks_per_beat=tpq)
        track = mido.MidiTrack(
            mido.MetaMessage("time_signature", numerator=n, denominator=d, time=t)
            for n, d, t in signatures
        )
        track.extend(notes)
        midi.tracks.append(track)
        midi.save(songs / name)
    write_midi_file(
        song([random_bar(np.random.default_rng(5)) for _ in range(4)]), songs / "ok.mid"
    )
    assert run_main(songs, tmp_path / "out") == 0
    skipped = {s["path"]: s for s in manifest_of(tmp_path / "out")["skipped"]}
    assert skipped["changes.mid"]["category"] == "meter changes"
    assert "4/4, 3/4" in skipped["changes.mid"]["reason"]
    assert skipped["odd.mid"]["category"] == "not 4/4"
    assert "ok.mid" not in skipped
