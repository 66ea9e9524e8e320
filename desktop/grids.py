# SPDX-License-Identifier: MIT
"""The snap grids the editor offers (the toolbar's grid box and the preferences share them)."""

from __future__ import annotations

#: Snap grids offered, as (label, fraction of a quarter note).
GRIDS = (("1/4", 1.0), ("1/8", 0.5), ("1/16", 0.25), ("1/32", 0.125), ("1/8 triplet", 1 / 3))
#: The grid a new window starts with.
DEFAULT_GRID = "1/16"
