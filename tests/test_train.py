"""Training: fixed seeds give identical runs; resume continues exactly; logs and checkpoints."""

from __future__ import annotations

import json

import numpy as np
import torch
from click.testing import CliRunner

from ttfs_deploy.cli import cli
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.augment import random_flip, random_shift

CONFIG = dict(arch="FC16-FC10", input_shape=(1, 8, 8), n_classes=10, T=6, encoder="onoff", dropout=0.2)


def _train(path, epochs, resume=False, qat=0, average=0):
    data = load_dataset("digits", "train").head(192)
    test = load_dataset("digits", "test").head(64)
    cfg = TrainConfig(epochs=3, batch_size=32, seed=7, jitter=1, progress=False, qat_epochs=qat, average_last=average)
    if epochs < 3:  # stop early by training a prefix of the same 3-epoch schedule
        cfg_prefix = TrainConfig(**{**cfg.__dict__})
        train(ModelConfig(**CONFIG), data, test, cfg_prefix, str(path), resume=resume,
              on_epoch=lambda r: _stop_after(r, epochs))
    else:
        train(ModelConfig(**CONFIG), data, test, cfg, str(path), resume=resume)
    return load_checkpoint(str(path))[0].state_dict()


class _Stop(Exception):
    pass


def _stop_after(record, epochs):
    if record["epoch"] == epochs:
        raise _Stop


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_fixed_seed_gives_identical_runs(tmp_path):
    assert _same(_train(tmp_path / "a.pt", 3), _train(tmp_path / "b.pt", 3))


def test_resume_continues_exactly(tmp_path):
    full = _train(tmp_path / "full.pt", 3)
    try:
        _train(tmp_path / "part.pt", 1)
    except _Stop:
        pass
    assert torch.load(tmp_path / "part.pt.last.pt", weights_only=True)["epoch"] == 1
    resumed = _train(tmp_path / "part.pt", 3, resume=True)
    assert _same(full, resumed)
    log = [json.loads(line) for line in (tmp_path / "part.pt.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    assert {"loss", "train_accuracy", "test_accuracy", "latency_steps_mean", "samples_per_second"} <= set(log[0])


def test_average_last_writes_the_mean_of_the_last_epochs_weights(tmp_path):
    """--average-last 2 of 3 epochs: MODEL.pt holds the float64 mean of the weights at the ends of
    epochs 2 and 3 (each read from that epoch's resume state); training itself is unchanged."""
    ends = {}

    def keep(record):
        ends[record["epoch"]] = torch.load(tmp_path / "a.pt.last.pt", weights_only=True)["state_dict"]

    data, test = load_dataset("digits", "train").head(192), load_dataset("digits", "test").head(64)
    cfg = TrainConfig(epochs=3, batch_size=32, seed=7, jitter=1, progress=False, average_last=2)
    record = train(ModelConfig(**CONFIG), data, test, cfg, str(tmp_path / "a.pt"), on_epoch=keep)
    model, meta = load_checkpoint(str(tmp_path / "a.pt"))
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            assert torch.equal(value, ((ends[2][key].double() + ends[3][key].double()) / 2).to(value.dtype)), key
    assert _same(ends[3], _train(tmp_path / "plain.pt", 3))  # the trajectory is the plain run's
    assert record["average_epochs"] == 2 and meta["accuracy"] == record["average_test_accuracy"]


def test_resume_inside_the_averaging_window_continues_exactly(tmp_path):
    full = _train(tmp_path / "full.pt", 3, average=2)
    try:
        _train(tmp_path / "part.pt", 2, average=2)
    except _Stop:
        pass
    assert _same(full, _train(tmp_path / "part.pt", 3, resume=True, average=2))


def test_average_last_longer_than_the_run_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--data", "digits", "--epochs", "2", "--average-last", "3",
                                      "-o", str(tmp_path / "m.pt")])
    assert result.exit_code == 1 and "--average-last 3 is not within the run's 2 epochs" in result.output
    assert not list(tmp_path.iterdir())


def test_quantization_aware_epochs_are_recorded_in_the_checkpoint(tmp_path):
    _train(tmp_path / "q.pt", 3, qat=1)
    model, meta = load_checkpoint(str(tmp_path / "q.pt"))
    assert model.config.weight_bits == 8 and meta["epochs_done"] == 3


def test_direct_current_input_trains(tmp_path):
    """The analog input path learns (well above the 10 % of chance on digits in a few epochs)."""
    from ttfs_deploy.train.evaluate import evaluate

    data, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    config = ModelConfig(**{**CONFIG, "encoder": "direct", "arch": "FC32-FC10", "init_gain": 0.05})
    train(config, data, test, TrainConfig(epochs=4, batch_size=32, seed=0, progress=False), str(tmp_path / "d.pt"))
    model, _ = load_checkpoint(str(tmp_path / "d.pt"))
    assert model.config.encoder == "direct"
    assert evaluate(model, test)["accuracy"] > 0.8  # 0.913 measured


def test_random_shift_translates_each_image_with_zero_fill():
    x = np.zeros((200, 1, 5, 5), dtype=np.float32)
    x[:, 0, 2, 2] = 1.0
    shifted = random_shift(x, 1, seed=3)
    assert random_shift(x, 0, seed=3) is x
    assert (shifted.sum(axis=(1, 2, 3)) == 1.0).all()  # the pixel moved, nothing else appeared
    where = np.argwhere(shifted[:, 0] == 1.0)  # (image, row, col) of the moved pixel
    assert set(where[:, 1]) == {1, 2, 3} and set(where[:, 2]) == {1, 2, 3}  # every offset in [-1, 1] occurs
    assert (random_shift(x, 1, seed=3) == shifted).all()  # the seed fixes the shifts



def test_random_flip_mirrors_a_random_half_left_to_right():
    x = np.arange(400 * 2 * 3 * 4, dtype=np.float32).reshape(400, 2, 3, 4)
    flipped = random_flip(x, True, seed=5)
    assert random_flip(x, False, seed=5) is x
    mirrored = (flipped == x[..., ::-1]).all(axis=(1, 2, 3))
    assert (mirrored | (flipped == x).all(axis=(1, 2, 3))).all()  # each image whole: mirrored or untouched
    assert 150 < mirrored.sum() < 250  # about half
    assert (random_flip(x, True, seed=5) == flipped).all() and not (random_flip(x, True, seed=6) == flipped).all()

def test_cli_regularization_flags_reach_the_training_config(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--data", "digits", "--arch", "FC16-FC10", "--T", "4", "--epochs", "1",
                                      "--limit", "64", "--augment-shift", "1", "--weight-decay", "1e-4",
                                      "-o", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, (result.stdout, result.exception)
    train_meta = load_checkpoint(str(tmp_path / "m.pt"))[1]["train"]
    assert train_meta["augment_shift"] == 1 and train_meta["weight_decay"] == 1e-4


def test_silent_output_gives_null_latency_and_strict_json():
    """A network whose output never fires reports latency None (JSON null), not NaN."""
    from ttfs_deploy.model.network import TTFSNet
    from ttfs_deploy.train.evaluate import evaluate

    model = TTFSNet(ModelConfig(**{**CONFIG, "norm": "none"}))
    with torch.no_grad():
        model.layers[-1].weight.zero_()
        model.layers[-1].bias.fill_(-1e3)
    result = evaluate(model, load_dataset("digits", "test").head(16))
    assert result["latency_steps_mean"] is None and result["silent_fraction"] == 1.0
    assert json.loads(json.dumps(result, allow_nan=False))["latency_steps_mean"] is None
