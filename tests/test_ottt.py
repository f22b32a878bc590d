"""OTTT: its gradient is the trace formula, equals BPTT's at T=1, and its memory does not grow with T;
it trains, resumes, runs data-parallel, refuses bad combinations, and writes ordinary checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ttfs_deploy.cli import cli
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import ModelConfig, TTFSNet
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.bptt import bptt_step
from ttfs_deploy.train.memory import SavedTensorMeter
from ttfs_deploy.train.ottt import ottt_step

from conftest import torchrun_stderr

ALPHA = 4.0  # the sigmoid surrogate's slope (model/neuron.py)


def _surrogate(z: np.ndarray) -> np.ndarray:
    sig = 1.0 / (1.0 + np.exp(-ALPHA * z))
    return ALPHA * sig * (1.0 - sig)


def _hand_network() -> TTFSNet:
    """4 latency inputs -> 3 -> 2 fire-once neurons, plain weights (no standardization), T = 4."""
    model = TTFSNet(ModelConfig("FC3-FC2", (1, 2, 2), 2, T=4, encoder="latency", norm="none", dropout=0.0))
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor([[1.2, 0.3, -0.2, 0.5], [0.4, 0.4, 0.4, 0.4],
                                                   [-0.5, 0.9, 0.6, 0.1]]))
        model.layers[0].bias.copy_(torch.tensor([0.05, 0.1, -0.05]))
        model.layers[1].weight.copy_(torch.tensor([[0.8, -0.3, 0.6], [0.2, 0.7, -0.4]]))
        model.layers[1].bias.copy_(torch.tensor([0.1, 0.2]))
    return model


def _hand_gradients(model: TTFSNet, times: np.ndarray, labels: np.ndarray) -> dict:
    """OTTT_A's batch gradient by hand, float64: sum over steps t of the three-factor rule
    ``dW += g[t]^T a[t]`` (error x surrogate x presynaptic trace), ``db += (t + 1) sum g[t]``,
    with the per-step loss CE(running decoder output) / T averaged over the batch."""
    T, scale = model.config.T, model.config.logit_scale
    w_t = model.time_weights.double().numpy()
    W1, b1 = (p.detach().double().numpy() for p in (model.layers[0].weight, model.layers[0].bias))
    W2, b2 = (p.detach().double().numpy() for p in (model.layers[1].weight, model.layers[1].bias))
    B = len(times)
    onehot = np.eye(2)[labels]
    grads = {k: 0.0 for k in ("W1", "b1", "W2", "b2")}
    fired1, fired2, running = np.zeros((B, 3)), np.zeros((B, 2)), np.zeros((B, 2))
    saw_latched = False
    for t in range(T):
        a0 = ((times >= 0) & (times <= t)).astype(float)      # input trace: "has fired by t"
        v1 = a0 @ W1.T + (t + 1) * b1
        s1 = (v1 >= 1) * (1 - fired1)
        alive1, fired1 = 1 - fired1, np.maximum(fired1, s1)
        a1 = fired1                                            # hidden trace
        v2 = a1 @ W2.T + (t + 1) * b2
        s2 = (v2 >= 1) * (1 - fired2)
        alive2, fired2 = 1 - fired2, np.maximum(fired2, s2)
        running = running + scale * w_t[t] * s2
        p = np.exp(running - running.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g2 = scale * w_t[t] * (p - onehot) / T / B * _surrogate(v2 - 1) * alive2
        g1 = (g2 @ W2) * _surrogate(v1 - 1) * alive1
        grads["W2"] += g2.T @ a1
        grads["b2"] += (t + 1) * g2.sum(0)
        grads["W1"] += g1.T @ a0
        grads["b1"] += (t + 1) * g1.sum(0)
        saw_latched |= bool((alive1 == 0).any())
    assert saw_latched and fired1.any() and not fired1.all()  # the example exercises trace and latch
    return grads


def test_ottt_gradient_is_the_trace_formula():
    model = _hand_network().train()
    times = np.array([[0, 1, 2, -1], [1, 0, -1, 2], [3, -1, 0, 0]])
    labels = np.array([0, 1, 1])
    expected = _hand_gradients(model, times, labels)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    ottt_step(model, model, optimizer, torch.as_tensor(times), torch.as_tensor(labels), TrainConfig(method="ottt"))
    got = {"W1": model.layers[0].weight.grad, "b1": model.layers[0].bias.grad,
           "W2": model.layers[1].weight.grad, "b2": model.layers[1].bias.grad}
    for name, value in expected.items():
        assert np.abs(value).max() > 1e-4, name  # a gradient that is not trivially zero
        np.testing.assert_allclose(got[name].numpy(), value, rtol=1e-5, atol=1e-7, err_msg=name)


def _grads_after(step, config: ModelConfig, x: torch.Tensor, y: torch.Tensor) -> dict:
    torch.manual_seed(3)
    model = TTFSNet(config).train()
    torch.manual_seed(4)  # the dropout masks
    step(model, model, torch.optim.SGD(model.parameters(), lr=0.0), x, y, TrainConfig(method="ottt"))
    return {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("arch, encoder", [("4C3-AP2-FC12-FC10", "onoff"), ("4C3-AP2-FC12-FC10", "direct"),
                                           ("4C3S2-MP2-FC10", "latency")])
def test_ottt_gradient_equals_bptt_at_one_step(arch, encoder):
    """At T = 1 there is no time to ignore: OTTT's gradient is BPTT's (conv, stride, pools, dropout)."""
    config = ModelConfig(arch, (1, 8, 8), 10, T=1, encoder=encoder, dropout=0.25, init_gain=0.5)
    data = load_dataset("digits", "train").head(16)
    from ttfs_deploy.data.encoders import encode

    x, y = torch.as_tensor(encode(encoder, data.x, 1)), torch.as_tensor(data.y)
    bptt, ottt = _grads_after(bptt_step, config, x, y), _grads_after(ottt_step, config, x, y)
    assert any(g.abs().max() > 0 for g in bptt.values())
    for name in bptt:
        torch.testing.assert_close(ottt[name], bptt[name], rtol=1e-5, atol=1e-7, msg=name)


def _saved_peak(step, T: int) -> int:
    torch.manual_seed(0)
    model = TTFSNet(ModelConfig("4C3-AP2-FC16-FC10", (1, 8, 8), 10, T=T, encoder="onoff", dropout=0.2)).train()
    x, y = torch.randint(-1, T, (32, 128)), torch.randint(0, 10, (32,))
    with SavedTensorMeter() as meter:
        step(model, model, torch.optim.Adam(model.parameters()), x, y, TrainConfig(method="ottt"))
    assert meter.held == 0  # every saved tensor was released by the end of the step
    return meter.peak


def test_memory_of_an_ottt_step_does_not_grow_with_T():
    """Bytes held for backward at once, over a whole training step (all T time steps)."""
    ottt = {T: _saved_peak(ottt_step, T) for T in (4, 32)}
    bptt = {T: _saved_peak(bptt_step, T) for T in (4, 32)}
    assert 0 < ottt[32] <= ottt[4]           # constant in T (189,680 bytes measured at both)
    assert bptt[32] >= 4 * bptt[4]           # the meter does see BPTT's linear growth
    assert ottt[4] < bptt[4]


DIGITS_CONFIG = dict(arch="FC32-FC10", input_shape=(1, 8, 8), n_classes=10, T=8, encoder="direct",
                     init_gain=0.05, dropout=0.1)


def _ottt_train(path, epochs_to_run=3, resume=False, online=False):
    data, test = load_dataset("digits", "train").head(640), load_dataset("digits", "test").head(200)
    cfg = TrainConfig(epochs=3, batch_size=32, seed=1, progress=False, method="ottt", online_update=online,
                      qat_epochs=1)

    def stop(record):
        if record["epoch"] == epochs_to_run:
            raise KeyboardInterrupt

    try:
        train(ModelConfig(**DIGITS_CONFIG), data, test, cfg, str(path), resume=resume,
              on_epoch=stop if epochs_to_run < 3 else None)
    except KeyboardInterrupt:
        pass
    return load_checkpoint(str(path))


def test_ottt_trains_resumes_exactly_and_logs(tmp_path):
    full, meta = _ottt_train(tmp_path / "full.pt")
    assert meta["train"]["method"] == "ottt" and meta["epochs_done"] == 3 and full.config.weight_bits == 8
    assert meta["accuracy"] > 0.6  # digits, 640 samples, 3 epochs: 0.685 measured (BPTT 0.745)
    _ottt_train(tmp_path / "part.pt", epochs_to_run=1)
    resumed, _ = _ottt_train(tmp_path / "part.pt", resume=True)
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))
    log = [json.loads(line) for line in (tmp_path / "part.pt.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3] and log[-1]["loss"] > 0


def test_online_update_trains_and_differs_from_accumulation(tmp_path):
    online, meta = _ottt_train(tmp_path / "o.pt", online=True)
    accumulated, _ = _ottt_train(tmp_path / "a.pt")
    assert meta["train"]["online_update"] and meta["accuracy"] > 0.6
    assert not torch.equal(online.layers[0].weight, accumulated.layers[0].weight)


def _cli(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


def test_bad_combinations_are_one_line_errors(tmp_path):
    code, err = _cli("train", "--data", "digits", "--online-update", "-o", str(tmp_path / "m.pt"))
    assert code == 1 and err.count("\n") == 1 and "--method ottt" in err
    assert not (tmp_path / "m.pt").exists()
    args = ["train", "--data", "digits", "--arch", "FC8-FC10", "--T", "4", "--epochs", "1", "--limit", "64",
            "-o", str(tmp_path / "r.pt")]
    assert _cli(*args)[0] == 0
    code, err = _cli(*args, "--method", "ottt", "--resume")
    assert code == 1 and err.count("\n") == 1 and "trained with bptt, not ottt_a" in err


def test_ottt_under_torchrun_two_processes(tmp_path):
    out = tmp_path / "ddp.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "ttfs_deploy.cli", "train", "--data", "digits", "--arch", "FC16-FC10", "--T", "4", "--method", "ottt",
           "--epochs", "2", "--limit", "256", "--batch-size", "32", "--encoder", "direct", "--init-gain", "0.02",
           "--qat-epochs", "0", "-o", str(out)]  # the generic options, not the digits recipe
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, torchrun_stderr(done.stderr)
    log = [json.loads(line) for line in (tmp_path / "ddp.pt.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and log[-1]["test_accuracy"] > 0.3


def test_an_ottt_model_compiles_and_runs_like_any_other(tmp_path):
    """The checkpoint is ordinary: compile it and run it on the integer simulator."""
    _ottt_train(tmp_path / "m.pt")
    code, err = _cli("compile", str(tmp_path / "m.pt"), "--target", "loihi2", "--data", "digits",
                     "--samples", "100", "--json", str(tmp_path / "c.json"))
    assert code == 0, err
    accuracy = json.loads((tmp_path / "c.json").read_text())["accuracy"]
    assert accuracy["integer"] > 0.6 and abs(accuracy["integer"] - accuracy["float"]) <= 0.05
