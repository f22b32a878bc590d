"""Direct (analog current) input: the first layer runs on the host, the rest on the chip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ttfs_deploy.backends.eventsim import simulate
from ttfs_deploy.backends.host import chip_input_times, host_layer_times
from ttfs_deploy.cli import cli
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.data.encoders import encode
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.ir.network import FloatLayer
from ttfs_deploy.ir.nir_io import int_to_nir, read_int, write_graph
from ttfs_deploy.model.checkpoint import load_checkpoint, save_checkpoint
from ttfs_deploy.model.network import ModelConfig, TTFSNet
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate


def test_host_layer_spikes_where_the_constant_current_crosses_threshold():
    """One neuron, weight 0.25 from one pixel, bias 0, threshold 1: V[t] = (t + 1) x / 4, so
    x = 1 fires at t = 3, x = 0.5 at t = 7, x = 0.2 never within T = 10 (clipped 1.7 acts as 1)."""
    layer = FloatLayer("fc1", "dense", np.array([[0.25]]), np.array([0.0]), 1.0, (1,))
    x = encode("direct", np.array([1.0, 0.5, 0.2, 1.7]).reshape(4, 1, 1, 1), 10)
    assert host_layer_times(layer, x, 10).ravel().tolist() == [3, 7, -1, 3]


@pytest.fixture(scope="module")
def direct_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("direct") / "direct.pt"
    train_data, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    config = ModelConfig("4C3-AP2-FC32-FC10", (1, 8, 8), 10, T=8, encoder="direct", init_gain=0.05,
                         dropout=0.1)
    train(config, train_data, test, TrainConfig(epochs=4, batch_size=32, seed=0, progress=False), str(path))
    model, _ = load_checkpoint(str(path))
    return str(path), model


def test_direct_model_deploys_with_its_first_layer_on_the_host(direct_model, tmp_path):
    path, model = direct_model
    test = load_dataset("digits", "test")
    _, net = compile_model(model, load_profile("loihi2"))
    assert net.host is not None and net.host.kind == "conv" and [layer.name for layer in net.layers] == ["fc2", "fc3"]
    assert net.input_shape == net.host.output_shape == (4, 8, 8)
    # the host layer reproduces the trained first layer's spikes exactly
    with torch.no_grad():
        first = model.eval().run(torch.as_tensor(encode("direct", test.x, 8)))[0][0].flatten(2)
    trained = np.where(first.sum(0).numpy() > 0, first.argmax(0).numpy(), -1)
    np.testing.assert_array_equal(chip_input_times(net, test.x), trained)
    # the compiled network keeps the trained accuracy (QAT off: within a point)
    predictions = simulate(net, chip_input_times(net, test.x)).predictions
    assert abs((predictions == test.y).mean() - evaluate(model, test)["accuracy"]) <= 0.01


def test_direct_model_round_trips_through_nir(direct_model, tmp_path):
    _, model = direct_model
    _, net = compile_model(model, load_profile("loihi2"))
    write_graph(int_to_nir(net), str(tmp_path / "d.nir"))
    back = read_int(str(tmp_path / "d.nir"))
    assert back.host is not None and back.input_shape == net.input_shape
    np.testing.assert_array_equal(back.host.weight, net.host.weight.astype(np.float32))
    x = load_dataset("digits", "test").head(40).x
    np.testing.assert_array_equal(chip_input_times(back, x), chip_input_times(net, x))
    for a, b in zip(simulate(net, chip_input_times(net, x)).spike_times,
                    simulate(back, chip_input_times(back, x)).spike_times):
        np.testing.assert_array_equal(a, b)


@pytest.mark.lava
def test_direct_model_compiles_runs_and_verifies_from_the_cli(direct_model, tmp_path):
    path, _ = direct_model
    runner = CliRunner()
    nir_path = str(tmp_path / "d.nir")
    result = runner.invoke(cli, ["compile", path, "--target", "loihi2", "-o", nir_path])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(cli, ["run", nir_path, "--backend", "eventsim", "--data", "digits"])
    assert result.exit_code == 0 and "accuracy" in result.stdout, result.stderr
    result = runner.invoke(cli, ["verify", nir_path, "--samples", "3", "--data", "digits"])
    assert result.exit_code == 0 and "0 mismatches" in result.stdout.replace("\n", " "), result.stdout


def test_energy_report_names_the_host_layer_and_counts_only_the_chip(direct_model):
    from ttfs_deploy.energy.report import energy_report

    _, model = direct_model
    _, net = compile_model(model, load_profile("loihi2"))
    x = load_dataset("digits", "test").head(20).x
    report, _, _ = energy_report(net, chip_input_times(net, x), profile="loihi")
    host = report.to_dict()["host_layer"]
    assert host["name"] == "conv1" and host["macs"] == 4 * (6 * 6 * 9 + 4 * 6 * 6 + 4 * 4)  # 3x3 taps, padding 1
    assert [layer["name"] for layer in report.layers] == ["fc2", "fc3"]
    from ttfs_deploy.energy.report import to_markdown

    assert "**Host layer:** conv1" in to_markdown(report)


def test_direct_model_with_a_single_layer_is_refused(tmp_path):
    model = TTFSNet(ModelConfig("FC10", (1, 8, 8), 10, T=4, encoder="direct"))
    with pytest.raises(TTFSError, match="at least two weight layers"):
        compile_model(model, load_profile("loihi2"))
    save_checkpoint(str(tmp_path / "one.pt"), model, {"dataset": "digits"})
    result = CliRunner().invoke(cli, ["compile", str(tmp_path / "one.pt"), "--target", "loihi2",
                                      "-o", str(tmp_path / "one.nir")])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and not (tmp_path / "one.nir").exists()
