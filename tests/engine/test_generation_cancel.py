# SPDX-License-Identifier: MIT
"""Progress and cancellation of inpainting and accompaniment (the optimisation loop)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generation import GenerationCancelled as ExportedCancelled
from engine.generation import latents as lat
from engine.generation.composer import Composer, GenerationCancelled, GenerationError, Take
from engine.generation.inpaint import constraints, fit
from engine.generation.settings import Locks
from engine.music import Note, Pattern, Track

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def composer(tiny_model_dir: Path) -> Composer:
    return Composer(tiny_model_dir, device="cpu", warm_up=False)


@pytest.fixture(scope="module")
def source(composer: Composer) -> Pattern:
    return composer.generate(21).pattern


def melody() -> Pattern:
    return Pattern([Track("Melody", notes=[Note(i * 480, 480, 67 + i % 5) for i in range(16)])], 4)


def assert_same_take(a: Take, b: Take) -> None:
    assert [t.notes for t in a.pattern.tracks] == [t.notes for t in b.pattern.tracks]
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.onsets, b.onsets)
    assert np.array_equal(a.velocity_plane, b.velocity_plane)
    assert np.array_equal(a.provenance.bar_inputs, b.provenance.bar_inputs)
    assert a.provenance.to_dict() == b.provenance.to_dict()
    assert a.report == b.report
    for x, y in zip(a.latents.fields(), b.latents.fields(), strict=True):
        assert torch.equal(x, y)


class Recorder:
    """A progress callback that records its calls and cancels after ``stop_at`` of them."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.stop_at = stop_at

    def __call__(self, done: int, total: int) -> bool:
        self.calls.append((done, total))
        return self.stop_at is None or len(self.calls) < self.stop_at


def test_inpaint_reports_every_step_up_to_the_total(composer: Composer, source: Pattern) -> None:
    progress = Recorder()
    composer.inpaint(source, Locks(bars=[1]), seed=3, candidates=2, steps=7, progress=progress)
    assert progress.calls == [(i, 7) for i in range(1, 8)]


def test_accompany_reports_progress_too(composer: Composer) -> None:
    progress = Recorder()
    take = composer.accompany(melody(), track=0, seed=2, steps=5, progress=progress)
    assert progress.calls == [(i, 5) for i in range(1, 6)]
    assert take.provenance.history[0]["op"] == "accompany"


def test_returning_false_cancels_at_that_step(composer: Composer, source: Pattern) -> None:
    progress = Recorder(stop_at=3)
    with pytest.raises(GenerationCancelled) as caught:
        composer.inpaint(source, Locks(tracks=[2]), seed=1, steps=50, progress=progress)
    assert progress.calls == [(1, 50), (2, 50), (3, 50)]  # no step ran after the refusal
    assert (caught.value.done, caught.value.total) == (3, 50)
    assert "3 of 50" in str(caught.value)


def test_accompany_can_be_cancelled(composer: Composer) -> None:
    progress = Recorder(stop_at=1)
    with pytest.raises(GenerationCancelled):
        composer.accompany(melody(), track=0, steps=50, progress=progress)
    assert progress.calls == [(1, 50)]


def test_results_are_bit_identical_with_a_callback_that_goes_on(
    composer: Composer, source: Pattern
) -> None:
    locks = Locks(bars=[0], notes=[(1, Note(2 * 1920, 480, 64, 90))])
    plain = composer.inpaint(source, locks, seed=8, candidates=3, steps=12)
    observed = composer.inpaint(source, locks, seed=8, candidates=3, steps=12, progress=Recorder())
    assert_same_take(plain, observed)
    plain = composer.accompany(melody(), track=0, seed=4, steps=6)
    observed = composer.accompany(melody(), track=0, seed=4, steps=6, progress=lambda d, t: True)
    assert_same_take(plain, observed)


def test_a_cancelled_run_leaves_the_composer_as_it_was(composer: Composer, source: Pattern) -> None:
    locks = Locks(tracks=[0])
    before = composer.inpaint(source, locks, seed=5, steps=10)
    with pytest.raises(GenerationCancelled):
        composer.inpaint(source, locks, seed=5, steps=10, progress=Recorder(stop_at=4))
    assert_same_take(before, composer.inpaint(source, locks, seed=5, steps=10))
    assert not any(p.requires_grad for p in composer.generator.parameters())


def test_fit_reports_and_cancels(composer: Composer, source: Pattern) -> None:
    target = constraints(source, Locks(bars=[2]), composer.spec)
    start = lat.draw(composer.config, 9, 1, composer.continuity)
    plain = fit(composer.generator, start, 4, target, steps=4)
    progress = Recorder()
    observed = fit(composer.generator, start, 4, target, steps=4, progress=progress)
    assert progress.calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    for x, y in zip(plain[0].fields(), observed[0].fields(), strict=True):
        assert torch.equal(x, y)
    for x, y in zip(plain[1:], observed[1:], strict=True):
        assert torch.equal(x, y)
    with pytest.raises(GenerationCancelled):
        fit(composer.generator, start, 4, target, steps=4, progress=Recorder(stop_at=2))
    # Zero steps: nothing to report, nothing to cancel.
    silent = Recorder(stop_at=1)
    fit(composer.generator, start, 4, target, steps=0, progress=silent)
    assert silent.calls == []


def test_an_invalid_request_fails_before_any_progress(composer: Composer, source: Pattern) -> None:
    progress = Recorder()
    with pytest.raises(GenerationError, match="steps"):
        composer.inpaint(source, Locks(bars=[0]), steps=0, progress=progress)
    assert progress.calls == []


def test_cancelled_is_not_a_generation_error_and_needs_no_torch() -> None:
    assert ExportedCancelled is GenerationCancelled
    assert not issubclass(GenerationCancelled, GenerationError)
    assert issubclass(GenerationCancelled, Exception)
    code = (
        "import sys; from engine.generation import GenerationCancelled; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
