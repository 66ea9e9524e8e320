# SPDX-License-Identifier: MIT
"""Track colours, one palette for the app's piano roll and the report pictures."""

from __future__ import annotations

#: Distinct, bright enough on a dark roll; track ``i`` takes ``TRACK_COLORS[i % 10]``.
TRACK_COLORS = (
    "#4f9dde",  # blue
    "#f5a623",  # orange
    "#e2605e",  # red
    "#4fc2a5",  # teal
    "#a487e6",  # violet
    "#d6cf4a",  # olive yellow
    "#e67fbd",  # pink
    "#8cc65e",  # green
    "#d98d55",  # tan
    "#66c9e8",  # sky
)


def rgb(color: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` as three floats in 0..1."""
    return (int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255)
