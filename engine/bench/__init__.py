# SPDX-License-Identifier: MIT
"""Benchmarks behind ``barforge bench``: measured on demand, never in unit tests."""
