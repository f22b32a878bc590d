"""Exact spike times of hand-computed networks, integer and float."""

from __future__ import annotations

import numpy as np
import torch

from ttfs_deploy import semantics
from ttfs_deploy.backends.eventsim import simulate
from ttfs_deploy.backends.torchsim import run_float, run_int
from ttfs_deploy.compile.fold import fold_model
from ttfs_deploy.compile.quantize import quantize_network
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.semantics import NEVER
from ttfs_deploy.model.network import ModelConfig, TTFSNet, first_spike_times


def test_lava_weight_preparation_drops_one_lsb_for_mixed_signs():
    assert semantics.prepare_dense_weights(np.array([51, -21])).tolist() == [50, -22]
    assert semantics.prepare_dense_weights(np.array([51, 21])).tolist() == [51, 21]
    assert semantics.is_representable(np.array([50, -22])) and not semantics.is_representable(np.array([51, -22]))


def test_strict_threshold_and_fire_once_latch():
    # weight 101 > vth 100 spikes, 100 does not (v = 6400 = vth << 6); nobody fires twice
    v, fired = np.zeros(2, np.int64), np.zeros(2, bool)
    v, fired, s = semantics.neuron_step(v, fired, np.array([101, 100]), 0, semantics.threshold(100))
    assert s.tolist() == [True, False] and v.tolist() == [0, 6400]
    v, fired, s = semantics.neuron_step(v, fired, np.array([101, 0]), 0, semantics.threshold(100))
    assert s.tolist() == [False, False] and fired.tolist() == [True, False]


def test_state_wraps_and_saturates_like_lava():
    assert semantics.wrap_state(np.array([2 ** 23, 2 ** 23 + 1, -2 ** 23])).tolist() == [2 ** 23, -(2 ** 23) + 1, 2 ** 23]
    v = semantics.integrate(np.array([2 ** 23 - 10]), np.array([1]), 0)
    assert v.tolist() == [2 ** 23 - 1]


def test_hand_computed_integer_network(hand_net):
    # fc1[0]: t0 +60, t2 +50 -> 110 > 99 at t=2.  fc1[1]: 30*64 + 640/step ->
    #   v(t) = 1920 + 640 (t+1) > 6336 at t+1 = 7 -> t=6.
    # fc2[0]: fc1[0] at t2 -> 100 > 99 -> t=2. fc2[1]: +50 at t2, +76 at t6 -> 126 > 99 -> t=6.
    inputs = np.array([[0, 2, NEVER]])
    result = simulate(hand_net, inputs)
    assert result.spike_times[0].tolist() == [[2, 6]]
    assert result.spike_times[1].tolist() == [[2, 6]]
    dense = run_int(hand_net, inputs)
    assert [t.tolist() for t in dense.spike_times] == [[[2, 6]], [[2, 6]]]
    assert dense.v_spike.tolist() == [[6400, 126 * 64]]
    counts = result.counts
    assert counts[0]["syn_ops"].tolist() == [1 * 2 + 1 * 1]   # input0 feeds 2 neurons, input1 feeds 1
    assert counts[1]["syn_ops"].tolist() == [2 + 2]
    assert counts[0]["spikes"].tolist() == [2] and counts[1]["spikes"].tolist() == [2]


def _float_model() -> TTFSNet:
    """3 -> 2 -> 2 float network with binary-exact parameters (norm none)."""
    model = TTFSNet(ModelConfig("FC2-FC2", (3, 1, 1), 2, T=8, norm="none")).double()
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor([[0.5, 0.625, 0.0], [0.25, 0.0, 0.5]]))
        model.layers[0].bias.copy_(torch.tensor([0.0, 0.125]))
        model.layers[1].weight.copy_(torch.tensor([[1.0, -0.5], [0.5, 0.75]]))
        model.layers[1].bias.zero_()
    return model.eval()


def test_hand_computed_float_network_and_its_integer_compile():
    # fc1[0]: 0.5 at t0, +0.625 at t2 -> 1.125 >= 1 at t=2; fc1[1]: 0.25 + 0.125 (t+1) >= 1 at t=5
    # fc2[0]: +1.0 at t2 -> t=2; fc2[1]: 0.5 at t2, +0.75 at t5 -> t=5
    model = _float_model()
    inputs = np.array([[0, 2, NEVER]])
    spikes, _, _ = model.run(torch.as_tensor(inputs))
    assert [first_spike_times(s).tolist() for s in spikes] == [[[2, 5]], [[2, 5]]]
    floatnet = fold_model(model)
    assert [t.tolist() for t in run_float(floatnet, inputs)] == [[[2, 5]], [[2, 5]]]
    net = quantize_network(floatnet, load_profile("loihi2"))
    assert [t.tolist() for t in simulate(net, inputs).spike_times] == [[[2, 5]], [[2, 5]]]
    assert [layer.hop_delay for layer in net.layers] == [1, 2] and net.total_steps == 10
