"""Fan-in splitting (compile/split.py): partial-sum relays carried by graded spikes.

The split network's fire-once layers must spike at exactly the unsplit network's times in the
reference frame, in the event simulator and torch's integer mode (here) and in Lava
(tests marked ``lava``, which never skip in CI).
"""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import dense_layer
from strategies import int_networks
from ttfs_deploy import semantics
from ttfs_deploy.backends.eventsim.simulator import simulate
from ttfs_deploy.backends.torchsim import run_int
from ttfs_deploy.cli import cli
from ttfs_deploy.compile.split import split_fan_in
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntLayer, IntNetwork
from ttfs_deploy.ir.nir_io import int_to_nir, read_int, write_graph
from ttfs_deploy.semantics import NEVER

ROOT = Path(__file__).resolve().parents[1]
PROFILE_64 = ROOT / "tests" / "data" / "loihi2-64axons.toml"
DIGITS_MODEL = ROOT / "examples" / "models" / "digits.pt"


def profile_with_axons(axons: int, base: str = "loihi2"):
    profile = load_profile(base)
    profile.limits = dict(profile.limits, input_axons_per_core=axons)
    return profile


def fire_once(net: IntNetwork):
    """Indices of the layers that are not relay layers."""
    return [i for i, layer in enumerate(net.layers) if layer.neuron != "relay"]


def assert_same_spikes(unsplit: IntNetwork, split: IntNetwork, times: np.ndarray) -> None:
    """eventsim(split) == eventsim(unsplit) == torch int(split), layer by layer."""
    ref, got = simulate(unsplit, times), simulate(split, times)
    kept = fire_once(split)
    assert len(kept) == len(unsplit.layers)
    dense = run_int(split, times)
    torch_times, torch_v_final, torch_v_spike = dense.spike_times, dense.v_final, dense.v_spike
    for i, j in enumerate(kept):
        np.testing.assert_array_equal(got.spike_times[j], ref.spike_times[i])
        np.testing.assert_array_equal(torch_times[j], ref.spike_times[i])
    for v in (got.v_final, torch_v_final):
        np.testing.assert_array_equal(v, ref.v_final)
    for v in (got.v_spike, torch_v_spike):
        np.testing.assert_array_equal(v, ref.v_spike)
    np.testing.assert_array_equal(got.decision, ref.decision)
    for j, layer in enumerate(split.layers):
        if layer.neuron == "relay":
            assert (got.spike_times[j] == NEVER).all() and (torch_times[j] == NEVER).all()


# ---------------------------------------------------------------------------------------------
# hand-checked networks
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def hand_split():
    """4 inputs -> 1 neuron, weights [60, 50, -40, 30], vth 99 (spikes when v > 6336), split
    over cores of 2 input axons: relays see inputs {0, 1} and {2, 3}."""
    net = IntNetwork((4,), 6, "latency", [dense_layer("fc1", [[60, 50, -40, 30]], [0], vth=99, hop=1)])
    return net, split_fan_in(net, profile_with_axons(2))


def test_split_dense_hand_weights_and_hops(hand_split):
    net, split = hand_split
    relay, final = split.layers
    assert (relay.name, relay.neuron, final.name, final.neuron) == ("fc1_relay1", "relay", "fc1", "fire_once")
    np.testing.assert_array_equal(relay.weight, [[60, 50, 0, 0], [0, 0, -40, 30]])
    np.testing.assert_array_equal(final.weight, [[1, 1]])
    assert (relay.hop_delay, final.hop_delay, final.weight_exp, final.vth) == (1, 2, 0, 99)
    assert (net.total_steps, split.total_steps) == (6 + 1, 6 + 2)
    assert (relay.fan_in, final.fan_in) == (2, 2)
    relay.weight[0, 1] = 0  # a zero weight is still a synapse of the block, as in unsplit layers
    assert (relay.fan_in, connections(relay), connections(final)) == (2, 4, 2)
    assert net.layers[0].hop_delay == 1  # the input network is not changed


def test_split_dense_hand_spike_time(hand_split):
    """Inputs 0 and 2 at t=0, 1 at t=1, 3 at t=2. Relay payloads: t0 (60, -40), t1 (50, 0),
    t2 (0, 30); the final neuron adds them: v = 20, 70, 100 weight units = 1280, 4480, 6400
    membrane units; 6400 > 99 << 6 = 6336, so it spikes at t=2, as the unsplit neuron does."""
    net, split = hand_split
    times = np.array([[0, 1, 0, 2], [0, -1, 0, -1]])
    for network in (net, split):
        result = simulate(network, times)
        np.testing.assert_array_equal(result.spike_times[-1], [[2], [NEVER]])
        np.testing.assert_array_equal(result.v_final, [[0], [20 * 64]])
    payload, sent = semantics.relay_step(np.array([60, -40, 0]))
    np.testing.assert_array_equal(payload, [60, -40, 0])
    np.testing.assert_array_equal(sent, [True, True, False])
    counts = simulate(split, times).counts[0]
    # graded spikes sent by the relays: sample 0 sends 2 + 1 + 1, sample 1 sends 2
    np.testing.assert_array_equal(counts["spikes"], [4, 2])


def test_split_two_levels_when_groups_exceed_the_axons():
    """5 inputs on cores of 2 axons: 3 groups > 2, so a second relay level adds pairs."""
    net = IntNetwork((5,), 8, "latency", [dense_layer("fc1", [[40, -20, 30, 50, 60], [10, 20, 30, 40, 50]],
                                                      [64, 0], vth=80, hop=1, weight_exp=1)])
    split = split_fan_in(net, profile_with_axons(2))
    assert [(l.name, l.neuron, l.hop_delay, l.fan_in) for l in split.layers] == [
        ("fc1_relay1", "relay", 1, 2), ("fc1_relay2", "relay", 2, 2), ("fc1", "fire_once", 3, 2)]
    assert [l.info["split"]["groups"] for l in split.layers] == [3, 2, 2]
    assert split.layers[0].weight_exp == 1 and split.layers[1].weight_exp == 0
    assert split.total_steps == 8 + 3
    times = np.array([[0, 0, 1, 2, 3], [5, 4, 3, 2, 1], [-1, -1, -1, -1, 0]])
    assert_same_spikes(net, split, times)


def test_split_conv_groups_input_channels():
    """A 3x3 conv over 4 channels (fan-in 36) on 18-axon cores: groups are whole input channels.
    Two channels per group (18 taps) would leave one-pixel tiles (2 x 3 x 3 inputs); one channel
    per group lets a tile take a whole output row (3 x 5 = 15 inputs), so the split takes 4
    groups of 1 channel, then a 1x1 conv of weight 1 adds the 4 groups per output channel."""
    rng = np.random.default_rng(3)
    conv = IntLayer("conv1", "conv", rng.integers(-30, 30, (3, 4, 3, 3)) * 2, 0, np.array([50, -20, 0]),
                    np.ones(3, np.int64), 60, (4, 5, 5), 1, padding=(1, 1))
    net = IntNetwork((4, 5, 5), 10, "latency", [conv])
    split = split_fan_in(net, profile_with_axons(18))
    relay, final = split.layers
    assert relay.weight.shape == (12, 4, 3, 3) and relay.output_shape == (12, 5, 5)
    for g in range(4):
        np.testing.assert_array_equal(relay.weight[3 * g:3 * g + 3, g], conv.weight[:, g])
        assert not np.delete(relay.weight[3 * g:3 * g + 3], g, axis=1).any()
    assert final.weight.shape == (3, 12, 1, 1) and final.output_shape == (3, 5, 5)
    np.testing.assert_array_equal(final.weight[:, :, 0, 0], np.hstack([np.eye(3)] * 4))
    assert (relay.fan_in, final.fan_in, relay.info["split"]["group_size"]) == (9, 4, 9)
    # the relays store the layer's synapses (padding excluded), the final layer 4 per neuron
    assert connections(relay) == connections(conv) and connections(final) == 4 * 75
    assert_same_spikes(net, split, rng.integers(-1, 10, (16, 100)))


def test_split_conv_cuts_a_kernel_larger_than_the_axons():
    """A 3x3 kernel on 1 channel over 4-axon cores: taps 0-3, 4-7 and 8 go to three relays."""
    rng = np.random.default_rng(4)
    conv = IntLayer("conv1", "conv", rng.integers(-40, 40, (2, 1, 3, 3)) * 2, 0, np.array([30, 10]),
                    np.ones(2, np.int64), 40, (1, 6, 6), 1, padding=(1, 1))
    net = IntNetwork((1, 6, 6), 10, "latency", [conv])
    relay = split_fan_in(net, profile_with_axons(4)).layers[0]
    assert relay.weight.shape == (6, 1, 3, 3) and relay.fan_in == 4
    np.testing.assert_array_equal(relay.synapse_mask()[[0, 2, 4], 0].reshape(3, 9),
                                  [[1] * 4 + [0] * 5, [0] * 4 + [1] * 4 + [0], [0] * 8 + [1]])
    assert_same_spikes(net, split_fan_in(net, profile_with_axons(4)), rng.integers(-1, 10, (16, 36)))


def test_layers_within_the_axons_are_left_alone(hand_net):
    split = split_fan_in(hand_net, profile_with_axons(3))
    assert [l.name for l in split.layers] == ["fc1", "fc2"] and split.total_steps == hand_net.total_steps


# ---------------------------------------------------------------------------------------------
# random networks: eventsim split == eventsim unsplit == torch int
# ---------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), conv=st.booleans())
def test_split_equals_unsplit_on_random_networks(data, conv):
    net, times = data.draw(int_networks(conv=conv))
    axons = data.draw(st.integers(2, 12))   # conv kernels have up to 18 taps: runs may cut a channel
    split = split_fan_in(net, profile_with_axons(axons))
    assert all(layer.fan_in <= axons for layer in split.layers)
    assert [l.hop_delay for l in split.layers] == list(range(1, len(split.layers) + 1))
    assert_same_spikes(net, split, times)


# ---------------------------------------------------------------------------------------------
# NIR round trip, profiles, refusal on Loihi 1
# ---------------------------------------------------------------------------------------------

def test_split_network_round_trips_through_nir(tmp_path):
    rng = np.random.default_rng(5)
    conv = IntLayer("conv1", "conv", rng.integers(-30, 30, (2, 3, 3, 3)) * 2, 0, np.array([40, 0]),
                    np.ones(2, np.int64), 60, (3, 4, 4), 1, padding=(1, 1))
    fc = dense_layer("fc2", rng.integers(-60, 60, (4, 32)) * 2, [30, 0, -20, 10], vth=120, hop=2, weight_exp=1)
    net = IntNetwork((3, 4, 4), 12, "latency", [conv, fc])
    split = split_fan_in(net, profile_with_axons(9))
    path = tmp_path / "split.nir"
    write_graph(int_to_nir(split), str(path))
    graph = nir.read(str(path))
    assert graph.edges[:3] == [("input", "conv1_relay1"), ("conv1_relay1", "conv1"), ("conv1", "conv1_if")]
    # plain NIR semantics: the chain of Affine nodes is the unsplit layer (membrane units)
    relay, summing = graph.nodes["fc2_relay1"], graph.nodes["fc2"]
    assert relay.metadata["neuron"] == "relay" and isinstance(relay, nir.Affine)
    np.testing.assert_array_equal(np.asarray(summing.weight) @ np.asarray(relay.weight),
                                  (fc.weight << 1) << 6)
    back = read_int(str(path))
    assert [(l.name, l.neuron, l.kind, l.hop_delay) for l in back.layers] == \
        [(l.name, l.neuron, l.kind, l.hop_delay) for l in split.layers]
    for a, b in zip(split.layers, back.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert (a.weight_exp, a.input_shape, a.info) == (b.weight_exp, b.input_shape, b.info)
    assert back.total_steps == split.total_steps
    times = rng.integers(-1, 12, (10, 48))
    for a, b in zip(simulate(split, times).spike_times, simulate(back, times).spike_times):
        np.testing.assert_array_equal(a, b)


def test_graded_spikes_flag_in_profiles():
    assert load_profile("loihi2").graded_spikes and not load_profile("loihi").graded_spikes
    assert load_profile(str(PROFILE_64)).limits["input_axons_per_core"] == 64


def test_loihi1_refuses_a_fan_in_larger_than_its_axons(hand_split):
    net, _ = hand_split
    with pytest.raises(TTFSError, match="fan-in 4 > 2 input axons per core on loihi, and splitting"):
        split_fan_in(net, profile_with_axons(2, base="loihi"))
    with pytest.raises(TTFSError, match="1 input axon.* per core: partial sums need at least 2"):
        split_fan_in(net, profile_with_axons(1))


def test_compile_cli_refuses_split_on_loihi1_with_one_line(tmp_path):
    profile = tmp_path / "loihi-64.toml"
    profile.write_text('name = "loihi-64"\nextends = "loihi"\n[limits]\ninput_axons_per_core = 64\n')
    out = tmp_path / "m.nir"
    result = CliRunner().invoke(cli, ["compile", str(DIGITS_MODEL), "--target", str(profile), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: layer fc1 has fan-in 128 > 64 input axons per core on loihi-64, "
                                    "and splitting it needs graded spikes")


@pytest.fixture(scope="module")
def digits_64(tmp_path_factory):
    """The shipped digits model compiled for 64-axon cores (every layer split) and for loihi2."""
    out = tmp_path_factory.mktemp("split")
    for target, name in ((str(PROFILE_64), "split"), ("loihi2", "plain")):
        result = CliRunner().invoke(cli, ["compile", str(DIGITS_MODEL), "--target", target,
                                          "-o", str(out / f"{name}.nir"), "--json", str(out / f"{name}.json")])
        assert result.exit_code == 0, result.output
    return out


def test_digits_compiled_for_64_axons_splits_every_layer(digits_64):
    report = json.loads((digits_64 / "split.json").read_text())
    layers = [(l["name"], l["neuron"], l["hop_delay"]) for l in report["layers"]]
    assert layers == [("fc1_relay1", "relay", 1), ("fc1", "fire_once", 2),
                      ("fc2_relay1", "relay", 3), ("fc2", "fire_once", 4)]
    assert all(l["fan_in"] <= 64 for l in report["layers"])
    plain = json.loads((digits_64 / "plain.json").read_text())
    assert report["total_steps"] == plain["total_steps"] + 2


def test_digits_split_spikes_equal_unsplit_on_the_test_set(digits_64):
    from ttfs_deploy.data.datasets import load_dataset
    from ttfs_deploy.data.encoders import encode

    split, plain = read_int(str(digits_64 / "split.nir")), read_int(str(digits_64 / "plain.nir"))
    data = load_dataset("digits", "test")
    times = encode(plain.encoder, data.x, plain.T).reshape(len(data.x), -1)
    assert_same_spikes(plain, split, times)


@pytest.mark.lava
def test_digits_split_for_64_axons_verifies_on_lava(digits_64):
    """The bar of issue 17: every layer split, 0 mismatches against Lava."""
    result = CliRunner().invoke(cli, ["verify", str(digits_64 / "split.nir"), "--samples", "12",
                                      "--json", str(digits_64 / "verify.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((digits_64 / "verify.json").read_text())
    assert report["mismatches"] == 0 and report["predictions_agree"]
    assert [l["name"] for l in report["layers"]] == ["fc1", "fc2"]   # relays are skipped
    assert report["neurons_compared"] == 12 * (256 + 10) * 2


@pytest.mark.lava
def test_hand_split_spike_time_on_lava(hand_split):
    from ttfs_deploy.backends.lava import run_lava

    _, split = hand_split
    result = run_lava(split, np.array([[0, 1, 0, 2], [0, -1, 0, -1]]))
    np.testing.assert_array_equal(result.spike_times[-1], [[2], [NEVER]])
    np.testing.assert_array_equal(result.v_final, [[0], [20 * 64]])
    assert split.total_steps == 8 and [layer.hop_delay for layer in split.layers] == [1, 2]
