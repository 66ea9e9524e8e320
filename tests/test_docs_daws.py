# SPDX-License-Identifier: MIT
"""docs/daws.md, the DAW connection guide: a section for each DAW, the three systems, a link
from the README, and every ``barforge`` command in its code blocks accepted by the real
command-line parser (so the guide cannot drift from the options it documents)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from engine.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "daws.md"
README = ROOT / "README.md"
DAWS = (
    "Ableton Live",
    "Bitwig Studio",
    "Reaper",
    "Ardour",
    "Logic Pro",
    "FL Studio",
    "Cubase",
    "MuseScore",
)
FENCE = re.compile(r"^\s*```[^\n]*\n(.*?)^\s*```", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _text() -> str:
    return GUIDE.read_text(encoding="utf-8") if GUIDE.exists() else ""


def _commands(text: str) -> list[list[str]]:
    """The ``barforge`` command lines of the fenced code blocks, as argument lists (a prompt
    ``$``, leading ``VAR=value`` assignments and backslash continuations allowed)."""
    commands = []
    for block in FENCE.findall(text):
        joined = re.sub(r"\\\n", " ", block)
        for line in joined.splitlines():
            line = line.strip().removeprefix("$ ")
            if not line or line.startswith("#"):
                continue
            words = shlex.split(line)
            while words and ASSIGNMENT.match(words[0]):
                words.pop(0)
            if words and Path(words[0]).name == "barforge":
                commands.append(words[1:])
    return commands


COMMANDS = _commands(_text())


def test_the_guide_exists() -> None:
    assert GUIDE.is_file(), f"{GUIDE} is missing"


def test_each_daw_has_a_heading() -> None:
    headings = [line.lstrip("#").strip() for line in _text().splitlines() if line.startswith("#")]
    missing = [daw for daw in DAWS if not any(daw.lower() in h.lower() for h in headings)]
    assert not missing, f"no heading for {missing} among {headings}"


@pytest.mark.parametrize("system", ["Linux", "macOS", "Windows"])
def test_each_system_is_covered(system: str) -> None:
    assert system in _text()


def test_the_readme_links_to_the_guide() -> None:
    assert "](docs/daws.md)" in README.read_text(encoding="utf-8")


def test_the_guide_has_commands() -> None:
    assert len(COMMANDS) >= 5, COMMANDS


def test_the_ardour_command_is_the_one_the_ardour_test_runs() -> None:
    """tests/engine/test_ardour.py runs ``live --file F --sync clock --midi-api jack
    --in-port <Ardour's MIDI Clock out> --port <the track's Barforge/midi_in 1>``."""
    wanted = {"--file", "--sync", "--midi-api", "--in-port", "--port"}
    found = []
    for words in COMMANDS:
        if words[:1] == ["live"] and wanted <= set(words):
            args = _parser().parse_args(words)
            found.append((args.sync, args.midi_api, args.in_port, args.port))
    assert any(
        sync == "clock"
        and api == "jack"
        and in_port.endswith("MIDI Clock out")
        and port.endswith("Barforge/midi_in 1")
        for sync, api, in_port, port in found
    ), found


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(w) for w in COMMANDS])
def test_each_command_parses(words: list[str]) -> None:
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            _parser().parse_args(words)
    except SystemExit as exit_:
        pytest.fail(f"barforge {shlex.join(words)} is refused ({exit_.code}): {errors.getvalue()}")
