# SPDX-License-Identifier: MIT
"""Settings for the whole suite."""

from __future__ import annotations

import os

from hypothesis import settings

# In CI the property tests replay the same examples every run, so a red build always means a
# change broke something; locally they keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
