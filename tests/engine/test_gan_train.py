# SPDX-License-Identifier: MIT
"""Training runs for real, on a tiny dataset: checkpoints, samples, exact resume, Ctrl-C."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from engine.cli import main
from engine.data.store import PhraseDataset
from engine.gan.checkpoint import load_checkpoint
from engine.gan.config import TrainConfig
from engine.gan.model import HybridCritic
from engine.gan.train import _Run, checkpoint_folders, straight_through, train
from engine.midi.files import read_midi_file, write_midi_file
from engine.music import Note, Pattern, Track

SMALL = TrainConfig(steps=4, checkpoint_every=2, batch_size=8, n_critic=2, seed=3)


def _piece(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    notes = [
        Note(beat * 480, 480, int(60 + rng.integers(0, 12)))
        for beat in range(32)
        if rng.random() < 0.9
    ]
    bass = [Note(bar * 1920, 1920, int(36 + rng.integers(0, 12))) for bar in range(8)]
    return Pattern(
        [Track("Piano", 0, False, 0, notes), Track("Bass", 33, False, 1, bass)], n_bars=8
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train")
    songs = root / "songs"
    songs.mkdir()
    for seed in range(4):
        write_midi_file(_piece(seed), songs / f"song{seed}.mid")
    out = root / "data"
    args = ["data", "build", "--source", str(songs), "--out", str(out), "--jobs", "1"]
    assert main([*args, "--steps-per-beat", "4", "--n-pitches", "48", "--lowest-pitch", "36"]) == 0
    return out


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    loaded = load_checkpoint(folder, with_critic=True)
    assert loaded.critic is not None
    state = {f"g.{k}": v for k, v in loaded.generator.state_dict().items()}
    state.update({f"d.{k}": v for k, v in loaded.critic.state_dict().items()})
    return state


def test_a_run_writes_checkpoints_samples_and_a_log(dataset: Path, tmp_path: Path) -> None:
    log = io.StringIO()
    result = train(dataset, tmp_path / "run", SMALL, device="cpu", stream=log)
    assert result.step == 4
    assert not result.interrupted
    assert [step for step, _ in checkpoint_folders(tmp_path / "run")] == [2, 4]
    assert result.last_checkpoint == tmp_path / "run" / "checkpoints" / "step-0000004"
    samples = tmp_path / "run" / "samples" / "step-0000004"
    for i in range(1, 5):
        pattern = read_midi_file(samples / f"sample-{i}.mid").pattern
        assert [t.name for t in pattern.tracks] == ["Drums", "Piano", "Guitar", "Bass", "Strings"]
        assert pattern.n_bars == 4
    assert imread(samples / "samples.png").shape[1] > 600
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert "w_distance" in lines[-1]
    assert "step 4:" in log.getvalue()


def test_resume_continues_exactly_as_an_unbroken_run(dataset: Path, tmp_path: Path) -> None:
    straight = train(dataset, tmp_path / "straight", SMALL, device="cpu", stream=io.StringIO())
    first = train(
        dataset, tmp_path / "broken", SMALL, device="cpu", stream=io.StringIO(), stop_after_steps=1
    )
    assert first.step == 1
    assert [s for s, _ in checkpoint_folders(tmp_path / "broken")] == [1]
    log = io.StringIO()
    resumed = train(dataset, tmp_path / "broken", SMALL, device="cpu", stream=log)
    assert "resuming from" in log.getvalue()
    assert resumed.step == 4
    assert straight.last_checkpoint is not None
    assert resumed.last_checkpoint is not None
    a, b = _weights(straight.last_checkpoint), _weights(resumed.last_checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_a_damaged_newest_checkpoint_is_passed_over(dataset: Path, tmp_path: Path) -> None:
    train(dataset, tmp_path / "run", SMALL, device="cpu", stream=io.StringIO())
    newest = tmp_path / "run" / "checkpoints" / "step-0000004" / "weights.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])
    settings = TrainConfig(**{**SMALL.to_dict(), "steps": 5})
    log = io.StringIO()
    result = train(dataset, tmp_path / "run", settings, device="cpu", stream=log)
    assert "passing over a checkpoint that does not load" in log.getvalue()
    assert "step-0000002 (step 2)" in log.getvalue()
    assert result.step == 5


def test_ctrl_c_writes_a_checkpoint_and_exits_130(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [sys.executable, "-m", "engine.cli", "train", "--data", str(dataset)]
    command += ["--out", str(run), "--steps", "100000", "--checkpoint-every", "3"]
    command += ["--batch-size", "8", "--n-critic", "1", "--device", "cpu"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not checkpoint_folders(run) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert checkpoint_folders(run), "no checkpoint appeared within 2 minutes"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:  # whatever failed above, leave no training process behind
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "interrupted at step" in err
    step, folder = checkpoint_folders(run)[-1]
    assert f"step {step} of 100000" in out
    assert load_checkpoint(folder).training is not None
    assert os.listdir(run / "samples" / folder.name)


def test_train_cli_reports_a_missing_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r")]) == 1
    assert str(tmp_path / "none") in capsys.readouterr().err


def test_bench_model_reports_latency_throughput_and_flops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    out = tmp_path / "model.json"
    args = ["bench", "model", "--repeats", "5", "--train-steps", "1", "--batch-size", "4"]
    assert main([*args, "--device", "cpu", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    # The shipped default model's architecture is what is measured.
    from engine.gan.checkpoint import read_config
    from engine.models import default_model_dir

    assert figures["phrase_shape"] == list(read_config(default_model_dir()).spec.shape)
    assert figures["generator_latency"]["16"]["median_ms"] > 0
    training = figures["training"]
    assert training["real_phrases_per_second"] == pytest.approx(
        4 * 5 / training["step_seconds_median"]
    )
    assert 0 < training["share_of_peak"] < 1
    assert training["flops_per_step"] > 1e6
    assert "GFLOP/s" in capsys.readouterr().out
    assert main(["bench", "model", "--device", "tpu"]) == 2  # unknown on every machine


def test_eval_adds_a_row_per_model(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    result = train(dataset, tmp_path / "run", SMALL, device="cpu", stream=io.StringIO())
    assert result.last_checkpoint is not None
    report = tmp_path / "report"
    args = ["eval", "--data", str(dataset), "--n", "12", "--out", str(report)]
    assert main([*args, "--model", str(result.last_checkpoint), "--device", "cpu"]) == 0
    capsys.readouterr()
    sources = json.loads((report / "report.json").read_text())["sources"]
    row = sources["model run/step-0000004"]
    assert row["n_phrases"] == 12
    assert row["set"]["nn_distance"] is not None  # measured against the training split
    assert "| model run/step-0000004 | 12 |" in (report / "report.md").read_text()

    # The same checkpoint and seed give the same phrases, hence the same figures.
    again = tmp_path / "again"
    assert main([*args[:-1], str(again), "--model", str(result.last_checkpoint)]) == 0
    repeat = json.loads((again / "report.json").read_text())["sources"]
    assert repeat["model run/step-0000004"] == row

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    assert main([*args, "--model", str(broken)]) == 1
    assert "config.json" in capsys.readouterr().err


def test_two_gloo_processes_keep_identical_replicas(dataset: Path, tmp_path: Path) -> None:
    import json

    from engine.gan.train import weights_digest

    run = tmp_path / "run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*torchrun, "--nproc-per-node", "2", "-m", "engine.cli", "train"]
    command += ["--data", str(dataset), "--out", str(run), "--steps", "4"]
    command += ["--checkpoint-every", "2", "--batch-size", "8", "--n-critic", "2"]
    done = subprocess.run(
        [*command, "--device", "cpu"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("step 4 of 4") == 1
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    for record in records:
        first, second = record["replica_digests"]
        assert first == second  # both processes hold the same weights...
        losses = [f["d_loss"] for f in record["replica_figures"]]
        assert losses[0] != losses[1]  # ...trained on different batches
        loaded = load_checkpoint(run / "checkpoints" / f"step-{record['step']:07d}")
        assert loaded.critic is not None
        assert weights_digest(loaded.generator, loaded.critic) == first
        assert loaded.training is not None
        assert len(loaded.training.extra["rank_rng"]) == 2


def test_straight_through_shows_the_critic_decoded_notes_with_soft_gradients() -> None:
    frames = torch.tensor([0.2, 0.6, 0.9, 0.51], requires_grad=True)
    onsets = torch.tensor([0.9, 0.7, 0.1, 0.8], requires_grad=True)
    hard_frames, hard_onsets = straight_through(frames, onsets)
    assert hard_frames.tolist() == [0.0, 1.0, 1.0, 1.0]
    assert hard_onsets.tolist() == [0.0, 1.0, 0.0, 1.0]  # no onset where nothing sounds
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0])
    ((hard_frames + hard_onsets) * weights).sum().backward()  # type: ignore[no-untyped-call]
    assert frames.grad is not None
    assert onsets.grad is not None
    assert frames.grad.tolist() == weights.tolist()
    assert onsets.grad.tolist() == weights.tolist()


def test_a_run_with_a_chroma_critic_switches_to_straight_through_at_its_step(
    dataset: Path, tmp_path: Path
) -> None:
    settings = TrainConfig(
        steps=4, checkpoint_every=2, batch_size=8, n_critic=1, seed=3, straight_through_from=2
    )
    log = io.StringIO()
    train(
        dataset, tmp_path / "run", settings, model_overrides={"d_chroma_features": 8},
        device="cpu", stream=log, stop_after_steps=2,
    )  # fmt: skip
    loaded = load_checkpoint(tmp_path / "run" / "checkpoints" / "step-0000002", with_critic=True)
    assert loaded.config.d_chroma_features == 8
    assert isinstance(loaded.critic, HybridCritic)
    assert loaded.critic.chroma is not None
    run = _Run(PhraseDataset.load(dataset), loaded.config, settings, torch.device("cpu"))
    soft = run._fake(16)
    assert not all(((p == 0) | (p == 1)).all() for p in soft)  # before step 2: probabilities
    run.step = 2
    hard = run._fake(16)
    assert all(((p == 0) | (p == 1)).all() for p in hard)  # from step 2: decoded notes
    # The resumed run goes on from step 2 with the switch made.
    result = train(
        dataset, tmp_path / "run", settings, model_overrides={"d_chroma_features": 8},
        device="cpu", stream=log,
    )  # fmt: skip
    assert result.step == 4
