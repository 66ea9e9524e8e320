# SPDX-License-Identifier: MIT
"""The private JACK server of the tests: a server that will not start says why."""

from __future__ import annotations

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
