"""Compiler passes: exact folding, quantization bounds, placement limits, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ttfs_deploy import semantics
from ttfs_deploy.backends.eventsim import simulate
from ttfs_deploy.backends.torchsim import run_float
from ttfs_deploy.compile.fold import fold_model
from ttfs_deploy.compile.pipeline import compile_model, report
from ttfs_deploy.compile.placement import place
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.model.network import ModelConfig, TTFSNet, first_spike_times


def _model(arch: str, shape=(1, 8, 8), T: int = 8, seed: int = 0) -> TTFSNet:
    torch.manual_seed(seed)
    model = TTFSNet(ModelConfig(arch, shape, 10, T=T, init_gain=0.5)).double().eval()
    with torch.no_grad():
        for layer in model.layers:
            if hasattr(layer, "bias"):
                layer.bias.uniform_(-0.05, 0.1)
            if hasattr(layer, "gamma"):
                layer.gamma.uniform_(0.5, 1.5)
    return model


def _inputs(shape, T, n=16, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(-1, T, size=(n, int(np.prod(shape))))


@pytest.mark.parametrize("arch", ["4C3-AP2-6C3-FC12", "4C3-AP2-FC12", "3C3S2-FC8", "FC16-FC12"])
def test_fold_is_exact(arch):
    model = _model(arch)
    times = _inputs((1, 8, 8), 8)
    spikes, _, _ = model.run(torch.as_tensor(times))
    folded = run_float(fold_model(model), times)
    assert len(folded) == len(spikes)
    for raster, got in zip(spikes, folded):
        np.testing.assert_array_equal(first_spike_times(raster).numpy(), got)


def test_avgpool_fold_geometry():
    floatnet = fold_model(_model("4C3-AP2-6C3-FC12"))
    conv2 = floatnet.layers[1]
    assert conv2.weight.shape == (6, 4, 6, 6) and conv2.stride == (2, 2) and conv2.padding == (2, 2)
    assert conv2.provenance == "avgpool2+conv3x3" and conv2.output_shape == (6, 4, 4)


def test_max_pooling_is_refused_with_the_fix():
    with pytest.raises(TTFSError, match="average pooling"):
        fold_model(_model("4C3-MP2-FC12"))


def test_quantized_layers_respect_the_profile_bounds():
    profile = load_profile("loihi2")
    _, net = compile_model(_model("4C3-AP2-6C3-FC12"), profile)
    for layer in net.layers:
        assert semantics.is_representable(layer.weight)
        assert 0 <= layer.vth <= semantics.VTH_MAX
        assert np.abs(layer.bias_mant).max(initial=0) <= semantics.BIAS_MANT_MAX
        assert ((layer.bias_exp >= 0) & (layer.bias_exp <= 7)).all()
        assert layer.info["max_step_input"] <= semantics.INPUT_MAX
        assert layer.info["max_abs_v"] <= semantics.V_LIMIT
        if layer.kind == "conv":
            assert layer.weight_exp == 0  # Lava's fixed-point Conv ignores weight_exp
    assert [layer.hop_delay for layer in net.layers] == [1, 2, 3, 4]  # FC10 appended for 10 classes
    assert net.total_steps == net.T + 4


def test_integer_network_tracks_the_float_network():
    model = _model("4C3-AP2-6C3-FC12", seed=3)
    times = _inputs((1, 8, 8), 8, n=64)
    floatnet, net = compile_model(model, load_profile("loihi2"))
    ref, got = run_float(floatnet, times), simulate(net, times).spike_times
    agree = np.mean([np.mean(a == b) for a, b in zip(ref, got)])
    assert agree > 0.97


def test_too_small_profile_fails_with_one_line(tmp_path):
    small = tmp_path / "tiny.toml"
    small.write_text('name = "tiny"\nextends = "loihi2"\n[limits]\ncores_per_chip = 1\nneurons_per_core = 64\n')
    with pytest.raises(TTFSError, match=r"needs \d+ cores but tiny has 1") as info:
        compile_model(_model("4C3-AP2-6C3-FC12"), load_profile(str(small)))
    assert "\n" not in str(info.value)


def test_placement_counts_cores_per_limits():
    _, net = compile_model(_model("FC16-FC12"), load_profile("loihi"))
    rep = report(net).to_dict()
    # three small layers, one tile each, share one core (their sums fit every per-core limit)
    assert rep["cores_used"] == 1 and [layer["cores"] for layer in rep["layers"]] == [1, 1, 1]
    assert [entry["first_core"] for entry in place(net, load_profile("loihi"))] == [0, 0, 0]


@pytest.mark.parametrize("bits", ["weight_mantissa = 6", "state = 32", "threshold = 1000000000000", "colour = 3"])
def test_profile_bits_must_agree_with_the_integer_semantics(tmp_path, bits):
    path = tmp_path / "odd.toml"
    path.write_text(f'name = "odd"\nextends = "loihi2"\n[bits]\n{bits}\n')
    with pytest.raises(TTFSError, match=r"\[bits\]") as info:
        load_profile(str(path))
    assert "\n" not in str(info.value)
    path.write_text(f'name = "same"\nextends = "loihi2"\n[bits]\nstate = {semantics.STATE_BITS}\n')
    assert load_profile(str(path)).bits == {"state": semantics.STATE_BITS}


def test_unknown_target_names_the_choices():
    with pytest.raises(TTFSError, match="unknown target 'loihi3'.*loihi2"):
        load_profile("loihi3")


def test_quantization_aware_weights_compile_without_weight_error():
    model = _model("FC16-FC12", seed=5)
    model.set_weight_bits(8)
    _, net = compile_model(model, load_profile("loihi2"))
    for layer in net.layers:
        assert layer.info["binding_constraint"] == "weight range"
        assert layer.info["quant_error"] < 1e-9


def test_quantization_aware_weights_with_a_dominant_negative_weight():
    model = _model("FC16-FC12", seed=6)
    with torch.no_grad():
        model.layers[0].gamma[0] = 3.0   # one row of large weights: the extreme weight may be negative
        model.layers[0].weight[0, 0] = -5.0
    model.set_weight_bits(8)
    _, net = compile_model(model, load_profile("loihi2"))
    assert all(layer.info["quant_error"] < 1e-9 for layer in net.layers)
