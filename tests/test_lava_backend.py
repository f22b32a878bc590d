"""The Lava backend reproduces the integer reference semantics spike for spike.

Every Lava run here is real lava-nc (``Loihi2SimCfg(select_tag="fixed_pt")``). The reference is
a small pure-numpy loop over :func:`ttfs_deploy.semantics.neuron_step` (below), and the event
simulator when it is installed. These tests skip only when lava-nc is missing *and* ``CI`` is
not ``"true"``; in CI a missing Lava fails them.

An exception inside a Lava ProcessModel hangs the runtime instead of raising, so every test runs
under ``faulthandler.dump_traceback_later(..., exit=True)``.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ttfs_deploy import semantics
from ttfs_deploy.backends.lava.py311 import lava_available
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import IntLayer, IntNetwork
from ttfs_deploy.semantics import NEVER

HAVE_LAVA = lava_available()
IN_CI = os.environ.get("CI") == "true"
HANG_TIMEOUT_S = 150

pytestmark = [
    pytest.mark.lava,
    pytest.mark.skipif(not HAVE_LAVA and not IN_CI, reason="lava-nc is not installed"),
]

# No shrinking: every example costs a Lava compile (~0.3 s), and shrinking a failure would take
# minutes; the failing example (net and input times) is printed as drawn.
HYPOTHESIS = settings(max_examples=8, deadline=None, print_blob=True,
                      phases=(Phase.explicit, Phase.reuse, Phase.generate),
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def _hang_guard():
    """Fail fast instead of hanging: after HANG_TIMEOUT_S dump all tracebacks, kill the Lava
    worker processes (else they outlive pytest and keep its output pipes open) and exit;
    ``faulthandler.dump_traceback_later`` is the backstop if even that cannot run."""

    def fire() -> None:
        sys.stderr.write(f"\nLava test still running after {HANG_TIMEOUT_S} s (a hung runtime?); "
                         "killing the Lava processes\n")
        faulthandler.dump_traceback(all_threads=True)
        for child in multiprocessing.active_children():
            child.kill()
        os._exit(70)

    timer = threading.Timer(HANG_TIMEOUT_S, fire)
    timer.daemon = True
    timer.start()
    faulthandler.dump_traceback_later(HANG_TIMEOUT_S + 30, exit=True)
    yield
    timer.cancel()
    faulthandler.cancel_dump_traceback_later()


def lava_runner():
    """The runner module; raises TTFSError (failing the test) when Lava is missing."""
    from ttfs_deploy.backends.lava import runner
    return runner


# --------------------------------------------------------------------------------------------
# reference: the integer semantics, step by step, zero synaptic delay (the reference frame)
# --------------------------------------------------------------------------------------------

def ref_synaptic_input(layer: IntLayer, spikes: np.ndarray) -> np.ndarray:
    """Integer weight units arriving at ``layer`` from binary ``spikes`` (flat, C-order)."""
    x = spikes.astype(np.int64)
    w = np.asarray(layer.weight, dtype=np.int64)
    if layer.kind == "dense":
        return (w @ x) << layer.weight_exp
    c_in, h, wd = layer.input_shape
    (ph, pw), (sh, sw) = layer.padding, layer.stride
    xp = np.pad(x.reshape(c_in, h, wd), ((0, 0), (ph, ph), (pw, pw)))
    c_out, h_out, w_out = layer.output_shape
    out = np.zeros((c_out, h_out, w_out), dtype=np.int64)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            patch = xp[:, i:i + sh * h_out:sh, j:j + sw * w_out:sw]
            out += np.einsum("oc,cyx->oyx", w[:, :, i, j], patch)
    return out.reshape(-1) << layer.weight_exp


def ref_run(net: IntNetwork, input_times: np.ndarray):
    """Reference-frame first-spike times per layer ``(B, n)``, and the output layer's final ``v``
    and pre-reset ``v`` at its spike (``(B, n_out)`` each, membrane units)."""
    times = np.asarray(input_times, dtype=np.int64)
    n_samples = times.shape[0]
    spike_times = [np.full((n_samples, layer.n_neurons), NEVER, dtype=np.int64)
                   for layer in net.layers]
    v_final = np.zeros((n_samples, net.n_classes), dtype=np.int64)
    v_spike = np.zeros_like(v_final)
    for b in range(n_samples):
        v = [np.zeros(layer.n_neurons, dtype=np.int64) for layer in net.layers]
        fired = [np.zeros(layer.n_neurons, dtype=bool) for layer in net.layers]
        for t in range(net.T):
            spikes = times[b] == t
            for index, layer in enumerate(net.layers):
                a = ref_synaptic_input(layer, spikes)
                bias = layer.bias_per_neuron()
                v_pre = (v[index] + semantics.wrap_state(a << semantics.ACT_SHIFT) + bias).clip(
                    -semantics.V_LIMIT, semantics.V_LIMIT)
                v[index], fired[index], spikes = semantics.neuron_step(
                    v[index], fired[index], a, bias,
                    semantics.threshold(np.int64(layer.vth)), active=True)
                spike_times[index][b][spikes] = t
                if index == len(net.layers) - 1:
                    v_spike[b][spikes] = v_pre[spikes]
        v_final[b] = v[-1]
    return spike_times, v_final, v_spike


def assert_same(lava_result, expected) -> None:
    """Lava result equals ``expected = (spike_times, v_final, v_spike)`` for every neuron."""
    expected_times, expected_v, expected_v_spike = expected
    assert len(lava_result.spike_times) == len(expected_times)
    for index, (got, want) in enumerate(zip(lava_result.spike_times, expected_times)):
        assert got.dtype == np.int64
        bad = np.argwhere(got != want)
        assert bad.size == 0, (f"layer {index}: {len(bad)} neurons differ, first (sample, neuron)"
                               f"={tuple(bad[0])}: lava {got[tuple(bad[0])]} vs "
                               f"reference {want[tuple(bad[0])]}")
    np.testing.assert_array_equal(lava_result.v_final, expected_v)
    if expected_v_spike is not None:
        np.testing.assert_array_equal(lava_result.v_spike, expected_v_spike)


# --------------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------------

def dense(name, weight, weight_exp, bias_mant, bias_exp, vth, n_in, hop) -> IntLayer:
    return IntLayer(name=name, kind="dense", weight=np.asarray(weight, dtype=np.int64),
                    weight_exp=weight_exp, bias_mant=np.asarray(bias_mant, dtype=np.int64),
                    bias_exp=np.asarray(bias_exp, dtype=np.int64), vth=int(vth),
                    input_shape=(n_in,), hop_delay=hop)


def hand_network() -> IntNetwork:
    """2 inputs -> 3 hidden -> 2 outputs, T = 6, thresholds vth = 99 (spike when v > 99 units).

    hidden h0: W = [100, 50], no bias.   h1: W = [-60, 80], bias 16 << 6 membrane units = 16 units.
    hidden h2: W = [0, 0], bias 99 << 6 = 99 units (reaches the threshold exactly at t = 0).
    output o0: W = [30, 24, 0] << 1.     o1: W = [-30, 40, 0] << 1, no bias.
    """
    h = dense("hidden", [[100, 50], [-60, 80], [0, 0]], 0, [0, 16, 99], [0, 6, 6], 99, 2, 1)
    o = dense("out", [[30, 24, 0], [-30, 40, 0]], 1, [0, 0], [0, 0], 99, 3, 2)
    return IntNetwork(input_shape=(2,), T=6, encoder="ttfs", layers=[h, o])


# Hand computation, input spikes in0 at t=1, in1 at t=3 (weight units; threshold: v > 99):
#   h0: t0 0 | t1 +100 = 100 > 99 -> spike at t=1 (v=0, latched; in1 at t3 adds 50, no spike)
#   h1: t0 16 | t1 16-60+16 = -28 | t2 -12 | t3 -12+80+16 = 84 | t4 100 > 99 -> spike at t=4
#   h2: t0 99, not > 99 (strict compare) | t1 198 > 99 -> spike at t=1 (in both samples)
#   o0: t1 h0: +30<<1 = 60 | t4 h1: +24<<1 = 48 -> 108 > 99 -> spike at t=4, v = 0 after
#       (its membrane at the spike, before the reset: 108 units = 6912 membrane units)
#   o1: t1 -60 | t4 -60+80 = 20 -> never; v_final = 20 units = 1280 membrane units
# Sample 2 has no input: h1 only integrates its bias, 16 * 6 = 96 <= 99 -> only h2 fires.
# On Lava: hidden spikes at local steps 2 and 5, the output at local step 6 of 8 (= T + 2).
HAND_INPUT = np.array([[1, 3], [NEVER, NEVER]])
HAND_TIMES = [np.array([[1, 4, 1], [NEVER, NEVER, 1]]), np.array([[4, NEVER], [NEVER, NEVER]])]
HAND_V = np.array([[0, 1280], [0, 0]])
HAND_V_SPIKE = np.array([[108 * 64, 0], [0, 0]])
HAND = (HAND_TIMES, HAND_V, HAND_V_SPIKE)


@st.composite
def dense_networks(draw):
    seed = draw(st.integers(0, 2 ** 32 - 1))
    T = draw(st.integers(2, 64))
    n_layers = draw(st.integers(1, 3))
    sizes = [draw(st.integers(2, 12)) for _ in range(n_layers + 1)]
    rng = np.random.default_rng(seed)
    layers = []
    for index in range(n_layers):
        n_in, n_out = sizes[index], sizes[index + 1]
        exp = int(rng.integers(0, 3))
        # even mantissas in [-256, 254] (mixed signs), mostly excitatory so that spikes propagate
        weight = 2 * rng.integers(0, 128, size=(n_out, n_in))
        weight = weight * np.where(rng.random(weight.shape) < 0.3, -1, 1)
        weight[rng.random(weight.shape) < 0.05] = -256
        vth = int(rng.integers(0, 300)) << exp
        layers.append(dense(f"d{index}", weight, exp, rng.integers(-64, 65, size=n_out),
                            rng.integers(0, 8, size=n_out), vth, n_in, index + 1))
    net = IntNetwork(input_shape=(sizes[0],), T=T, encoder="ttfs", layers=layers)
    times = rng.integers(-1, T, size=(3, sizes[0]))
    return net, times


@st.composite
def conv_networks(draw):
    seed = draw(st.integers(0, 2 ** 32 - 1))
    T = draw(st.integers(2, 64))
    c_in = draw(st.integers(1, 2))
    c1 = draw(st.integers(2, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    two_convs = draw(st.booleans())
    n_out = draw(st.integers(1, 5))
    rng = np.random.default_rng(seed)
    shape = (c_in, 6, 6)
    layers = []

    def conv(name, shape_in, c_out, stride, padding, hop):
        return IntLayer(name=name, kind="conv",
                        weight=rng.integers(-256, 256, size=(c_out, shape_in[0], 3, 3)),
                        weight_exp=0, bias_mant=rng.integers(-64, 65, size=c_out),
                        bias_exp=rng.integers(0, 8, size=c_out), vth=int(rng.integers(0, 500)),
                        input_shape=shape_in, hop_delay=hop, stride=stride, padding=padding)

    layers.append(conv("c0", shape, c1, stride, padding, 1))
    if two_convs:
        layers.append(conv("c1", layers[-1].output_shape, 2, (1, 1), (1, 1), 2))
    n_in = layers[-1].n_neurons
    exp = int(rng.integers(0, 3))
    layers.append(dense("fc", 2 * rng.integers(-128, 128, size=(n_out, n_in)), exp,
                        rng.integers(-64, 65, size=n_out), rng.integers(0, 8, size=n_out),
                        int(rng.integers(0, 400)) << exp, n_in, len(layers) + 1))
    net = IntNetwork(input_shape=shape, T=T, encoder="ttfs", layers=layers)
    times = rng.integers(-1, T, size=(2, net.n_inputs))
    return net, times


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------

def test_reference_loop_matches_hand_computation():
    times, v, v_spike = ref_run(hand_network(), HAND_INPUT)
    for got, want in zip(times, HAND_TIMES):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(v, HAND_V)
    np.testing.assert_array_equal(v_spike, HAND_V_SPIKE)


def test_hand_checked_two_layer_dense():
    lava_net = lava_runner().LavaNetwork(hand_network())
    result = lava_net.run(HAND_INPUT)
    assert_same(result, HAND)
    assert result.backend == "lava"
    assert lava_net.total_steps == 8 and lava_net.hop_delays == [1, 2]
    assert result.predictions.tolist() == [0, 0]
    assert result.seconds_per_sample > 0


def test_floating_point_model_matches_on_hand_network():
    result = lava_runner().LavaNetwork(hand_network(), select_tag="floating_pt").run(HAND_INPUT)
    assert_same(result, HAND)


@HYPOTHESIS
@given(dense_networks())
def test_random_dense_networks_match_reference(case):
    net, times = case
    lava = lava_runner().LavaNetwork(net).run(times)
    assert_same(lava, ref_run(net, times))
    assert_same(lava, _eventsim(net, times))


@HYPOTHESIS
@given(conv_networks())
def test_random_conv_networks_match_reference(case):
    net, times = case
    lava = lava_runner().LavaNetwork(net).run(times)
    assert_same(lava, ref_run(net, times))
    assert_same(lava, _eventsim(net, times))


def _eventsim(net, times):
    """The event simulator's result in ``ref_run``'s form."""
    from ttfs_deploy.backends.eventsim import simulate

    result = simulate(net, times)
    return result.spike_times, result.v_final, result.v_spike


def test_dense_into_conv_layout():
    """A dense layer feeding a conv layer (its output reshaped to (C, H, W))."""
    rng = np.random.default_rng(7)
    T = 10
    d0 = dense("d0", 2 * rng.integers(-20, 128, size=(32, 12)), 0, rng.integers(-8, 64, size=32),
               np.full(32, 2), 120, 12, 1)
    c1 = IntLayer(name="c1", kind="conv", weight=rng.integers(-100, 256, size=(3, 2, 3, 3)),
                  weight_exp=0, bias_mant=np.array([5, -5, 20]), bias_exp=np.array([3, 3, 3]),
                  vth=150, input_shape=(2, 4, 4), hop_delay=2, stride=(1, 2), padding=(1, 0))
    fc = dense("fc", 2 * rng.integers(-60, 128, size=(4, c1.n_neurons)), 1, np.zeros(4),
               np.zeros(4), 200, c1.n_neurons, 3)
    net = IntNetwork(input_shape=(12,), T=T, encoder="ttfs", layers=[d0, c1, fc])
    times = rng.integers(-1, T, size=(2, 12))
    expected = ref_run(net, times)
    assert any((t != NEVER).any() for t in expected[0][1:]), "test network is silent"
    assert_same(lava_runner().LavaNetwork(net).run(times), expected)


def _random_two_layer(seed: int, T: int, sizes: tuple, vth: tuple, out_weight_exp: int, batch: int):
    """A random dense hidden + output network (hop delays 1 and 2) and ``batch`` input samples."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    h = dense("h", 2 * rng.integers(-40, 128, size=(n_hidden, n_in)), 1, rng.integers(-32, 64, size=n_hidden),
              np.full(n_hidden, 3), vth[0], n_in, 1)
    o = dense("o", 2 * rng.integers(-60, 128, size=(n_out, n_hidden)), out_weight_exp, np.zeros(n_out),
              np.zeros(n_out), vth[1], n_hidden, 2)
    net = IntNetwork(input_shape=(n_in,), T=T, encoder="ttfs", layers=[h, o])
    return net, rng.integers(-1, T, size=(batch, n_in))


def test_reusing_the_graph_equals_fresh_builds():
    net, times = _random_two_layer(3, T=12, sizes=(10, 16, 5), vth=(300, 300), out_weight_exp=1, batch=4)
    runner = lava_runner()
    reused = runner.LavaNetwork(net).run(times)
    assert_same(reused, ref_run(net, times))
    assert (reused.spike_times[-1] != NEVER).any(), "test network is silent"
    for b in range(times.shape[0]):
        fresh = runner.LavaNetwork(net).run(times[b:b + 1])
        for got, want in zip(fresh.spike_times, reused.spike_times):
            np.testing.assert_array_equal(got[0], want[b])
        np.testing.assert_array_equal(fresh.v_final[0], reused.v_final[b])
        np.testing.assert_array_equal(fresh.v_spike[0], reused.v_spike[b])


def test_second_run_call_rebuilds_the_graph():
    network = lava_runner().LavaNetwork(hand_network())
    empty = network.run(np.zeros((0, 2), dtype=np.int64))
    assert empty.spike_times[0].shape == (0, 3) and empty.v_final.shape == (0, 2)
    first = network.run(HAND_INPUT[:1])
    second = network.run(HAND_INPUT)
    assert_same(second, HAND)
    np.testing.assert_array_equal(first.spike_times[-1][0], second.spike_times[-1][0])


def test_matches_event_simulator():
    simulator = pytest.importorskip("ttfs_deploy.backends.eventsim.simulator")
    net, times = _random_two_layer(11, T=16, sizes=(8, 20, 4), vth=(250, 150), out_weight_exp=0, batch=3)
    reference = simulator.simulate(net, times)
    expected = (list(reference.spike_times), np.asarray(reference.v_final),
                getattr(reference, "v_spike", None))
    result = lava_runner().LavaNetwork(net).run(times)
    assert_same(result, expected)
    assert_same(result, ref_run(net, times))


def test_bad_inputs_and_networks_give_one_line_errors():
    runner = lava_runner()
    net = hand_network()
    with pytest.raises(TTFSError, match="input spike times must be in 0..5"):
        runner.LavaNetwork(net).run(np.array([[0, 6]]))
    with pytest.raises(TTFSError, match="expected \\(samples, 2\\)"):
        runner.LavaNetwork(net).run(np.zeros((1, 3), dtype=np.int64))
    net.layers[1].hop_delay = 3
    with pytest.raises(TTFSError, match="hop_delay"):
        runner.LavaNetwork(net)
    odd = hand_network()
    odd.layers[0].weight = np.array([[101, 50], [-60, 80], [0, 0]])
    with pytest.raises(TTFSError, match="weight preparation"):
        runner.LavaNetwork(odd)
