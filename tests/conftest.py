# SPDX-License-Identifier: MIT
"""Settings and fixtures for the whole suite (engine and desktop tests)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import settings

from engine.live.jack import JackServer, jack_installed

# PortAudio (the audio preview's sounddevice) lists its sound systems once, when first loaded.
# Loaded here, before any test starts a private JACK server, it never joins that server: a
# client there would run in every JACK period and disturb the live-timing tests.
with contextlib.suppress(OSError, ImportError):
    import sounddevice  # noqa: F401

# In CI the property tests replay the same examples every run, so a red build always means a
# change broke something; locally they keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def jack_server() -> Iterator[JackServer]:
    """A private JACK server (dummy backend, 64 frames) for the whole session; in-process
    clients reach it through JACK_DEFAULT_SERVER."""
    if not jack_installed():
        pytest.skip("JACK is not installed here (Debian: apt-get install jackd2)")
    saved = os.environ.get("JACK_DEFAULT_SERVER")
    with JackServer(period=64) as server:
        os.environ["JACK_DEFAULT_SERVER"] = server.name
        try:
            yield server
        finally:
            _let_portaudio_go()
            if saved is None:
                os.environ.pop("JACK_DEFAULT_SERVER", None)
            else:
                os.environ["JACK_DEFAULT_SERVER"] = saved


def _let_portaudio_go() -> None:
    """PortAudio (loaded by a test of the audio preview) holds a client of the JACK server it
    found; ending PortAudio after that server has stopped fails an assertion in its JACK code
    and aborts the process at exit. So end PortAudio first, while the server still runs."""
    sounddevice = sys.modules.get("sounddevice")
    if sounddevice is not None:
        while getattr(sounddevice, "_initialized", 0) > 0:
            sounddevice._terminate()
