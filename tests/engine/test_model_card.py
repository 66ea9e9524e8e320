# SPDX-License-Identifier: MIT
"""A model folder's card (style, data, terms), read without torch, and bad cards named."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gan.errors import CheckpointError
from engine.models import CARD_FILE, ModelCard, describe_model, grid_words, read_card


def test_the_shipped_model_has_a_card_that_says_non_commercial() -> None:
    info = describe_model()
    assert info.card.commercial_use is False
    rows = dict(info.describe())
    assert rows["Use"] == "non-commercial use only"
    assert rows["Tracks"] == "Soprano, Alto, Tenor, Bass"
    assert "Bach" in rows["Style"]
    assert rows["Decoding"].startswith("each voice as a line")  # the shipped decoding.json


def test_a_folder_without_a_card_says_not_stated(tmp_path: Path) -> None:
    assert read_card(tmp_path) == ModelCard()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "is not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"style": 3}', "'style' must be a string"),
        ('{"commercial_use": "no"}', "'commercial_use' must be true, false or null"),
    ],
)
def test_a_bad_card_is_named_with_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / CARD_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(CheckpointError) as caught:
        read_card(tmp_path)
    assert caught.value.path == str(tmp_path / CARD_FILE)
    assert reason in caught.value.reason


def test_grids_are_named_as_musicians_say_them() -> None:
    assert grid_words(4) == "16ths"
    assert grid_words(12).startswith("16ths and triplets")
    assert grid_words(5) == "5 steps a beat"
