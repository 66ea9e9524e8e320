# SPDX-License-Identifier: MIT
"""The project file: exact round trips, atomic saving, and a clear error for every bad file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.generation.settings import Locks, OutputSettings, Provenance
from engine.history import MAX_SEED, Document
from engine.music import DRUM_CHANNEL, MAX_TEMPO_US, Note, Pattern, TimeSignature, Track
from engine.project import (
    MAX_PROJECT_BYTES,
    PROJECT_FORMAT,
    PROJECT_VERSION,
    Project,
    ProjectFileError,
    TrackState,
    load_project,
    project_from_json,
    project_to_dict,
    project_to_json,
    save_project,
)

REPO = Path(__file__).resolve().parents[2]


def example_project() -> Project:
    pattern = Pattern(
        [
            Track("Piano", 0, False, 0, [Note(0, 480, 60, 100), Note(480, 480, 64, 80)]),
            Track("Bass", 33, False, 1, [Note(0, 960, 36, 90)]),
            Track("Drums", 0, True, DRUM_CHANNEL, [Note(0, 60, 36), Note(960, 60, 38, 127)]),
        ],
        n_bars=2,
        time_signature=TimeSignature(3, 4),
        tempo_us=600_000,
    )
    provenance = Provenance(
        model_id="tiny-0123",
        seed=7,
        n_bars=2,
        bar_inputs=np.linspace(-1, 1, 24, dtype=np.float32).reshape(3, 2, 4),
        settings=OutputSettings(temperature=0.8),
        sampling_seed=11,
        history=({"op": "generate", "seed": 7, "n_bars": 2},),
        locks=Locks(bars=[1]),
    )
    document = Document(
        pattern,
        Locks([(0, Note(0, 480, 60, 100))], bars=[0], tracks=[2]),
        provenance,
        7,
        OutputSettings(key="D minor", velocity="humanize"),
    )
    states = (
        TrackState(colour="#E06C75"),
        TrackState(mute=True),
        TrackState(solo=True, lock=True, colour="#00ff00"),
    )
    return Project(document, states, (7, 42, MAX_SEED), {"zoom": 1.5, "scroll": [0, 120]})


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- round trips -----------------------------------------------------------------------------


def test_a_project_survives_saving_and_loading(tmp_path: Path) -> None:
    project = example_project()
    path = tmp_path / "song.barforge"
    save_project(project, path)
    loaded = load_project(path)
    assert loaded == project
    assert loaded.document.provenance is not None
    assert project.document.provenance is not None
    np.testing.assert_array_equal(
        loaded.document.provenance.bar_inputs, project.document.provenance.bar_inputs
    )
    assert loaded.track_states[0].colour == "#e06c75"  # stored in lower case
    assert os.listdir(tmp_path) == ["song.barforge"]


def test_the_file_is_readable_json_with_one_note_per_line(tmp_path: Path) -> None:
    path = tmp_path / "song.barforge"
    save_project(example_project(), path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == PROJECT_FORMAT
    assert data["version"] == PROJECT_VERSION
    assert data["pattern"]["tracks"][0]["notes"] == [[0, 480, 60, 100], [480, 480, 64, 80]]
    assert data["pattern"]["tracks"][2]["is_drum"] is True
    assert data["seeds"] == {"current": 7, "favourites": [7, 42, MAX_SEED]}
    assert "[480, 480, 64, 80]" in [line.strip() for line in text.splitlines()]
    assert data == project_to_dict(example_project())


def test_text_beyond_ascii_is_written_as_utf8(tmp_path: Path) -> None:
    project = example_project()
    pattern = project.document.pattern
    renamed = pattern.with_track(0, Track("Klavier \u00e9\u266b", notes=pattern.tracks[0].notes))
    project = Project(
        Document(renamed), project.track_states, view={"note": "\u00fcber \u2028 line"}
    )
    path = tmp_path / "song.barforge"
    save_project(project, path)
    assert "Klavier \u00e9\u266b".encode() in path.read_bytes()
    assert load_project(path) == project


SIGNATURES = [(4, 4), (3, 4), (6, 8), (7, 8), (5, 4), (2, 2), (1, 1)]


@st.composite
def patterns(draw: st.DrawFn) -> Pattern:
    numerator, denominator = draw(st.sampled_from(SIGNATURES))
    tpq = draw(st.sampled_from([2, 24, 96, 480, 960]))
    n_bars = draw(st.integers(1, 3))
    length = n_bars * tpq * 4 * numerator // denominator
    tracks = []
    for _ in range(draw(st.integers(0, 3))):
        channel = draw(st.integers(0, 15))
        by_pitch: dict[int, list[Note]] = {}
        for _ in range(draw(st.integers(0, 10))):
            start = draw(st.integers(0, length - 1))
            note = Note(
                start,
                draw(st.integers(1, length - start)),
                draw(st.integers(0, 127)),
                draw(st.integers(1, 127)),
            )
            if all(
                n.end <= note.start or note.end <= n.start for n in by_pitch.get(note.pitch, [])
            ):
                by_pitch.setdefault(note.pitch, []).append(note)
        notes = [n for group in by_pitch.values() for n in group]
        name = draw(st.text(max_size=8))
        tracks.append(
            Track(name, draw(st.integers(0, 127)), channel == DRUM_CHANNEL, channel, notes)
        )
    return Pattern(
        tracks,
        n_bars,
        tpq,
        TimeSignature(numerator, denominator),
        draw(st.integers(1, MAX_TEMPO_US)),
    )


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
SEEDS = st.integers(0, MAX_SEED)


@st.composite
def projects(draw: st.DrawFn) -> Project:
    pattern = draw(patterns())
    n_tracks = len(pattern.tracks)
    locked_notes = [
        (t, n) for t, track in enumerate(pattern.tracks) for n in track.notes if draw(st.booleans())
    ]
    locks = Locks(
        locked_notes,
        draw(st.frozensets(st.integers(0, pattern.n_bars - 1))),
        draw(st.frozensets(st.integers(0, max(n_tracks - 1, 0)))),
    )
    provenance = None
    if draw(st.booleans()):
        shape = (max(n_tracks, 1), pattern.n_bars, 3)
        n_values = shape[0] * shape[1] * shape[2]
        floats = st.floats(width=32, allow_nan=False)
        values = draw(st.lists(floats, min_size=n_values, max_size=n_values))
        provenance = Provenance(
            model_id=draw(st.text(max_size=8)),
            seed=draw(SEEDS),
            n_bars=pattern.n_bars,
            bar_inputs=np.array(values, dtype=np.float32).reshape(shape),
            settings=OutputSettings(),
            sampling_seed=draw(SEEDS),
            history=({"op": "generate", "seed": 1},),
        )
    output = OutputSettings(
        threshold=draw(st.floats(0.01, 0.99)),
        temperature=draw(st.floats(0, 10)),
        min_note_steps=draw(st.integers(1, 8)),
        velocity=draw(st.sampled_from(["fixed", "humanize"])),
        base_velocity=draw(st.integers(1, 127)),
        key=draw(st.sampled_from([None, "C", "F# minor", "Bb dorian"])),
    )
    document = Document(pattern, locks, provenance, draw(st.none() | SEEDS), output)
    colours = st.none() | st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)
    states = tuple(
        TrackState(draw(st.booleans()), draw(st.booleans()), draw(st.booleans()), draw(colours))
        for _ in range(n_tracks)
    )
    favourites = tuple(draw(st.lists(SEEDS, max_size=4)))
    view = draw(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4))
    return Project(document, states, favourites, view)


@settings(max_examples=150, deadline=None)
@given(projects())
def test_any_project_survives_the_json_round_trip(project: Project) -> None:
    text = project_to_json(project)
    loaded = project_from_json(text)
    assert loaded == project
    assert project_to_json(loaded) == text


# --- atomic saving ---------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is a POSIX resource limit")
def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    # A real failure in the middle of writing: the child process may not write files larger
    # than 4 KiB, and the new project is far larger, so the write stops with EFBIG.
    path = tmp_path / "song.barforge"
    save_project(example_project(), path)
    old = path.read_bytes()
    assert len(old) < 4096
    child = textwrap.dedent(
        """
        import resource, signal, sys
        from engine.history import Document
        from engine.music import Note, Pattern, Track
        from engine.project import Project, ProjectFileError, save_project

        notes = [Note(i, 1, 60 + i % 12) for i in range(0, 7680, 2)]
        project = Project.from_document(Document(Pattern([Track("big", notes=notes)])))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
        try:
            save_project(project, sys.argv[1])
        except ProjectFileError as e:
            print("ProjectFileError:", e)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child, str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.startswith(f"ProjectFileError: {path}: cannot write"), result.stderr
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["song.barforge"]
    assert load_project(path) == example_project()


def test_saving_into_a_missing_folder_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "song.barforge"
    with pytest.raises(ProjectFileError, match="cannot write") as info:
        save_project(example_project(), path)
    assert info.value.path == str(path)


def test_a_view_json_cannot_hold_is_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "song.barforge"
    save_project(example_project(), path)
    old = path.read_bytes()
    project = example_project()
    for view in ({"zoom": float("nan")}, {"zoom": {1, 2}}, {"nested": {3: "x"}}):
        bad = Project(project.document, project.track_states, view=view)
        with pytest.raises(ProjectFileError, match="cannot save this project"):
            save_project(bad, path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["song.barforge"]


# --- bad files -------------------------------------------------------------------------------


def test_a_missing_file_or_a_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope.barforge"
    with pytest.raises(ProjectFileError, match="No such file") as info:
        load_project(missing)
    assert str(info.value).startswith(f"{missing}: ")
    with pytest.raises(ProjectFileError, match="folder"):
        load_project(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.barforge"
    os.mkfifo(fifo)
    with pytest.raises(ProjectFileError, match="not a regular file"):
        load_project(fifo)


def test_a_file_above_the_size_cap_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.barforge"
    with open(path, "wb") as f:
        f.truncate(MAX_PROJECT_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(ProjectFileError, match="above the 64 MiB limit") as info:
        load_project(path)
    assert info.value.path == str(path)
    small = write_json(tmp_path / "small.barforge", project_to_dict(example_project()))
    with pytest.raises(ProjectFileError, match="limit"):
        load_project(small, max_bytes=100)


def test_not_utf8_and_not_json(tmp_path: Path) -> None:
    latin = tmp_path / "latin.barforge"
    latin.write_bytes(b'{"format": "barforge-project", "x": "\xe9"}')
    with pytest.raises(ProjectFileError, match=r"not UTF-8 text \(byte 0xe9 at offset 37\)"):
        load_project(latin)
    broken = tmp_path / "broken.barforge"
    broken.write_text('{"format": "barforge-project",', encoding="utf-8")
    with pytest.raises(ProjectFileError, match="not JSON"):
        load_project(broken)
    with_bom = tmp_path / "bom.barforge"
    with_bom.write_bytes(b"\xef\xbb\xbf" + project_to_json(example_project()).encode())
    assert load_project(with_bom) == example_project()


def good() -> dict[str, Any]:
    return project_to_dict(example_project())


def bad(edit: Any) -> dict[str, Any]:
    data = good()
    edit(data)
    return data


def _set(path: str, value: Any) -> Any:
    """An edit that sets the item at ``path`` ("a.b[2].c") of the file's JSON to ``value``."""

    def edit(data: Any) -> None:
        *parents, last = path.replace("[", ".[").split(".")
        for part in parents:
            data = data[int(part[1:-1])] if part.startswith("[") else data[part]
        key: Any = int(last[1:-1]) if last.startswith("[") else last
        if value is DELETE:
            del data[key]
        else:
            data[key] = value

    return edit


DELETE = object()

BAD_FILES = [
    ([1, 2], "not a Barforge project: the file holds a JSON array"),
    (bad(_set("format", "musescore")), "not a Barforge project (format 'musescore'"),
    (bad(_set("format", DELETE)), "not a Barforge project (no format field"),
    (bad(_set("version", 3)), "the project was saved by a newer Barforge (format version 3"),
    (bad(_set("version", "1")), "version: expected an integer >= 1, got '1'"),
    (bad(_set("pattern", DELETE)), "pattern: missing"),
    (bad(_set("colour", "#fff")), "colour: unknown field"),
    (bad(_set("pattern.tempo_us", 0)), "pattern.tempo_us: 0 is out of range 1..16777215"),
    (bad(_set("pattern.n_bars", 2.0)), "pattern.n_bars: expected an integer, got 2.0"),
    (bad(_set("pattern.n_bars", 10**6)), "pattern.n_bars: 1000000 is out of range 1..10000"),
    (
        bad(_set("pattern.time_signature.denominator", 3)),
        "pattern.time_signature: TimeSignature.denominator",
    ),
    (bad(_set("pattern.tracks", {})), "pattern.tracks: expected an array, got object"),
    (
        bad(_set("pattern.tracks[1].program", 128)),
        "pattern.tracks[1].program: 128 is out of range 0..127",
    ),
    (
        bad(_set("pattern.tracks[1].name", 5)),
        "pattern.tracks[1].name: expected a string, got number",
    ),
    (
        bad(_set("pattern.tracks[1].mute", 0)),
        "pattern.tracks[1].mute: expected true or false, got 0",
    ),
    (
        bad(_set("pattern.tracks[2].notes", None)),
        "pattern.tracks[2].notes: expected an array, got null",
    ),
    (
        bad(_set("pattern.tracks[2].colour", "red")),
        'pattern.tracks[2].colour: expected "#rrggbb" or null',
    ),
    (bad(_set("pattern.tracks[2].lock", DELETE)), "pattern.tracks[2].lock: missing"),
    (
        bad(_set("pattern.tracks[2].notes[1]", [0, 60, 200, 100])),
        "pattern.tracks[2].notes[1]: pitch 200 is out of range 0..127",
    ),
    (
        bad(_set("pattern.tracks[2].notes[1]", [0, 0, 36, 100])),
        "pattern.tracks[2].notes[1]: duration 0 is below 1",
    ),
    (
        bad(_set("pattern.tracks[2].notes[1]", [0, 60, 36, 1.5])),
        "pattern.tracks[2].notes[1]: velocity must be an integer, got 1.5",
    ),
    (
        bad(_set("pattern.tracks[2].notes[1]", [0, 60, 36])),
        "pattern.tracks[2].notes[1]: expected [start, duration, pitch, velocity], got [0, 60, 36]",
    ),
    (
        bad(_set("pattern.tracks[2].notes[1]", [0, 30, 36, 100])),
        "pattern.tracks[2]: Track.notes: two notes of pitch 36 overlap",
    ),
    (bad(_set("pattern.tracks[2].channel", 3)), "pattern.tracks[2]: Track.channel: drum tracks"),
    (
        bad(_set("pattern.tracks[0].notes[1]", [5000, 480, 64, 80])),
        "pattern: Pattern.n_bars: track 'Piano' has a note ending",
    ),
    (bad(_set("seeds.current", -1)), "seeds.current: -1 is out of range 0..9223372036854775807"),
    (bad(_set("seeds.favourites[1]", "42")), 'seeds.favourites[1]: expected an integer, got "42"'),
    (
        bad(_set("locks.notes[0]", [0, 0, 480, 60])),
        "locks.notes[0]: expected [track, start, duration, pitch, velocity]",
    ),
    (
        bad(_set("locks.notes[0]", [-1, 0, 480, 60, 100])),
        "locks.notes[0]: track must be an integer >= 0",
    ),
    (bad(_set("locks.bars", [0, -2])), "locks.bars[1]: -2 is below 0"),
    (bad(_set("provenance.seed", None)), "provenance.seed: expected an integer, got null"),
    (bad(_set("provenance.extra", 1)), "provenance.extra: unknown field"),
    (bad(_set("provenance.history[0]", 3)), "provenance.history[0]: expected an object"),
    (bad(_set("provenance.locks.bars", [True])), "provenance.locks.bars[0]: expected an integer"),
    (bad(_set("provenance.settings.key", "H")), "provenance: key 'H'"),
    (
        bad(_set("provenance.bar_inputs", {"shape": [2], "float32_base64": "AAAA"})),
        "provenance: encoded array",
    ),
    (bad(_set("provenance", [])), "provenance: expected an object, got array"),
    (bad(_set("settings.threshold", 2)), "settings: OutputSettings.threshold must be in (0, 1)"),
    (bad(_set("settings.speed", 2)), "settings: OutputSettings: unknown field(s) speed"),
    (bad(_set("view", [])), "view: expected an object, got array"),
]


@pytest.mark.parametrize(("data", "reason"), BAD_FILES, ids=[r for _, r in BAD_FILES])
def test_each_bad_field_is_named(tmp_path: Path, data: Any, reason: str) -> None:
    path = write_json(tmp_path / "bad.barforge", data)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert info.value.path == str(path)
    assert info.value.reason.startswith(reason), info.value.reason
    assert str(info.value) == f"{path}: {info.value.reason}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"format": "barforge-project", "format": "x"}', "the key 'format' appears twice"),
        ('{"n": NaN}', "NaN is not a number JSON allows"),
        ('{"n": 1e999}', "1e999 is too large"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('"just a string"', "the file holds a JSON string"),
    ],
)
def test_json_that_python_accepts_but_a_project_must_not(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "odd.barforge"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProjectFileError, match=reason.replace("(", r"\(")) as info:
        load_project(path)
    assert info.value.path == str(path)


def test_the_example_file_is_valid_before_each_edit() -> None:
    # The bad-file cases edit this one; it must load, or they would test nothing.
    assert project_from_json(json.dumps(good())) == example_project()


# --- the dataclasses -------------------------------------------------------------------------


def test_track_states_and_projects_check_their_fields() -> None:
    with pytest.raises(ValueError, match=r"TrackState\.colour"):
        TrackState(colour="#12345")
    with pytest.raises(ValueError, match=r"TrackState\.mute"):
        TrackState(mute=1)  # type: ignore[arg-type]
    document = example_project().document
    with pytest.raises(ValueError, match="2 states for 3 tracks"):
        Project(document, (TrackState(), TrackState()))
    with pytest.raises(ValueError, match="favourites"):
        Project.from_document(document, favourites=[-1])
    with pytest.raises(ValueError, match="view"):
        Project(document, (TrackState(),) * 3, view={1: "x"})  # type: ignore[dict-item]
    fresh = Project.from_document(document, favourites=[3], view={"zoom": 2})
    assert fresh.track_states == (TrackState(),) * 3
    assert fresh.favourites == (3,)


def test_the_example_in_the_format_document_is_a_valid_project() -> None:
    text = (REPO / "docs" / "project-format.md").read_text(encoding="utf-8")
    example = text.split("## Example\n\n```json\n", 1)[1].split("```", 1)[0]
    project = project_from_json(example)
    assert [t.name for t in project.document.pattern.tracks] == ["Piano", "Drums"]
    assert project_from_json(project_to_json(project)) == project
