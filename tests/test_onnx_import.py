"""ONNX import: graphs exported by torch.onnx.export inside the tests, read back exactly; bad
files and unsupported graphs refused with one-line errors and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.importers.convert import ann_forward, build_model, model_config, tie_split_accuracy, ttfs_state
from ttfs_deploy.model.network import first_spike_times
from ttfs_deploy.importers.onnx_graph import read_onnx

ROOT = Path(__file__).resolve().parents[1]


def export(model: nn.Module, path: Path, shape=(1, 8, 8), **kwargs) -> Path:
    """torch.onnx.export (TorchScript exporter) with a dynamic batch unless told otherwise."""
    kwargs.setdefault("input_names", ["x"])
    kwargs.setdefault("dynamic_axes", {"x": {0: "batch"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(1, *shape),), str(path), dynamo=False, **kwargs)
    return path


def small_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1, stride=2), nn.ReLU(), nn.Dropout(0.3), nn.Flatten(),
                         nn.Linear(6 * 2 * 2, 12), nn.ReLU(), nn.Linear(12, 10))


class MatMulNet(nn.Module):
    """``x @ W + b`` written out, so the exporter emits MatMul and Add rather than Gemm."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.w1, self.b1 = nn.Parameter(torch.randn(64, 16)), nn.Parameter(torch.randn(16))
        self.w2, self.b2 = nn.Parameter(torch.randn(16, 10)), nn.Parameter(torch.randn(10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(x.reshape(x.shape[0], -1) @ self.w1 + self.b1)
        return h @ self.w2 + self.b2


def torch_weights(model: nn.Module):
    return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
            for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_weights_round_trip_layer_by_layer(tmp_path):
    model = small_cnn()
    graph = read_onnx(str(export(model, tmp_path / "cnn.onnx")))
    assert graph.arch == "4C3-AP2-6C3S2-FC12-FC10"
    assert graph.input_shape == (1, 8, 8)
    for layer, (w, b) in zip(graph.weight_layers, torch_weights(model), strict=True):
        np.testing.assert_array_equal(layer.weight, w)
        np.testing.assert_array_equal(layer.bias, b)
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    logits, _ = ann_forward(graph, x)
    np.testing.assert_allclose(logits, model(torch.as_tensor(x)).detach().numpy(), rtol=0, atol=1e-5)


def test_checkpoint_weights_are_the_ann_weights_at_unit_scales(tmp_path):
    """With tau = 1 and spike values 1 the conversion is the identity on weights, except that the
    first layer's (a current at every step) is divided by T like every bias (per step)."""
    model, T = small_cnn(), 8
    graph = read_onnx(str(export(model, tmp_path / "cnn.onnx")))
    n = len(graph.weight_layers)
    state = ttfs_state(graph, [1.0] * n, [np.ones(layer.weight.shape[0]) for layer in graph.weight_layers], T)
    net = build_model(model_config(graph, (1, 8, 8), T), state)
    ttfs_layers = [m for m in net.layers if hasattr(m, "weight")]
    for index, (layer, (w, b)) in enumerate(zip(ttfs_layers, torch_weights(model), strict=True)):
        np.testing.assert_array_equal(layer.weight.detach().numpy(), (w / T if index == 0 else w).astype(np.float32))
        np.testing.assert_array_equal(layer.bias.detach().numpy(), (b / T).astype(np.float32))


def hand_net(tmp_path: Path, T: int = 8):
    """FC3-FC10 on an all-ones 8x8 image: hidden pre-activations z = (0.5, 1, 3), the third hidden
    neuron drives classes 0 and 1 equally; converted with tau = 1 and spike values 1."""
    ann = nn.Sequential(nn.Flatten(), nn.Linear(64, 3), nn.ReLU(), nn.Linear(3, 10))
    with torch.no_grad():
        ann[1].weight.copy_(torch.tensor([0.5, 1.0, 3.0])[:, None].expand(3, 64) / 64)
        ann[1].bias.zero_()
        ann[3].weight.zero_()
        ann[3].weight[:2, 2] = 1.0
        ann[3].bias.zero_()
    graph = read_onnx(str(export(ann, tmp_path / "hand.onnx")))
    state = ttfs_state(graph, [1.0, 1.0], [np.ones(3), np.ones(10)], T)
    return build_model(model_config(graph, (1, 8, 8), T), state)


def test_first_layer_fires_iff_z_reaches_tau_at_ceil_T_tau_over_z(tmp_path):
    """The image is a current at every step: z = 0.5 < tau never fires; z = 1 = tau fires at the
    last step, ceil(8 / 1) - 1 = 7; z = 3 at ceil(8 / 3) - 1 = 2; the output follows at once."""
    net = hand_net(tmp_path)
    spikes, _, _ = net.run(torch.ones(1, 64))
    assert first_spike_times(spikes[0]).tolist() == [[-1, 7, 2]]
    assert first_spike_times(spikes[1]).tolist() == [[2, 2] + [-1] * 8]


def test_calibration_score_splits_ties_and_silence(tmp_path):
    """Classes 0 and 1 spike at the same step: label 0 or 1 scores 1/2, label 5 scores 0; a black
    image leaves the output silent, 1/10 for any label."""
    net = hand_net(tmp_path)
    x = np.stack([np.ones((1, 8, 8)), np.ones((1, 8, 8)), np.ones((1, 8, 8)), np.zeros((1, 8, 8))]).astype(np.float32)
    data = Dataset("hand", x, np.array([0, 1, 5, 3]))
    assert tie_split_accuracy(net, data) == pytest.approx((0.5 + 0.5 + 0 + 0.1) / 4)


def test_matmul_add_reads_as_a_dense_layer(tmp_path):
    model = MatMulNet()
    graph = read_onnx(str(export(model, tmp_path / "mm.onnx")))
    assert graph.arch == "FC16-FC10"
    np.testing.assert_array_equal(graph.layers[0].weight, model.w1.detach().double().numpy().T)
    np.testing.assert_array_equal(graph.layers[1].bias, model.b2.detach().double().numpy())


def test_batchnorm_is_folded_exactly(tmp_path):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 10), nn.BatchNorm1d(10))
    for bn in (model[1], model[5]):  # non-trivial running statistics and affine
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.5, 0.5)
    path = export(model, tmp_path / "bn.onnx", do_constant_folding=False)
    import onnx

    assert [n.op_type for n in onnx.load(str(path)).graph.node].count("BatchNormalization") == 2
    graph = read_onnx(str(path))
    assert graph.arch == "4C3-FC10"
    for layer, (w, b), bn in zip(graph.weight_layers, torch_weights(model), (model[1], model[5])):
        gamma, beta, mean, var = (t.detach().double().numpy() for t in
                                  (bn.weight, bn.bias, bn.running_mean, bn.running_var))
        scale = gamma / np.sqrt(var + float(np.float32(bn.eps)))  # ONNX stores epsilon as a float32
        np.testing.assert_array_equal(layer.weight, w * scale.reshape(-1, *([1] * (w.ndim - 1))))
        np.testing.assert_array_equal(layer.bias, (b - mean) * scale + beta)
    x = np.random.default_rng(1).random((6, 1, 8, 8), dtype=np.float32)
    logits, _ = ann_forward(graph, x)
    np.testing.assert_allclose(logits, model(torch.as_tensor(x)).detach().numpy(), rtol=0, atol=1e-5)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x) + x).flatten(1))


def _bad_graphs(tmp_path: Path):
    """name -> (path, the words the error must contain)."""
    maxpool = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(64, 10))
    sigmoid = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))
    softmax_mid = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Softmax(1), nn.Linear(16, 10))
    unpadded = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    no_relu = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Linear(16, 10))
    pool_first = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.AvgPool2d(2), nn.ReLU(), nn.Flatten(),
                               nn.Linear(64, 10))
    good = export(small_cnn(), tmp_path / "good.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.onnx"
    text.write_text("this is a text file, not a network\n")
    return {
        "maxpool": (export(maxpool, tmp_path / "maxpool.onnx"), ["MaxPool", "average pooling"]),
        "sigmoid": (export(sigmoid, tmp_path / "sigmoid.onnx"), ["Sigmoid", "ReLU"]),
        "softmax": (export(softmax_mid, tmp_path / "softmax.onnx"), ["Softmax", "final"]),
        "residual": (export(Residual(), tmp_path / "res.onnx"), ["Add", "residual"]),
        "unpadded": (export(unpadded, tmp_path / "unpadded.onnx"), ["Conv", "padding", "padding=1"]),
        "no_relu": (export(no_relu, tmp_path / "norelu.onnx"), ["Gemm", "without a Relu"]),
        "pool_first": (export(pool_first, tmp_path / "poolfirst.onnx"), ["AveragePool", "after the Relu"]),
        "corrupt": (corrupt, ["not an ONNX model", "export"]),
        "text": (text, ["not", "ONNX", "export"]),
        "dynamic": (export(small_cnn(), tmp_path / "dyn.onnx",
                           dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}}),
                    ["dynamic", "height", "fixed image size"]),
    }


def test_unsupported_and_broken_graphs_raise_one_line_errors(tmp_path):
    for name, (path, words) in _bad_graphs(tmp_path).items():
        with pytest.raises(TTFSError) as info:
            read_onnx(str(path))
        message = str(info.value)
        assert "\n" not in message and "; " in message, name
        for word in words:
            assert word in message, (name, message)


def test_cli_refuses_bad_graphs_with_one_line_and_writes_nothing(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cases = _bad_graphs(tmp_path)
    for name in ("maxpool", "corrupt", "text", "dynamic"):
        path, words = cases[name]
        out = tmp_path / f"{name}.pt"
        before = path.read_bytes()
        proc = subprocess.run([sys.executable, "-m", "ttfs_deploy.cli", "import", str(path), "--data", "digits",
                               "-o", str(out), "--json", str(tmp_path / f"{name}.json")],
                              capture_output=True, text=True, env=env, timeout=600)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1, (name, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and "; " in lines[0], (name, proc.stderr)
        assert words[0] in lines[0]
        assert not out.exists() and not (tmp_path / f"{name}.json").exists()
        assert path.read_bytes() == before
        assert not list(tmp_path.glob(f".{name}.pt.*"))


def test_import_writes_an_ordinary_checkpoint_that_compiles_and_runs(tmp_path):
    """A CNN trained briefly in plain torch on digits: import (no fine-tuning), then the usual
    compile (loihi2) and eventsim run; the checkpoint's weights are the documented rule's."""
    from ttfs_deploy.backends.run import run_backend
    from ttfs_deploy.compile.pipeline import compile_model
    from ttfs_deploy.data.datasets import load_dataset
    from ttfs_deploy.hw.profile import load_profile
    from ttfs_deploy.importers.onnx import import_onnx
    from ttfs_deploy.model.checkpoint import load_checkpoint, load_raw
    from ttfs_deploy.train.evaluate import evaluate

    train = load_dataset("digits", "train")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.as_tensor(train.x), torch.as_tensor(train.y)
    for _ in range(8):
        model.train()
        for start in range(0, len(x), 64):
            loss = nn.functional.cross_entropy(model(x[start:start + 64]), y[start:start + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    path = export(model, tmp_path / "ann.onnx")
    out = tmp_path / "imported.pt"
    result = import_onnx(str(path), "digits", str(out), T=8, calibration_samples=128)
    assert result.arch == "8C3-AP2-FC32-FC10" and result.encoder == "direct" and result.finetuned_accuracy is None
    assert result.ann_accuracy > 0.85

    net, meta = load_checkpoint(str(out))
    info = meta["import"]
    assert meta["dataset"] == "digits" and meta["accuracy"] == info["converted_accuracy"]
    assert info["source"]["format"] == "onnx" and info["reference_max_logit_diff"] < 1e-4
    graph = read_onnx(str(path))
    calibration = info["calibration"]
    expected = ttfs_state(graph, calibration["tau"], [np.array(v) for v in calibration["spike_value"]], 8)
    state = load_raw(str(out))["state_dict"]
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)

    test = load_dataset("digits", "test").head(60)
    _, int_net = compile_model(net, load_profile("loihi2"))
    compiled = run_backend(int_net, "eventsim", test)
    assert compiled["samples"] == 60
    assert abs(compiled["accuracy"] - evaluate(net, test)["accuracy"]) <= 0.05


def test_cli_finetune_writes_the_finetuned_checkpoint(tmp_path):
    """`import --finetune 1` through the CLI (outputs staged until the command ends): the checkpoint
    holds the last epoch's weights (those of the resume state) and records the fine-tuned accuracy."""
    import json

    from ttfs_deploy.model.checkpoint import STATE_FORMAT, load_checkpoint, load_raw

    path = export(small_cnn(), tmp_path / "cnn.onnx")
    out, report = tmp_path / "tuned.pt", tmp_path / "tuned.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "ttfs_deploy.cli", "import", str(path), "--data", "digits",
                           "--T", "4", "--finetune", "1", "--limit", "64", "--calibration-samples", "64",
                           "-o", str(out), "--json", str(report), "--device", "cpu"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(report.read_text())
    assert result["finetune_epochs"] == 1 and result["finetune_samples"] == 64
    net, meta = load_checkpoint(str(out))
    assert meta["import"]["finetuned_accuracy"] == result["finetuned_accuracy"] == meta["accuracy"]
    assert meta["epochs_done"] == 1 and meta["train"]["lr"] == 3e-3 and meta["train"]["batch_size"] == 16
    state = load_raw(str(out) + ".last.pt", STATE_FORMAT, "resume state")["state_dict"]
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)
