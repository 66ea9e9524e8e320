# SPDX-License-Identifier: MIT
"""The MIDI port facade: choosing the MIDI system, and errors that say what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.live.jack import JackServer
from engine.midi import ports
from engine.midi.ports import MidiInput, MidiOutput, PortError


def test_an_unknown_midi_system_is_named_with_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(PortError, match="unknown MIDI system 'pipewire'") as caught:
        ports.choose_api("pipewire")
    assert "alsa, jack, coremidi, winmm" in str(caught.value)
    monkeypatch.setenv(ports.API_ENV, "JACK")
    assert ports.choose_api() == "jack"  # the environment overrides, case-insensitively
    assert ports.choose_api("alsa") == "alsa"  # and the command line overrides that


def test_a_system_missing_from_this_build_is_refused() -> None:
    with pytest.raises(PortError, match="no coremidi support"):
        ports.choose_api("coremidi")


def test_with_no_jack_server_the_error_says_to_start_one(
    jack_server: JackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "barforge-nobody-runs-this")
    assert ports.jack_running() is False
    with pytest.raises(PortError, match="Is the JACK server running") as caught:
        MidiOutput("out", api="jack")
    assert isinstance(caught.value, OSError)
    if not os.path.exists("/dev/snd/seq"):  # as on these machines: no ALSA sequencer either
        with pytest.raises(PortError, match="no MIDI system is available") as none:
            ports.choose_api()
        assert "modprobe snd-seq" in str(none.value)
        assert "jackd" in str(none.value)


def test_the_platform_choice_finds_a_running_jack_server(jack_server: JackServer) -> None:
    if os.path.exists("/dev/snd/seq"):
        pytest.skip("this machine has an ALSA sequencer, which the platform choice prefers")
    assert ports.choose_api() == "jack"
    port = MidiOutput()
    try:
        assert port.name == "Barforge:out"
        assert "Barforge:out" in jack_server.ports()
    finally:
        port.close()
    assert "Barforge:out" not in jack_server.ports()  # closed and freed


def test_existing_ports_are_listed_and_opened_by_a_unique_prefix(jack_server: JackServer) -> None:
    synth = MidiInput("in", api="jack", client="Prefix Synth")
    try:
        assert "Prefix Synth:in" in ports.list_output_ports("jack")
        port = MidiOutput("prefix synth", api="jack", virtual=False, client="Barforge prefix")
        try:
            assert port.name == "Prefix Synth:in"
            assert port.exists()
        finally:
            port.close()
    finally:
        synth.close()


def test_an_unknown_port_is_named_with_the_ports_there_are(jack_server: JackServer) -> None:
    with pytest.raises(PortError, match="no such output port") as caught:
        MidiOutput("nowhere:in", api="jack", virtual=False)
    assert "'nowhere:in'" in str(caught.value)
    assert "now on jack are:" in str(caught.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--bpm", "5000"], "outside 10..999 BPM"),
        (["--file", "missing.mid"], "missing.mid"),
        (["--seconds", "0"], "--seconds must be above 0"),
        (["--sync", "clock", "--send-clock"], "--send-clock cannot be used"),
    ],
)
def test_barforge_live_refuses_bad_settings_with_one_line(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "live", "--file", str(tmp_path / "x.mid"), *arguments]
        if "--file" not in arguments
        else [sys.executable, "-m", "engine.cli", "live", *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
