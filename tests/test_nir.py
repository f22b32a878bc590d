"""NIR files: nir.read loads them, the project's reader round-trips them exactly."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from ttfs_deploy.backends.eventsim import simulate
from ttfs_deploy.backends.torchsim import run_float
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.ir.nir_io import FIRE_ONCE_RESET, float_to_nir, int_to_nir, read_float, read_int, write_graph
from ttfs_deploy.model.network import ModelConfig, TTFSNet, first_spike_times


@pytest.fixture(scope="module")
def compiled():
    torch.manual_seed(0)
    model = TTFSNet(ModelConfig("4C3-AP2-FC12", (1, 8, 8), 10, T=8, init_gain=0.5)).double().eval()
    floatnet, net = compile_model(model, load_profile("loihi2"))
    times = np.random.default_rng(0).integers(-1, 8, size=(8, 64))
    return model, floatnet, net, times


def test_deployable_graph_is_standard_nir_with_integer_dtypes(compiled, tmp_path):
    _, _, net, _ = compiled
    path = tmp_path / "model.nir"
    write_graph(int_to_nir(net), str(path))
    graph = nir.read(str(path))
    kinds = {type(node).__name__ for node in graph.nodes.values()}
    assert kinds == {"Input", "Conv2d", "IF", "Flatten", "Affine", "Output"}
    assert graph.nodes["conv1"].weight.dtype == np.int64 and graph.nodes["fc2_if"].v_threshold.dtype == np.int64
    assert (graph.nodes["conv1_if"].v_reset == FIRE_ONCE_RESET).all()
    assert graph.metadata["coding"] == "ttfs" and graph.metadata["total_steps"] == net.total_steps


def test_deployable_round_trip_is_exact(compiled, tmp_path):
    _, _, net, times = compiled
    path = tmp_path / "model.nir"
    write_graph(int_to_nir(net), str(path))
    back = read_int(str(path))
    for a, b in zip(net.layers, back.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias_mant, b.bias_mant)
        assert (a.vth, a.weight_exp, a.hop_delay, a.stride, a.padding) == (b.vth, b.weight_exp, b.hop_delay, b.stride, b.padding)
    assert back.placement == net.placement
    for a, b in zip(simulate(net, times).spike_times, simulate(back, times).spike_times):
        np.testing.assert_array_equal(a, b)


def test_float_graph_read_back_gives_the_trained_spike_times(compiled, tmp_path):
    model, floatnet, _, times = compiled
    path = tmp_path / "model.float.nir"
    write_graph(float_to_nir(floatnet), str(path))
    back = read_float(str(path))
    assert nir.read(str(path)).metadata["threshold_compare"] == ">="
    spikes, _, _ = model.run(torch.as_tensor(times))
    for raster, got in zip(spikes, run_float(back, times)):
        np.testing.assert_array_equal(first_spike_times(raster).numpy(), got)


def test_tampered_metadata_is_refused(compiled, tmp_path):
    _, _, net, _ = compiled
    graph = int_to_nir(net)
    graph.nodes["fc2"].metadata["vth"] += 1
    path = tmp_path / "bad.nir"
    write_graph(graph, str(path))
    with pytest.raises(TTFSError, match="metadata disagrees"):
        read_int(str(path))


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    foreign = nir.NIRGraph.from_list(nir.Affine(weight=np.ones((2, 3)), bias=np.zeros(2)))
    nir.write(str(tmp_path / "foreign.nir"), foreign)
    with pytest.raises(TTFSError, match="not a ttfs-deploy deployable graph"):
        read_int(str(tmp_path / "foreign.nir"))
    (tmp_path / "junk.nir").write_bytes(b"not hdf5 at all")
    with pytest.raises(TTFSError, match="not a readable NIR file"):
        read_int(str(tmp_path / "junk.nir"))
    with pytest.raises(TTFSError, match="not found"):
        read_int(str(tmp_path / "missing.nir"))
