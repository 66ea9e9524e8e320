# SPDX-License-Identifier: MIT
"""The Composer: determinism, variations, interpolation, regeneration, inpainting, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.gan.errors import CheckpointError
from engine.generation.composer import Composer, GenerationError, Take, enforce_locks
from engine.generation.settings import Locks, OutputSettings, Provenance, parse_key
from engine.music import Note, Pattern, TimeSignature, Track


@pytest.fixture(scope="module")
def composer(tiny_model_dir: Path) -> Composer:
    return Composer(tiny_model_dir, device="cpu")


def same_notes(a: Pattern, b: Pattern) -> bool:
    return [t.notes for t in a.tracks] == [t.notes for t in b.tracks]


def bar_notes(pattern: Pattern, track: int, bar: int) -> tuple[Note, ...]:
    """Notes of one track that start and end inside one bar."""
    lo, hi = bar * pattern.bar_ticks, (bar + 1) * pattern.bar_ticks
    return tuple(n for n in pattern.tracks[track].notes if lo <= n.start and n.end <= hi)


# --- generate ---------------------------------------------------------------------------------
def test_generate_is_deterministic_and_seeds_differ(composer: Composer) -> None:
    a, b = composer.generate(7), composer.generate(7)
    assert a.pattern.n_notes > 0
    assert same_notes(a.pattern, b.pattern)
    assert np.array_equal(a.frames, b.frames)
    assert not np.array_equal(composer.generate(8).frames, a.frames)


def test_a_second_composer_gives_the_same_piece(composer: Composer, tiny_model_dir: Path) -> None:
    other = Composer(tiny_model_dir, device="cpu", warm_up=False)
    assert same_notes(other.generate(11, 6).pattern, composer.generate(11, 6).pattern)


def test_long_pieces_start_like_the_native_phrase(composer: Composer) -> None:
    native = composer.generate(5)
    long = composer.generate(5, 10)
    assert long.pattern.n_bars == 10
    assert long.frames.shape[1] == 10
    assert np.array_equal(long.frames[:, :4], native.frames)
    # The later chunks are new music, not a copy of the first.
    assert not np.array_equal(long.frames[:, 4:8], native.frames)


def test_longer_chunks_follow_the_previous_one(tiny_model_dir: Path) -> None:
    """With continuity, the second chunk's bar inputs stay closer to the first chunk's than
    with none (what keeps long pieces from being unrelated blocks)."""
    near = Composer(tiny_model_dir, device="cpu", continuity=0.95, warm_up=False)
    far = Composer(tiny_model_dir, device="cpu", continuity=0.0, warm_up=False)

    def jump(c: Composer) -> float:
        total = 0.0
        for seed in range(20):
            x = c.generate(seed, 8).provenance.bar_inputs
            total += float(np.abs(x[:, 4:8] - x[:, 0:4]).mean())
        return total

    assert jump(near) < 0.6 * jump(far)


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True, "7"])
def test_bad_seeds_are_refused(composer: Composer, seed: object) -> None:
    with pytest.raises(GenerationError, match="seed"):
        composer.generate(seed)  # type: ignore[arg-type]


def test_bad_bar_counts_are_refused(composer: Composer) -> None:
    with pytest.raises(GenerationError, match="n_bars"):
        composer.generate(1, 0)


def test_a_missing_model_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="nowhere"):
        Composer(tmp_path / "nowhere", device="cpu")


# --- variations and interpolation -------------------------------------------------------------
def test_variations_at_strength_zero_are_the_seed(composer: Composer) -> None:
    seed = composer.generate(3)
    for take in composer.variations(3, 4, 0.0):
        assert same_notes(take.pattern, seed.pattern)


def test_variations_are_reproducible_and_independent_of_the_count(composer: Composer) -> None:
    eight = composer.variations(3, 8, 0.4)
    three = composer.variations(3, 3, 0.4)
    for a, b in zip(eight, three, strict=False):
        assert same_notes(a.pattern, b.pattern)
    # Distinct from one another and from the seed.
    seed = composer.generate(3)
    assert len({a.frames.tobytes() for a in eight}) == 8
    assert all(not np.array_equal(a.frames, seed.frames) for a in eight)
    assert [t.provenance.history[0]["index"] for t in eight] == list(range(8))


def test_strength_moves_variations_away_from_the_seed(composer: Composer) -> None:
    seed = composer.generate(3)

    def distance(strength: float) -> float:
        takes = composer.variations(3, 8, strength)
        return float(np.mean([(t.frames != seed.frames).mean() for t in takes]))

    assert distance(0.1) < distance(0.5) < distance(1.0)


def test_interpolation_ends_are_the_seeds(composer: Composer) -> None:
    path = composer.interpolate(4, 9, 5)
    assert len(path) == 5
    assert same_notes(path[0].pattern, composer.generate(4).pattern)
    assert same_notes(path[-1].pattern, composer.generate(9).pattern)
    assert not np.array_equal(path[2].frames, path[0].frames)


def test_blend_ends_are_the_two_takes(composer: Composer) -> None:
    """Interpolating between two kept takes (two variations) starts on one and ends on the
    other, note for note, and passes through something else."""
    a = composer.variations(5, 1, 0.6)[0]
    b = composer.variations(8, 1, 0.6)[0]
    path = composer.blend(a.provenance, b.provenance, 5)
    assert len(path) == 5
    assert same_notes(path[0].pattern, a.pattern)
    assert same_notes(path[-1].pattern, b.pattern)
    assert np.array_equal(path[0].provenance.bar_inputs, a.provenance.bar_inputs)
    middle = path[2]
    assert not np.array_equal(middle.frames, a.frames)
    assert not np.array_equal(middle.frames, b.frames)
    assert [t.provenance.history[0]["t"] for t in path] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_blend_takes_seeds_and_refuses_mismatches(composer: Composer) -> None:
    path = composer.blend(4, 9, 3)
    assert same_notes(path[0].pattern, composer.generate(4).pattern)
    assert same_notes(path[-1].pattern, composer.generate(9).pattern)
    with pytest.raises(GenerationError, match="steps"):
        composer.blend(4, 9, 1)
    with pytest.raises(GenerationError, match="length"):
        composer.blend(composer.generate(4, 8).provenance, 9, 3)


@pytest.mark.parametrize("bad", [{"n": 0}, {"strength": 1.5}, {"strength": -0.1}])
def test_bad_variation_requests_are_refused(composer: Composer, bad: dict[str, float]) -> None:
    args = {"n": 2, "strength": 0.5, **bad}
    with pytest.raises(GenerationError):
        composer.variations(1, int(args["n"]), args["strength"])


# --- regenerate -------------------------------------------------------------------------------
def test_regenerating_a_bar_keeps_every_other_bar(composer: Composer) -> None:
    take = composer.generate(21, 8)
    new = composer.regenerate(take, bars=[5])
    others = [b for b in range(8) if b != 5]
    assert np.array_equal(new.frames[:, others], take.frames[:, others])
    assert np.array_equal(new.onsets[:, others], take.onsets[:, others])
    assert not np.array_equal(new.frames[:, 5], take.frames[:, 5])
    for t in range(4):
        for b in others:
            if b in (4, 6):
                continue  # a note ringing across the regenerated bar's edges may change
            assert bar_notes(new.pattern, t, b) == bar_notes(take.pattern, t, b)


def test_regenerating_a_track_keeps_the_other_tracks(composer: Composer) -> None:
    take = composer.generate(22)
    new = composer.regenerate(take, tracks=[1])
    assert [t.notes for i, t in enumerate(new.pattern.tracks) if i != 1] == [
        t.notes for i, t in enumerate(take.pattern.tracks) if i != 1
    ]
    assert new.pattern.tracks[1].notes != take.pattern.tracks[1].notes


def test_regenerating_bars_of_tracks_changes_only_those_cells(composer: Composer) -> None:
    take = composer.generate(23)
    new = composer.regenerate(take, bars=[0, 2], tracks=[3])
    changed = np.any(new.frames != take.frames, axis=(2, 3))  # (tracks, bars)
    allowed = np.zeros_like(changed)
    allowed[3, [0, 2]] = True
    assert changed.any()
    assert not (changed & ~allowed).any()


def test_regenerate_is_reproducible_and_chains(composer: Composer) -> None:
    take = composer.generate(24)
    once = composer.regenerate(take, bars=[1])
    assert same_notes(once.pattern, composer.regenerate(take, bars=[1]).pattern)
    twice = composer.regenerate(once, bars=[1])
    assert not np.array_equal(twice.frames[:, 1], once.frames[:, 1])
    assert np.array_equal(twice.frames[:, [0, 2, 3]], take.frames[:, [0, 2, 3]])


def test_regenerate_refuses_bad_indices(composer: Composer) -> None:
    take = composer.generate(1)
    with pytest.raises(GenerationError, match="bars"):
        composer.regenerate(take, bars=[4])
    with pytest.raises(GenerationError, match="tracks"):
        composer.regenerate(take, tracks=[-1])
    with pytest.raises(GenerationError, match="at least one"):
        composer.regenerate(take, bars=[])


# --- inpaint and accompany --------------------------------------------------------------------
def off_grid_pattern(composer: Composer) -> Pattern:
    """A generated pattern with a few hand-made notes off the model's grid."""
    base = composer.generate(31).pattern
    extra = [Note(7, 113, 60, 33), Note(1000, 50, 64, 120), Note(1500, 10, 100, 64)]
    tracks = list(base.tracks)
    tracks[0] = tracks[0].with_notes(
        [n for n in tracks[0].notes if n.pitch not in (60, 64, 100)] + extra
    )
    return Pattern(tracks, base.n_bars, base.ticks_per_quarter, base.time_signature)


def test_inpaint_keeps_locked_notes_bars_and_tracks_exactly(composer: Composer) -> None:
    source = off_grid_pattern(composer)
    high = Note(1500, 10, 100, 64)  # above the model's range: kept, but not asked for
    locked_notes = [(0, n) for n in source.tracks[0].notes[:3]] + [
        (0, high),
        (2, Note(1920, 240, 55, 77)),
    ]
    locks = Locks(notes=locked_notes, bars=[3], tracks=[1])
    take = composer.inpaint(source, locks, seed=5)
    out = take.pattern
    assert out.tracks[1].notes == source.tracks[1].notes
    for t, note in locked_notes:
        assert note in out.tracks[t].notes
    bar = source.bar_ticks
    for t in (0, 2, 3):
        in_bar3 = [n for n in out.tracks[t].notes if 3 * bar <= n.start < 4 * bar]
        expected = [n for n in source.tracks[t].notes if 3 * bar <= n.start < 4 * bar]
        locked_in_bar3 = [n for i, n in locked_notes if i == t and 3 * bar <= n.start < 4 * bar]
        assert sorted(in_bar3, key=lambda n: (n.start, n.pitch)) == sorted(
            set(expected) | set(locked_in_bar3), key=lambda n: (n.start, n.pitch)
        )
        # Only the source's own notes ring into the locked bar.
        ringing = [n for n in out.tracks[t].notes if n.start < 3 * bar < n.end]
        assert set(ringing) <= set(source.tracks[t].notes)
    report = take.report
    assert report is not None
    assert report.locked_on_cells > 0
    assert 0.0 <= report.recall <= 1.0
    assert report.unconstrained_notes == 1  # the locked pitch-100 note
    assert take.provenance.locks == locks


def test_inpaint_moves_the_model_towards_the_locks(composer: Composer) -> None:
    """More optimisation steps agree better with the locks than none."""
    source = composer.generate(40).pattern
    other = composer.generate(41).pattern
    # Lock bars of another piece: the seed's own output would not agree by chance.
    mixed = Pattern(
        [a.with_notes(b.notes) for a, b in zip(source.tracks, other.tracks, strict=True)],
        source.n_bars,
    )
    locks = Locks(bars=[0, 1])
    none = composer.inpaint(mixed, locks, seed=1, candidates=1, steps=1).report
    fitted = composer.inpaint(mixed, locks, seed=1, candidates=4, steps=60).report
    assert none is not None
    assert fitted is not None
    assert fitted.recall + fitted.specificity > none.recall + none.specificity


def test_accompany_keeps_a_single_track_melody(composer: Composer) -> None:
    melody = Track("My tune", 73, False, 5, [Note(i * 240, 240, 60 + (i % 5)) for i in range(32)])
    take = composer.accompany(Pattern([melody], 4), track=0, seed=2)
    out = take.pattern
    assert out.tracks[0].notes == melody.notes
    assert out.tracks[0].name == "My tune"
    assert out.tracks[0].channel == 5
    assert len({t.channel for t in out.tracks}) == 4
    assert sum(len(t.notes) for t in out.tracks[1:]) > 0
    assert take.provenance.history[0]["op"] == "accompany"


def test_accompany_of_a_full_pattern_keeps_the_chosen_track(composer: Composer) -> None:
    source = composer.generate(50).pattern
    out = composer.accompany(source, track=3, seed=9).pattern
    assert out.tracks[3].notes == source.tracks[3].notes


def test_regenerating_an_inpainted_take_keeps_its_locks(composer: Composer) -> None:
    source = off_grid_pattern(composer)
    take = composer.inpaint(source, Locks(tracks=[0]), seed=3, steps=5)
    again = composer.regenerate(take, bars=[1, 2])
    assert again.pattern.tracks[0].notes == source.tracks[0].notes


@pytest.mark.parametrize(
    ("pattern", "locks", "match"),
    [
        (Pattern([Track("a")], 4, time_signature=TimeSignature(3, 4)), Locks(tracks=[0]), "3/4"),
        (Pattern([Track("a"), Track("b")], 4), Locks(tracks=[0]), "2 tracks"),
        (Pattern([Track(str(i), channel=i) for i in range(4)], 4, 10), Locks(bars=[0]), "ticks"),
        (Pattern([Track(str(i), channel=i) for i in range(4)], 4), Locks(), "nothing is locked"),
        (Pattern([Track(str(i), channel=i) for i in range(4)], 4), Locks(bars=[4]), "bars"),
        (Pattern([Track(str(i), channel=i) for i in range(4)], 4), Locks(tracks=[4]), "tracks"),
    ],
)
def test_inpaint_explains_what_it_cannot_do(
    composer: Composer, pattern: Pattern, locks: Locks, match: str
) -> None:
    with pytest.raises(GenerationError, match=match):
        composer.inpaint(pattern, locks)


def test_accompany_refuses_a_track_the_model_lacks(composer: Composer) -> None:
    with pytest.raises(GenerationError, match=r"track must be in 0\.\.3"):
        composer.accompany(Pattern([Track("m")], 4), track=4)


def test_enforce_locks_cuts_generated_notes_around_locked_ones() -> None:
    generated = Pattern([Track("g", notes=[Note(0, 960, 60), Note(1000, 100, 62)])], 1)
    source = Pattern([Track("s")], 1)
    locked = Note(480, 240, 60, 50)
    out = enforce_locks(generated, source, Locks(notes=[(0, locked)]))
    assert out.tracks[0].notes == (Note(0, 480, 60), locked, Note(1000, 100, 62))


# --- output settings --------------------------------------------------------------------------
def test_a_key_keeps_pitched_tracks_in_the_scale(composer: Composer) -> None:
    take = composer.generate(60, settings=OutputSettings(key="D minor"))
    allowed = {2, 4, 5, 7, 9, 10, 0}
    pitches = {n.pitch % 12 for t in take.pattern.tracks for n in t.notes}
    assert pitches
    assert pitches <= allowed
    free = composer.generate(60)
    assert {n.pitch % 12 for t in free.pattern.tracks for n in t.notes} - allowed


def test_min_note_steps_drops_short_notes(composer: Composer) -> None:
    step = composer.generate(61).pattern.bar_ticks // composer.spec.n_steps_per_bar
    take = composer.generate(61, settings=OutputSettings(min_note_steps=3))
    lengths = [n.duration for t in take.pattern.tracks for n in t.notes]
    assert lengths
    assert min(lengths) >= 3 * step
    assert min(n.duration for t in composer.generate(61).pattern.tracks for n in t.notes) < 3 * step


def test_temperature_sampling_is_seeded(composer: Composer) -> None:
    hot = OutputSettings(temperature=1.0)
    a, b = composer.generate(62, settings=hot), composer.generate(62, settings=hot)
    assert same_notes(a.pattern, b.pattern)
    assert not np.array_equal(a.frames, composer.generate(62).frames)


def test_velocities_fixed_or_humanized(composer: Composer) -> None:
    fixed = composer.generate(63, settings=OutputSettings(base_velocity=70))
    assert {n.velocity for t in fixed.pattern.tracks for n in t.notes} == {70}
    human = composer.generate(63, settings=OutputSettings(velocity="humanize"))
    values = {n.velocity for t in human.pattern.tracks for n in t.notes}
    assert len(values) > 5
    assert same_notes(
        human.pattern, composer.generate(63, settings=OutputSettings(velocity="humanize")).pattern
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 1.0},
        {"temperature": -1},
        {"min_note_steps": 0},
        {"velocity": "loud"},
        {"base_velocity": 0},
        {"key": "H major"},
        {"key": "C lydian-ish"},
    ],
)
def test_bad_output_settings_name_the_field(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"threshold|temperature|min_note_steps|velocity|key"):
        OutputSettings(**kwargs)  # type: ignore[arg-type]


def test_parse_key() -> None:
    assert parse_key("F# minor") == (6, "minor")
    assert parse_key("Bb") == (10, "major")
    assert parse_key("a:dorian") == (9, "dorian")


# --- provenance -------------------------------------------------------------------------------
def roundtrip(take: Take) -> Provenance:
    return Provenance.from_dict(json.loads(json.dumps(take.provenance.to_dict())))


def test_provenance_roundtrips_through_json(composer: Composer) -> None:
    take = composer.variations(70, 3, 0.3, n_bars=6, settings=OutputSettings(key="G"))[2]
    back = roundtrip(take)
    assert np.array_equal(back.bar_inputs, take.provenance.bar_inputs)
    assert back.settings == take.provenance.settings
    assert back.history == take.provenance.history
    assert back.model_id == composer.model_id
    assert len(back.model_id) == 16


def test_reproduce_replays_every_kind_of_take(composer: Composer) -> None:
    takes = [
        composer.generate(71, 6),
        composer.variations(71, 4, 0.6)[3],
        composer.interpolate(71, 72, 4)[1],
        composer.blend(composer.variations(75, 2, 0.5)[1].provenance, 76, 4)[2],
        composer.regenerate(composer.regenerate(composer.generate(73), bars=[2]), tracks=[0]),
    ]
    for take in takes:
        again = composer.reproduce(roundtrip(take))
        assert same_notes(again.pattern, take.pattern)
    source = composer.generate(74).pattern
    inpainted = composer.inpaint(source, Locks(bars=[1]), seed=4, steps=5)
    assert same_notes(composer.reproduce(roundtrip(inpainted), source).pattern, inpainted.pattern)
    with pytest.raises(GenerationError, match="needs the pattern"):
        composer.reproduce(roundtrip(inpainted))


def test_reproduce_refuses_another_models_take(composer: Composer, other_model_dir: Path) -> None:
    take = composer.generate(75)
    other = Composer(other_model_dir, device="cpu", warm_up=False)
    assert other.model_id != composer.model_id
    with pytest.raises(GenerationError, match="made by model"):
        other.reproduce(take.provenance)


def test_a_locked_note_past_the_end_is_refused(composer: Composer) -> None:
    pattern = composer.generate(80).pattern
    late = Note(pattern.length_ticks - 10, 20, 60)
    with pytest.raises(GenerationError, match="end after the pattern's 4 bars"):
        composer.inpaint(pattern, Locks(notes=[(0, late)]))


def test_accompany_errors_name_accompany(composer: Composer) -> None:
    waltz = Pattern([Track("m", notes=[Note(0, 480, 60)])], 4, time_signature=TimeSignature(3, 4))
    with pytest.raises(GenerationError, match=r"^accompany: the pattern is in 3/4"):
        composer.accompany(waltz, track=0)


def test_regenerated_takes_drop_the_stale_inpaint_report(composer: Composer) -> None:
    take = composer.inpaint(composer.generate(81).pattern, Locks(bars=[0]), steps=2)
    assert take.report is not None
    assert composer.regenerate(take, bars=[2]).report is None


# --- the shipped default model ------------------------------------------------------------------
def bar_features(take: Take) -> tuple[np.ndarray, np.ndarray]:
    """Per track and bar: the mean sounding pitch (NaN in a silent bar) and the onset count."""
    frames = take.frames  # (tracks, bars, steps, pitches)
    rows = np.arange(frames.shape[3])
    occupancy = frames.sum(axis=2)  # (tracks, bars, pitches)
    total = occupancy.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = (occupancy * rows).sum(axis=-1) / total
    return centroid, take.onsets.sum(axis=(2, 3)).astype(float)


def test_long_pieces_from_the_default_model_have_no_seams() -> None:
    """Across the boundary between two native-length chunks, pitch and density change no more
    than between neighbouring bars within a chunk."""
    composer = Composer(device="cpu", warm_up=False)  # the shipped default model
    native = composer.native_bars
    n_bars = 3 * native
    boundaries = {native - 1, 2 * native - 1}
    pitch_jumps: dict[bool, list[float]] = {True: [], False: []}
    density_jumps: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(120):
        centroid, onsets = bar_features(composer.generate(seed, n_bars))
        for b in range(n_bars - 1):
            seam = b in boundaries
            step = np.abs(centroid[:, b + 1] - centroid[:, b])
            pitch_jumps[seam].extend(step[~np.isnan(step)].tolist())
            density_jumps[seam].extend(np.abs(onsets[:, b + 1] - onsets[:, b]).tolist())
    assert np.mean(pitch_jumps[True]) <= 1.25 * np.mean(pitch_jumps[False])
    assert np.mean(density_jumps[True]) <= 1.25 * np.mean(density_jumps[False])
