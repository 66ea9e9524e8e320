# SPDX-License-Identifier: MIT
"""Which torch device the model runs on: the best one present, or one named by the user."""

from __future__ import annotations

import torch

_NAMES = "auto, cpu, cuda, cuda:N or mps"


def choose_device(name: str | None = None) -> torch.device:
    """The device called ``name``, checked to be usable here.

    Parameters
    ----------
    name : str, optional
        ``None`` or ``"auto"``: CUDA if available, else MPS (Apple GPUs) if available, else the
        CPU. ``"cpu"``, ``"cuda"`` (the current CUDA device), ``"cuda:N"`` or ``"mps"``: that
        device. Case and surrounding spaces are ignored.

    Raises
    ------
    ValueError
        When the name is unknown, or the device is not available on this machine; the message
        names the device and says why.
    """
    text = "auto" if name is None else name.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available():
            raise ValueError(
                "device 'mps' is not available: this torch or machine has no MPS (Apple GPU) "
                "support"
            )
        return torch.device("mps")
    kind, _, index = text.partition(":")
    if kind == "cuda" and (not index or (index.isdigit() and index.isascii())):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {name!r} is not available: no CUDA GPU is usable here (torch "
                f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'})"
            )
        if index:
            count = torch.cuda.device_count()
            if int(index) >= count:
                raise ValueError(
                    f"device {name!r} is not available: this machine has {count} CUDA "
                    f"device(s), numbered 0..{count - 1}"
                )
            return torch.device("cuda", int(index))
        return torch.device("cuda")
    raise ValueError(f"unknown device {name!r}: expected {_NAMES}")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())
