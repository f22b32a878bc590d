"""The event simulator against torch's dense integer mode, and its counts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy.backends.eventsim import EventSim, simulate
from ttfs_deploy.backends.registry import BACKENDS, REFERENCE, run_network
from ttfs_deploy.backends.torchsim import run_int
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.connectivity import layer_matrix
from ttfs_deploy.ir.network import IntLayer, IntNetwork
from ttfs_deploy.ir.synops import synops_per_layer
from ttfs_deploy.semantics import NEVER

from strategies import int_networks


def assert_matches_dense_integer_mode(net: IntNetwork, times: np.ndarray) -> None:
    """Every spike time, and the output layer's final and at-spike membranes, equal torch's."""
    result = simulate(net, times)
    ref = run_int(net, times)
    ref_times, v_final, v_spike = ref.spike_times, ref.v_final, ref.v_spike
    for a, b in zip(result.spike_times, ref_times):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(result.v_final, v_final)
    np.testing.assert_array_equal(result.v_spike, v_spike)


@settings(max_examples=40, deadline=None)
@given(int_networks(conv=False))
def test_eventsim_equals_dense_integer_mode_dense(case):
    assert_matches_dense_integer_mode(*case)


@settings(max_examples=30, deadline=None)
@given(int_networks(conv=True))
def test_eventsim_equals_dense_integer_mode_conv(case):
    net, times = case
    result = simulate(net, times)
    ref_times = run_int(net, times).spike_times
    for a, b in zip(result.spike_times, ref_times):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=20, deadline=None)
@given(int_networks(conv=True))
def test_syn_ops_are_input_spikes_times_fan_out(case):
    net, times = case
    sim = EventSim(net)
    result = sim.run(times)
    sources = [times, *result.spike_times[:-1]]
    fan_outs = [np.diff(layer_matrix(layer).tocsc().indptr) for layer in net.layers]
    for layer_counts, src, fan_out in zip(result.counts, sources, fan_outs):
        expected = np.where(src >= 0, fan_out[None, :], 0).sum(1)
        np.testing.assert_array_equal(layer_counts["syn_ops"], expected)
    for layer_counts, spikes in zip(result.counts, result.spike_times):
        np.testing.assert_array_equal(layer_counts["spikes"], (spikes >= 0).sum(1))
        total = layer_counts["updates_active"] + layer_counts["updates_inactive"]
        np.testing.assert_array_equal(total, spikes.shape[1] * net.T)


@settings(max_examples=20, deadline=None)
@given(int_networks(conv=False))
def test_early_exit_keeps_the_decision_and_does_less_work(case):
    net, times = case
    full, early = simulate(net, times), simulate(net, times, early_exit=True)
    np.testing.assert_array_equal(full.decision, early.decision)
    fired = full.decision >= 0
    np.testing.assert_array_equal(full.spike_times[-1].min(1, initial=10 ** 9, where=full.spike_times[-1] >= 0)[fired],
                                  early.spike_times[-1].min(1, initial=10 ** 9, where=early.spike_times[-1] >= 0)[fired])
    for f, e in zip(full.counts, early.counts):
        assert (e["syn_ops"] <= f["syn_ops"]).all() and (e["dense_ops"] <= f["dense_ops"]).all()


def test_silent_input_with_zero_bias_never_spikes(hand_net):
    result = simulate(hand_net, np.full((2, 3), NEVER))
    # fc1[1] has a positive bias (640/step): 640 (t+1) > 6336 at t = 9, outside T = 8
    assert (result.spike_times[0] == NEVER).all() and (result.decision == NEVER).all()


@st.composite
def conv_stacks(draw):
    """Two conv layers and a dense readout with rectangular maps, kernels, strides and pads."""
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    shape = (draw(st.integers(1, 3)), draw(st.integers(3, 9)), draw(st.integers(3, 9)))
    layers = []
    for name in ("conv1", "conv2"):
        c_out = draw(st.integers(1, 4))
        kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        padding = (draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1)))
        if (shape[1] + 2 * padding[0] < kh) or (shape[2] + 2 * padding[1] < kw):
            break
        w = rng.integers(-64, 64, size=(c_out, shape[0], kh, kw)) * 2
        layer = IntLayer(name, "conv", w, 0, rng.integers(-300, 300, c_out), rng.integers(0, 3, c_out),
                         int(rng.integers(10, 150)), shape, len(layers) + 1, stride=stride, padding=padding)
        layers.append(layer)
        shape = layer.output_shape
    n_in = int(np.prod(shape))
    layers.append(IntLayer("fc", "dense", rng.integers(-127, 128, size=(3, n_in)) * 2, 1,
                           rng.integers(-400, 400, 3), rng.integers(0, 3, 3), int(rng.integers(50, 400)),
                           (n_in,), len(layers) + 1))
    T = draw(st.integers(2, 12))
    net = IntNetwork(layers[0].input_shape, T, "latency", layers)
    times = rng.integers(-1, T, size=(draw(st.integers(1, 3)), net.n_inputs))
    return net, times


@settings(max_examples=40, deadline=None)
@given(conv_stacks())
def test_conv_taps_match_the_dense_integer_mode(case):
    """The kernel reaches conv outputs by tap arithmetic (weights never expanded); torch's
    conv2d in the dense baseline must agree on every spike time and output membrane."""
    assert_matches_dense_integer_mode(*case)


def test_synaptic_input_wraps_to_24_bits_like_lava():
    # five inputs of 255 << 7 = 32,640 arrive together: a = 163,200, a << 6 = 10,444,800 > 2**23,
    # so u wraps to 10,444,800 - 2**24 = -6,332,416 and v goes negative instead of spiking
    layer = IntLayer("fc1", "dense", np.full((1, 5), 255), 7, np.array([0]), np.array([0]), 100, (5,), 1)
    net = IntNetwork((5,), 4, "latency", [layer])
    result = simulate(net, np.zeros((1, 5), np.int64))
    assert result.v_final.tolist() == [[10_444_800 - 2 ** 24]]
    assert result.spike_times[0].tolist() == [[NEVER]]
    v_final = run_int(net, np.zeros((1, 5), np.int64)).v_final
    np.testing.assert_array_equal(result.v_final, v_final)


@settings(max_examples=20, deadline=None)
@given(int_networks(conv=True), st.booleans())
def test_synops_from_spike_times_equal_the_simulators_counts(case, early_exit):
    """The count every backend gets (from spike times and geometry) is the one the simulator
    accumulates while it runs, with and without early exit."""
    net, times = case
    result = run_network(net, times, "eventsim", early_exit=early_exit)
    per_layer = synops_per_layer(net, times, result.spike_times, result.stopped_at)
    for counted, layer_counts in zip(per_layer, result.counts):
        np.testing.assert_array_equal(counted, layer_counts["syn_ops"])


@settings(max_examples=10, deadline=None)
@given(int_networks(conv=True))
def test_every_registered_backend_but_lava_answers_alike(case):
    net, times = case
    ref = run_network(net, times, REFERENCE)
    for name in BACKENDS:
        if name == "lava":
            continue  # tests/test_lava_backend.py runs Lava on random networks
        result = run_network(net, times, name)
        assert result.backend == name
        for a, b in zip(ref.spike_times, result.spike_times):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ref.predictions, result.predictions)
        np.testing.assert_array_equal(ref.decision, result.decision)


def test_unknown_backend_and_unsupported_early_exit_are_one_line_errors(hand_net):
    net, times = hand_net, np.zeros((1, 3), np.int64)
    with pytest.raises(TTFSError, match="unknown backend 'tpu'"):
        run_network(net, times, "tpu")
    with pytest.raises(TTFSError, match="cannot stop samples early"):
        run_network(net, times, "torch", early_exit=True)


KERNEL_CACHE_PROBE = """
from ttfs_deploy.backends.eventsim import kernel
kernel.warm_up()
print(sum(kernel._run.stats.cache_hits.values()), sum(kernel._run.stats.cache_misses.values()))
"""


def test_editing_the_semantics_recompiles_the_cached_kernel(tmp_path):
    """numba's on-disk cache is keyed on kernel.py, not on the semantics.py functions it
    inlines: an edit to semantics.py alone must still miss the cache (a stale kernel would
    disagree with torch and Lava), and an unchanged tree must hit it."""
    import ttfs_deploy

    package = Path(ttfs_deploy.__file__).parent
    copy = tmp_path / "src" / "ttfs_deploy"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    env = {**os.environ, "PYTHONPATH": str(copy.parent), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}

    def hits_and_misses() -> tuple:
        out = subprocess.run([sys.executable, "-c", KERNEL_CACHE_PROBE], env=env, cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout
        hits, misses = out.split()
        return int(hits), int(misses)

    assert hits_and_misses() == (0, 1)      # a cold cache compiles
    assert hits_and_misses() == (1, 0)      # an unchanged tree loads it
    with open(copy / "semantics.py", "a") as f:
        f.write("\n# an edit\n")
    assert hits_and_misses() == (0, 1)      # semantics.py changed: compiled afresh, not loaded
