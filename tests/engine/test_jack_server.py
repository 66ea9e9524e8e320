# SPDX-License-Identifier: MIT
"""The private JACK server of the tests: a server that will not start says why, and one that
ran late says so."""

from __future__ import annotations

import os
import signal
import time

import pytest

from engine.live.jack import JackError, JackServer, jack_installed


def test_a_server_that_will_not_start_reports_what_jackd_said() -> None:
    if not jack_installed():
        pytest.skip("JACK is not installed here (Debian: apt-get install jackd2)")
    # jackd refuses a server name with a slash: it names its semaphores after the server.
    server = JackServer(realtime=False, name="barforge/bad")
    with pytest.raises(JackError) as caught:
        server.start(timeout=10)
    message = str(caught.value)
    assert message.startswith("jackd exited at start with status 255; it said: ")
    assert "JackServer::Open failed" in message  # jackd's own words, kept for the log
    assert "\n" not in message
    assert server.output() == ""  # the failed start left nothing behind


def test_a_server_held_up_reports_the_periods_it_ran_late() -> None:
    if not jack_installed():
        pytest.skip("JACK is not installed here (Debian: apt-get install jackd2)")
    with JackServer() as server:
        assert server.pid is not None
        before = len(server.xruns())
        # What a busy virtual machine does to it: jackd gets no CPU for 30 ms (23 periods).
        os.kill(server.pid, signal.SIGSTOP)
        time.sleep(0.03)
        os.kill(server.pid, signal.SIGCONT)
        deadline = time.monotonic() + 5
        while len(server.xruns()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        late = server.xruns()[before:]
    assert late, "jackd did not report running late"
    assert all("XRun" in line for line in late)
    assert server.pid is None
