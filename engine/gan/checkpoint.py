# SPDX-License-Identifier: MIT
"""Checkpoints: a folder of safetensors and JSON, written atomically, read without pickle.

================================  ===============================================================
file                              holds
================================  ===============================================================
``config.json``                   ``{"format", "format_version", "barforge_version", "model"}``,
                                  ``model`` being :meth:`ModelConfig.to_dict`
``weights.safetensors``           the generator's and the critic's state dicts (parameters and
                                  buffers) as ``generator.<name>`` and ``critic.<name>``
``training.json`` (optional)      ``{"format", "format_version", "state"}``: the training state's
                                  scalars, lists and dicts (step, optimizer hyper-parameters,
                                  numpy and Python RNG states, extras)
``training.safetensors`` (opt.)   the training state's tensors (Adam's moments and steps, torch's
                                  RNG states), each named by its path in the state
================================  ===============================================================

In ``training.json`` a tensor is written ``{"__tensor__": "<name in training.safetensors>"}``, a
tuple ``{"__tuple__": [...]}``, a dict with keys other than strings (an optimizer's state by
parameter index) ``{"__items__": [[key, value], ...]}`` and a numpy array
``{"__ndarray__": [...], "dtype": "..."}``, so that a trainer gets back exactly what it saved.

Loading reads only JSON and safetensors: nothing is ever unpickled (no ``torch.load``), and a
file that is not what it should be (a pickle, a truncated file, weights that do not fit the
config) raises :class:`CheckpointError` naming the file and the reason.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.torch
import torch
from torch import Tensor, nn

from engine import __version__
from engine.gan.config import ModelConfig
from engine.gan.errors import (
    CheckpointError as CheckpointError,
)  # re-exported: callers catch it here
from engine.gan.files import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    read_config_file,
    read_json,
)
from engine.gan.model import PhraseCritic, PhraseGenerator, build_critic, build_generator

TRAINING_JSON = "training.json"
TRAINING_FILE = "training.safetensors"

_MAX_HEADER = 100 << 20
_MAX_LISTED = 5
_OPTIMIZER_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(eq=False)
class TrainingState:
    """What a trainer needs, beside the weights, to resume exactly.

    Attributes
    ----------
    step : int
        Generator steps done.
    optimizers : dict of str to dict
        ``optimizer.state_dict()`` by name (letters, digits, ``_``, ``-``), e.g.
        ``{"generator": ..., "critic": ...}``; load each back with ``load_state_dict``.
    rng : dict
        :func:`capture_rng`'s result (or empty); give it to :func:`restore_rng`.
    extra : dict
        Anything else made of JSON values, tuples, tensors and numpy arrays (the train config,
        running losses, the elapsed time, ...).
    """

    step: int
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    rng: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class LoadedCheckpoint:
    """What :func:`load_checkpoint` gives.

    Attributes
    ----------
    config : ModelConfig
    generator : PhraseGenerator
        In eval mode, on the requested device.
    critic : PhraseCritic or None
        In eval mode (call ``train()`` to resume training); None unless asked for.
    training : TrainingState or None
        None when the checkpoint holds no training state.
    barforge_version : str
        The version of Barforge that wrote the checkpoint.
    """

    config: ModelConfig
    generator: PhraseGenerator[Any]
    critic: PhraseCritic | None
    training: TrainingState | None
    barforge_version: str


# --- RNG states ---------------------------------------------------------------------------------
def capture_rng(numpy_generator: np.random.Generator | None = None) -> dict[str, Any]:
    """The states of torch's CPU (and CUDA) RNGs, Python's ``random`` and, if given, a numpy
    generator, for :attr:`TrainingState.rng`."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "cuda": tuple(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else (),
        "python": random.getstate(),
    }
    if numpy_generator is not None:
        state["numpy"] = numpy_generator.bit_generator.state
    return state


def restore_rng(state: dict[str, Any], numpy_generator: np.random.Generator | None = None) -> None:
    """Put back what :func:`capture_rng` captured (the numpy state into ``numpy_generator``)."""
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    cuda = state.get("cuda", ())
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(cuda))
    if "python" in state:
        random.setstate(state["python"])
    if numpy_generator is not None and "numpy" in state:
        numpy_generator.bit_generator.state = state["numpy"]


# --- saving -------------------------------------------------------------------------------------
def save_checkpoint(
    folder: str | os.PathLike[str],
    generator: PhraseGenerator[Any],
    critic: PhraseCritic | None,
    config: ModelConfig,
    training: TrainingState | None = None,
) -> Path:
    """Write a checkpoint folder, replacing ``folder`` as a whole.

    The files are written and flushed to disk in a temporary folder beside ``folder``, which is
    then renamed into place: a crash leaves the old checkpoint or the new one, never a mix. (An
    existing checkpoint is first renamed aside, to ``.<name>.<random>.old``, and removed after
    the swap; a crash between the two renames leaves it there.)

    Parameters
    ----------
    folder : path
        The checkpoint folder; an existing one must be a checkpoint (hold ``config.json``) or
        empty.
    generator, critic
        The networks; ``critic`` may be None (e.g. a shipped model).
    config : ModelConfig
        Must be the networks' config.
    training : TrainingState, optional
        Written to ``training.json`` and ``training.safetensors`` when given.

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    ValueError
        When ``config`` is not the networks' config, or ``training`` holds a value that cannot
        be saved.
    OSError
        When writing fails; the old checkpoint (if any) is left as it was.
    """
    target = Path(folder)
    for module, name in ((generator, "generator"), (critic, "critic")):
        if module is not None and module.config != config:
            raise ValueError(f"save_checkpoint: the {name}'s config differs from config")
    if target.exists() and (
        not target.is_dir() or (any(target.iterdir()) and not (target / CONFIG_FILE).exists())
    ):
        raise ValueError(
            f"save_checkpoint: {target} exists and is not a checkpoint folder; not replacing it"
        )
    files: dict[str, bytes] = {}
    tensors = _state_tensors("generator", generator)
    if critic is not None:
        tensors.update(_state_tensors("critic", critic))
    files[WEIGHTS_FILE] = safetensors.torch.save(
        tensors, metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)}
    )
    files[CONFIG_FILE] = _json_bytes(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "barforge_version": __version__,
            "model": config.to_dict(),
        }
    )
    if training is not None:
        training_json, training_tensors = _encode_training(training)
        files[TRAINING_JSON] = _json_bytes(training_json)
        files[TRAINING_FILE] = safetensors.torch.save(training_tensors)
    _write_folder(target, files)
    return target


def _state_tensors(prefix: str, module: nn.Module) -> dict[str, Tensor]:
    return {
        f"{prefix}.{name}": value.detach().to("cpu", copy=True).contiguous()
        for name, value in module.state_dict().items()
    }


def _json_bytes(value: object) -> bytes:
    return (json.dumps(value, indent=1, allow_nan=True) + "\n").encode("utf-8")


def _write_folder(target: Path, files: dict[str, bytes]) -> None:
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    tmp = parent / f".{target.name}.{token}.tmp"
    tmp.mkdir()
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        if target.exists():
            old = parent / f".{target.name}.{token}.old"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode_training(state: TrainingState) -> tuple[dict[str, Any], dict[str, Tensor]]:
    if isinstance(state.step, bool) or not isinstance(state.step, int) or state.step < 0:
        raise ValueError(f"TrainingState.step must be an integer >= 0, got {state.step!r}")
    for name in state.optimizers:
        if not isinstance(name, str) or not _OPTIMIZER_NAME.fullmatch(name):
            raise ValueError(
                f"TrainingState.optimizers: name {name!r} must be letters, digits, _ or -"
            )
    tensors: dict[str, Tensor] = {}
    encoded = {
        "step": state.step,
        "optimizers": _encode(state.optimizers, "optimizers", tensors),
        "rng": _encode(state.rng, "rng", tensors),
        "extra": _encode(state.extra, "extra", tensors),
    }
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "state": encoded}, tensors


def _encode(value: Any, path: str, tensors: dict[str, Tensor]) -> Any:
    """``value`` as JSON, its tensors moved to ``tensors`` under their path."""
    if isinstance(value, Tensor):
        if path in tensors:
            raise ValueError(f"TrainingState: two values have the path {path!r}")
        tensors[path] = value.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": path}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ValueError(f"TrainingState: {path} is a {value.dtype} array; not saved")
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return _encode(value.item(), path, tensors)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{path}.{k}", tensors) for k, v in value.items()}
        items = []
        for i, (k, v) in enumerate(value.items()):
            if k is not None and not isinstance(k, bool | int | float | str):
                raise ValueError(f"TrainingState: {path} has a key of type {type(k).__name__}")
            items.append([k, _encode(v, f"{path}.{k if isinstance(k, int) else i}", tensors)])
        return {"__items__": items}
    raise ValueError(f"TrainingState: {path} is a {type(value).__name__}, which is not saved")


# --- loading ------------------------------------------------------------------------------------
def load_checkpoint(
    folder: str | os.PathLike[str],
    device: torch.device | str | None = None,
    with_critic: bool = True,
) -> LoadedCheckpoint:
    """Read a checkpoint folder written by :func:`save_checkpoint`.

    Parameters
    ----------
    folder : path
    device : torch.device or str, optional
        Where to put the networks (the CPU if None). Optimizer states stay on the CPU;
        ``optimizer.load_state_dict`` moves them to the parameters' device.
    with_critic : bool
        Build and load the critic too (False: the weights file's critic tensors are skipped
        and ``critic`` is None).

    Raises
    ------
    CheckpointError
        Naming the file and the reason: a missing file, a file that is not safetensors (a
        pickle or ``torch.save`` file is refused, never unpickled), a truncated file,
        ``config.json`` that is not valid JSON or has another format version, weights whose
        names or shapes do not match the config.
    """
    root = Path(folder)
    if not root.is_dir():
        raise CheckpointError(root, "no such checkpoint folder")
    config, version = read_config_file(root / CONFIG_FILE)
    weights_path = root / WEIGHTS_FILE
    weights = _read_safetensors(weights_path)
    with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten anyway
        generator = build_generator(config)
        critic = build_critic(config) if with_critic else None
    expected: dict[str, Tensor] = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    if critic is not None:
        expected.update({f"critic.{k}": v for k, v in critic.state_dict().items()})
    else:
        weights = {k: v for k, v in weights.items() if not k.startswith("critic.")}
    _check_match(weights_path, weights, expected)
    generator.load_state_dict(_strip(weights, "generator."))
    generator.to(device or "cpu").eval()
    if critic is not None:
        critic.load_state_dict(_strip(weights, "critic."))
        critic.to(device or "cpu").eval()
    training = _read_training(root)
    return LoadedCheckpoint(config, generator, critic, training, version)


def read_config(folder: str | os.PathLike[str]) -> ModelConfig:
    """The model config of a checkpoint folder, without reading its weights.

    Raises
    ------
    CheckpointError
        When ``config.json`` is missing or not a valid config.
    """
    return read_config_file(Path(folder) / CONFIG_FILE)[0]


def _strip(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    """The tensors of a safetensors file, after checking that it is one and is complete."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(path, "missing") from None
    except OSError as e:
        raise CheckpointError(path, f"cannot be read ({e})") from None
    header_size = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
    if not (2 <= header_size <= _MAX_HEADER and data[8:9] == b"{"):
        if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
            raise CheckpointError(
                path,
                "is not a safetensors file: it looks like a torch.save()/pickle file, which "
                "Barforge never loads (unpickling can run arbitrary code); convert it to "
                "safetensors with the tool that made it",
            )
        if len(data) < 9:
            raise CheckpointError(
                path, f"is truncated or not a safetensors file ({len(data)} bytes)"
            )
        raise CheckpointError(path, "is not a safetensors file (no safetensors header)")
    if 8 + header_size > len(data):
        raise CheckpointError(
            path,
            f"is truncated: the header alone needs {8 + header_size} bytes, the file has "
            f"{len(data)}",
        )
    try:
        header = json.loads(data[8 : 8 + header_size])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(path, f"is not a safetensors file (header: {e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(path, "is not a safetensors file (header is not an object)")
    try:
        needed = max(
            (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"),
            default=0,
        )
    except (TypeError, KeyError, IndexError, ValueError):
        raise CheckpointError(path, "is not a safetensors file (bad header entries)") from None
    present = len(data) - 8 - header_size
    if present < needed:
        raise CheckpointError(
            path,
            f"is truncated: it holds {present} bytes of tensor data, its header lists {needed}",
        )
    try:
        return safetensors.torch.load(data)
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise CheckpointError(path, f"cannot be read as safetensors ({e})") from None


def _check_match(path: Path, found: dict[str, Tensor], expected: dict[str, Tensor]) -> None:
    problems: list[str] = []
    for name, want in expected.items():  # in the model's order
        got = found.get(name)
        if got is None:
            problems.append(f"{name} missing")
        elif tuple(want.shape) != tuple(got.shape) or want.dtype != got.dtype:
            problems.append(
                f"{name} is {got.dtype} {tuple(got.shape)}, the model has "
                f"{want.dtype} {tuple(want.shape)}"
            )
    problems.extend(f"{name} not in the model" for name in sorted(found.keys() - expected.keys()))
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise CheckpointError(
            path,
            f"does not match the model that {CONFIG_FILE} describes: {len(problems)} "
            f"mismatch(es): {shown}{more}",
        )


def _read_training(root: Path) -> TrainingState | None:
    json_path, tensors_path = root / TRAINING_JSON, root / TRAINING_FILE
    if not json_path.exists() and not tensors_path.exists():
        return None
    if not json_path.exists():
        raise CheckpointError(json_path, f"missing (but {TRAINING_FILE} is there)")
    data = read_json(json_path)
    tensors = _read_safetensors(tensors_path)
    state = data.get("state")
    if not isinstance(state, dict) or set(state) != {"step", "optimizers", "rng", "extra"}:
        raise CheckpointError(json_path, 'has no valid "state" object')
    try:
        decoded = {k: _decode(v, tensors) for k, v in state.items()}
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(json_path, f"bad training state ({e})") from None
    step = decoded["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(json_path, f"bad training state (step {step!r})")
    for name in ("optimizers", "rng", "extra"):
        if not isinstance(decoded[name], dict):
            raise CheckpointError(json_path, f"bad training state ({name} is not an object)")
    return TrainingState(step, decoded["optimizers"], decoded["rng"], decoded["extra"])


def _decode(value: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of :func:`_encode` (builds only containers, numbers, strings and tensors)."""
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tensor__"}:
        name = value["__tensor__"]
        if name not in tensors:
            raise KeyError(f"{TRAINING_FILE} lacks the tensor {name!r}")
        return tensors[name]
    if set(value) == {"__tuple__"}:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if set(value) == {"__ndarray__", "dtype"}:
        dtype = np.dtype(str(value["dtype"]))
        if dtype.kind not in "biuf":
            raise ValueError(f"array dtype {dtype} is not allowed")
        return np.asarray(value["__ndarray__"], dtype=dtype)
    if set(value) == {"__items__"}:
        out: dict[Any, Any] = {}
        for item in value["__items__"]:
            key, inner = item
            out[key] = _decode(inner, tensors)
        return out
    return {k: _decode(v, tensors) for k, v in value.items()}
