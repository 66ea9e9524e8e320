# SPDX-License-Identifier: MIT
"""Whether a composer's pattern has the tracks a model writes (torch-free, so the app can ask
before it sends anything to the model).

The model writes its tracks by position: its track 0 is, say, the soprano. Generating on a
pattern whose tracks are something else would write the model's voices into them: pitched
notes into a drum track, a chorale alto into a bass line. :func:`track_fit_problem` says why a
pattern does not fit, in words a composer can act on, or None when it does.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.music import Pattern


def _same_name(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _kind(is_drum: bool) -> str:
    return "a drum track" if is_drum else "a pitched track"


def track_fit_problem(
    pattern: Pattern,
    track_names: Sequence[str],
    is_drum: Sequence[bool],
    *,
    trust_names: bool = False,
) -> str | None:
    """Why the model with tracks ``track_names`` (drum or not as ``is_drum``) cannot generate
    on ``pattern``, or None when it can.

    A pattern fits when it has the model's number of tracks, each a drum track exactly where
    the model's is, and each named as the model's track at its position (letter case and
    surrounding spaces aside). ``trust_names`` skips the name check: for a pattern the model
    made, whose tracks the composer may have renamed.
    """
    names = list(track_names)
    wanted = ", ".join(names)
    tracks = pattern.tracks
    if len(tracks) != len(names):
        return (
            f"this project has {len(tracks)} track{'s' if len(tracks) != 1 else ''}; the model "
            f"writes {len(names)} ({wanted}), so it cannot write here without replacing your "
            "tracks. New from Seed starts a piece with the model's tracks"
        )
    for i, (track, name, drum) in enumerate(zip(tracks, names, is_drum, strict=True)):
        if track.is_drum != drum:
            return (
                f"track {i + 1} “{track.name or 'untitled'}” is {_kind(track.is_drum)}, but the "
                f"model's track {i + 1} ({name}) is {_kind(drum)}: the model would write "
                f"{'drums into a pitched track' if drum else 'pitched notes into a drum track'}. "
                f"The model writes {wanted}"
            )
    if trust_names:
        return None
    for i, (track, name) in enumerate(zip(tracks, names, strict=True)):
        if not _same_name(track.name, name):
            return (
                f"track {i + 1} “{track.name or 'untitled'}” would be written as the model's "
                f"{name}. The model writes {wanted}, in that order: rename your tracks after "
                "them (double-click a name) to let the model write them"
            )
    return None
