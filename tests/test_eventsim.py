"""The event simulator against torch's dense integer mode, and its counts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from ttfs_deploy.backends.eventsim import EventSim, simulate
from ttfs_deploy.backends.torchsim import run_int
from ttfs_deploy.ir.network import NEVER

from strategies import int_networks


@settings(max_examples=40, deadline=None)
@given(int_networks(conv=False))
def test_eventsim_equals_dense_integer_mode_dense(case):
    net, times = case
    result = simulate(net, times)
    ref_times, v_final, v_spike = run_int(net, times)
    for a, b in zip(result.spike_times, ref_times):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(result.v_final, v_final)
    np.testing.assert_array_equal(result.v_spike, v_spike)


@settings(max_examples=30, deadline=None)
@given(int_networks(conv=True))
def test_eventsim_equals_dense_integer_mode_conv(case):
    net, times = case
    result = simulate(net, times)
    ref_times, _, _ = run_int(net, times)
    for a, b in zip(result.spike_times, ref_times):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=20, deadline=None)
@given(int_networks(conv=True))
def test_syn_ops_are_input_spikes_times_fan_out(case):
    net, times = case
    sim = EventSim(net)
    result = sim.run(times)
    sources = [times, *result.spike_times[:-1]]
    for layer_counts, src, fan_out in zip(result.counts, sources, sim.fan_out):
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
