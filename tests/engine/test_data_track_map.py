# SPDX-License-Identifier: MIT
"""Track maps: MuseGAN's families by program, by name, and from a JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.data.track_map import TrackMapError, load_track_map, parse_track_map, preset
from engine.music import DRUM_CHANNEL, Track


def pitched(name: str, program: int) -> Track:
    return Track(name, program, False, 0)


def test_default_map_covers_every_program_in_musegan_families() -> None:
    families = load_track_map(None)
    names = [t.name for t in families.targets]
    assert names == ["Drums", "Piano", "Guitar", "Bass", "Strings"]
    expected = ["Piano"] * 24 + ["Guitar"] * 8 + ["Bass"] * 8 + ["Strings"] * 88
    got = [names[families.assign(pitched("x", p)) or 0] for p in range(128)]
    assert got == expected  # nothing melodic is dropped
    assert families.assign(Track("Bass drum", 32, True, DRUM_CHANNEL)) == 0
    assert families.assign(pitched("Drums", 0)) == 1  # a pitched track is never a drum target
    assert families.channels() == (DRUM_CHANNEL, 0, 1, 2, 3)


def test_name_map_looks_at_names_first() -> None:
    names = preset("names")
    target = [t.name for t in names.targets]

    def where(name: str, program: int = 0) -> str:
        index = names.assign(pitched(name, program))
        assert index is not None
        return target[index]

    assert where("Lead guitar") == "Guitar"
    assert where("Bass Guitar") == "Bass"
    assert where("Fretless BASS", 80) == "Bass"
    assert where("Bassoon", 70) == "Strings"  # not a bass: by program, 70 is a reed
    assert where("Contrabass") == "Strings"
    assert where("Electric keys", 30) == "Piano"
    assert where("Cello section") == "Strings"
    assert where("Melody", 26) == "Guitar"  # no name matches: by program


def test_json_map_with_ranges_names_and_a_catch_all(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(
        json.dumps(
            {
                "tracks": [
                    {"name": "Kit", "drum": True},
                    {"name": "Low", "programs": ["32-39", 43, [58, 58]]},
                    {"name": "Vox", "program": 52, "names": ["voc|vox|sing"]},
                    {"name": "Rest"},
                ]
            }
        )
    )
    mapping = load_track_map(str(path))
    assert [(t.name, t.program, t.is_drum) for t in mapping.targets] == [
        ("Kit", 0, True),
        ("Low", 32, False),
        ("Vox", 52, False),
        ("Rest", 0, False),
    ]
    assert mapping.assign(pitched("Tuba", 58)) == 1
    assert mapping.assign(pitched("Lead vocals", 35)) == 2  # names before programs
    assert mapping.assign(pitched("Flute", 73)) == 3
    assert mapping.to_json()["tracks"][1]["programs"] == [[32, 39], [43, 43], [58, 58]]
    only_bass = parse_track_map({"tracks": [{"name": "Bass", "programs": ["32-39"]}]}, "inline")
    assert only_bass.assign(pitched("Piano", 0)) is None
    assert only_bass.assign(Track("Kit", 0, True, DRUM_CHANNEL)) is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], 'expected an object with a list "tracks"'),
        ({"tracks": []}, "1 to 16 targets"),
        ({"tracks": [{"drum": True}]}, 'target 1 needs a "name"'),
        ({"tracks": [{"name": "A"}, {"name": "A"}]}, "'A' is used twice"),
        ({"tracks": [{"name": "A", "colour": "red"}]}, "unknown keys: colour"),
        ({"tracks": [{"name": "A", "programs": ["9-3"]}]}, "not within 0..127"),
        ({"tracks": [{"name": "A", "programs": ["x"]}]}, 'not N, "A-B" or [A, B]'),
        ({"tracks": [{"name": "A", "names": ["("]}]}, "bad regular expression"),
        ({"tracks": [{"name": "A", "program": 128}]}, '"program" must be a number 0..127'),
        ({"tracks": [{"name": "A", "drum": "yes"}]}, '"drum" must be true or false'),
    ],
)
def test_bad_maps_are_refused_with_the_reason(data: object, fragment: str) -> None:
    with pytest.raises(TrackMapError, match=r"track map mine\.json") as caught:
        parse_track_map(data, "mine.json")
    assert fragment in caught.value.reason


def test_unreadable_map_files(tmp_path: Path) -> None:
    with pytest.raises(TrackMapError, match="cannot read it"):
        load_track_map(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TrackMapError, match="not valid JSON"):
        load_track_map(str(tmp_path / "bad.json"))
