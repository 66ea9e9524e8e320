# SPDX-License-Identifier: MIT
"""The browser's ideas in the project file (format version 2): favourites and adopted states."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from engine.generation.settings import OutputSettings, Provenance
from engine.music import Note, Pattern, Track
from engine.project import (
    MAX_ADOPTED,
    Idea,
    Project,
    ProjectFileError,
    load_project,
    project_to_dict,
    save_project,
)
from tests.engine.test_project import example_project, write_json


def idea(label: str, pitch: int, with_provenance: bool = True) -> Idea:
    pattern = Pattern(
        [
            Track("Lead", 80, False, 0, [Note(0, 240, pitch, 90), Note(480, 240, pitch + 2, 70)]),
            Track("Bass", 33, False, 1, [Note(0, 960, pitch - 24, 100)]),
        ],
        n_bars=1,
    )
    provenance = Provenance(
        model_id="tiny-0123",
        seed=3,
        n_bars=1,
        bar_inputs=np.full((2, 1, 4), pitch / 100, dtype=np.float32),
        settings=OutputSettings(),
        sampling_seed=pitch,
        history=({"op": "variation", "seed": 3, "index": 1, "of": 8, "strength": 0.5},),
    )
    return Idea(label, pattern, provenance if with_provenance else None, 3)


def with_ideas(ideas: tuple[Idea, ...], adopted: tuple[Idea, ...]) -> Project:
    return dataclasses.replace(example_project(), ideas=ideas, adopted=adopted)


def same(a: Idea, b: Idea) -> bool:
    if (a.label, a.pattern, a.seed) != (b.label, b.pattern, b.seed):
        return False
    if a.provenance is None or b.provenance is None:
        return a.provenance is b.provenance
    return a.provenance.history == b.provenance.history and np.array_equal(
        a.provenance.bar_inputs, b.provenance.bar_inputs
    )


def test_favourites_and_adopted_states_survive_saving(tmp_path: Path) -> None:
    favourites = (idea("Seed 3 · var 2", 60), idea("Imported", 64, with_provenance=False))
    adopted = (idea("Seed 3 · var 1", 67), idea("Seed 3 · var 5", 62))
    path = tmp_path / "song.barforge"
    save_project(with_ideas(favourites, adopted), path)
    loaded = load_project(path)
    assert len(loaded.ideas) == 2
    assert len(loaded.adopted) == 2
    assert all(same(a, b) for a, b in zip(loaded.ideas, favourites, strict=True))
    assert all(same(a, b) for a, b in zip(loaded.adopted, adopted, strict=True))
    assert loaded.ideas[1].provenance is None


def test_only_the_newest_adopted_states_are_kept() -> None:
    many = tuple(idea(f"take {i}", 40 + i % 40) for i in range(MAX_ADOPTED + 5))
    project = with_ideas((), many)
    assert len(project.adopted) == MAX_ADOPTED
    assert project.adopted[0] is many[5]
    assert project.adopted[-1] is many[-1]


def test_a_version_1_file_opens_with_no_ideas(tmp_path: Path) -> None:
    data = project_to_dict(example_project())
    data["version"] = 1
    del data["ideas"]
    loaded = load_project(write_json(tmp_path / "old.barforge", data))
    assert loaded.ideas == ()
    assert loaded.adopted == ()
    assert loaded.favourites == example_project().favourites


def test_a_version_2_file_needs_its_ideas(tmp_path: Path) -> None:
    data = project_to_dict(example_project())
    del data["ideas"]
    with pytest.raises(ProjectFileError, match="ideas"):
        load_project(write_json(tmp_path / "bad.barforge", data))


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d["ideas"]["favourites"][0].update(label=5), "ideas.favourites[0].label"),
        (
            lambda d: d["ideas"]["adopted"][0]["pattern"]["tracks"][0]["notes"][0].__setitem__(
                2, 300
            ),
            "ideas.adopted[0].pattern.tracks[0].notes[0]: pitch 300 is out of range",
        ),
        (
            lambda d: d["ideas"]["favourites"][0]["provenance"].update(seed=-1),
            "ideas.favourites[0].provenance.seed",
        ),
        (lambda d: d["ideas"]["favourites"][0].update(seed="7"), "ideas.favourites[0].seed"),
    ],
)
def test_a_bad_idea_is_named(tmp_path: Path, edit: object, reason: str) -> None:
    data = json.loads(json.dumps(project_to_dict(with_ideas((idea("a", 60),), (idea("b", 62),)))))
    edit(data)  # type: ignore[operator]
    with pytest.raises(ProjectFileError) as info:
        load_project(write_json(tmp_path / "bad.barforge", data))
    assert reason in info.value.reason


def test_an_idea_checks_its_values() -> None:
    with pytest.raises(ValueError, match="seed"):
        Idea("x", idea("y", 60).pattern, None, -3)
    with pytest.raises(ValueError, match="pattern"):
        Idea("x", "notes")  # type: ignore[arg-type]
