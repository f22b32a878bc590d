"""Placement: tiles within every per-core limit (checked by an independent recount), refusals,
many chips, and spike traffic by where it travels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement_checker import check_placement, connectivity, crossing_routes
from strategies import int_networks
from ttfs_deploy.backends.eventsim import simulate
from ttfs_deploy.cli import cli
from ttfs_deploy.compile.pipeline import compile_model, report
from ttfs_deploy.compile.placement import place
from ttfs_deploy.compile.split import split_fan_in
from ttfs_deploy.energy.traffic import count_traffic
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile, load_profile
from ttfs_deploy.ir.network import IntLayer, IntNetwork
from ttfs_deploy.model.checkpoint import load_checkpoint

MODELS = sorted((Path(__file__).resolve().parents[1] / "examples" / "models").glob("*.pt"))


def tiny_profile(neurons: int, axons: int, memory: int, shared: bool, cores_per_chip: int = 4,
                 chips: int = 64) -> HardwareProfile:
    return HardwareProfile("tiny", limits={"cores_per_chip": cores_per_chip, "chips": chips, "neurons_per_core": neurons,
                                           "synaptic_memory_bytes_per_core": memory, "bytes_per_synapse": 1,
                                           "input_axons_per_core": axons, "output_axons_per_core": 4096,
                                           "conv_weight_sharing": shared})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=int_networks(conv=True) | int_networks(conv=False), neurons=st.integers(1, 24),
       axons=st.integers(8, 120), memory=st.integers(16, 400), shared=st.booleans())
def test_random_networks_place_within_every_limit_or_are_refused(data, neurons, axons, memory, shared):
    net, _ = data
    profile = tiny_profile(neurons, axons, memory, shared)
    try:
        net.placement = place(net, profile)
    except TTFSError as err:
        message = str(err)
        assert "\n" not in message
        fan_in = max(int(connectivity(layer).sum(axis=1).max()) for layer in net.layers)
        if "fan-in" in message:
            assert fan_in > axons and f"over the {axons:,} input axons" in message
        else:  # the other refusal here: one neuron's synapses over the memory
            assert "synaptic memory" in message and fan_in <= axons
        return
    check_placement(net, profile.limits)


#: (model, target) pairs that compile: the shipped Fashion-MNIST network needs Loihi 2's graded spikes
#: for its split fc3 (its refusal on loihi: tests/test_shipped_models.py::test_compiles_for_loihi_too)
SHIPPED_TARGETS = [(m, t) for t in ("loihi2", "loihi2-kapoho-point", "loihi") for m in MODELS
                   if not (t == "loihi" and m.name == "fashion_mnist.pt")]


@pytest.mark.parametrize("model, target", SHIPPED_TARGETS, ids=[f"{t}-{m.stem}" for m, t in SHIPPED_TARGETS])
def test_shipped_models_place_within_every_limit(model, target):
    profile = load_profile(target)
    _, net = compile_model(load_checkpoint(str(model))[0], profile)
    per_core = check_placement(net, profile.limits)
    rep = report(net).to_dict()
    assert rep["cores_used"] == len(per_core) == len(rep["cores"])
    for mine, theirs in zip(per_core, rep["cores"]):
        assert {k: mine[k] for k in ("core", "neurons", "input_axons", "memory_bytes")} == \
            {k: theirs[k] for k in ("core", "neurons", "input_axons", "memory_bytes")}
        assert all(0 < share <= 1 for key, share in theirs["shares"].items() if key != "output_axons")


def _conv(c_in: int, c_out: int, k: int, hw: int, name: str = "conv1", hop: int = 1) -> IntLayer:
    w = np.full((c_out, c_in, k, k), 2, np.int64)
    return IntLayer(name, "conv", w, 0, np.zeros(c_out, np.int64), np.zeros(c_out, np.int64), 100,
                    (c_in, hw, hw), hop, padding=(k // 2, k // 2))


def test_a_neuron_over_the_input_axons_is_refused_naming_layer_limit_and_figure():
    # 512 channels x 3 x 3 = 4,608 inputs per neuron, over loihi2's 4,096 input axons
    net = IntNetwork((512, 4, 4), 8, "latency", [_conv(512, 8, 3, 4)])
    with pytest.raises(TTFSError) as info:
        place(net, load_profile("loihi2"))
    assert str(info.value) == ("layer conv1: one neuron's fan-in is 4,608 (C_in x kh x kw = 512 x 3 x 3), over the "
                               "4,096 input axons per core of loihi2; give that layer fewer input channels or a "
                               "smaller kernel, or use a target with more input axons per core")


def test_too_few_chips_is_refused_with_the_chip_count_that_fits():
    net = IntNetwork((4, 8, 8), 8, "latency", [_conv(4, 16, 3, 8)])
    profile = tiny_profile(neurons=16, axons=4096, memory=10 ** 6, shared=True, cores_per_chip=4, chips=2)
    with pytest.raises(TTFSError, match=r"network needs 64 cores but tiny has 8 \(2 chip\(s\) x 4\); use --chips 16"):
        place(net, profile)
    profile.limits["chips"] = 16
    net.placement = place(net, profile)
    assert {t["chip"] for e in net.placement for t in e["tiles"]} == set(range(16))
    check_placement(net, profile.limits)


def test_chip_cuts_cross_no_more_routes_than_filling_chip_after_chip():
    # conv (4 ch, 8x8) -> conv (4 ch) -> dense 6 on 16-neuron cores, 5 cores per chip
    rng = np.random.default_rng(0)
    fc = IntLayer("fc3", "dense", rng.integers(-3, 4, size=(6, 256)) * 2, 0, np.zeros(6, np.int64),
                  np.zeros(6, np.int64), 50, (256,), 3)
    net = IntNetwork((1, 8, 8), 8, "latency", [_conv(1, 4, 3, 8), _conv(4, 4, 3, 8, "conv2", 2), fc])
    profile = tiny_profile(neurons=16, axons=4096, memory=10 ** 6, shared=True, cores_per_chip=5, chips=16)
    net.placement = place(net, profile)
    check_placement(net, profile.limits)  # recounts interchip_routes from the connectivity
    placed = net.metadata["interchip_routes"]
    tiles = [t for entry in net.placement for t in entry["tiles"]]
    assert len({t["chip"] for t in tiles}) > 1 and placed > 0
    # the same cores, in the same order, filling chip after chip
    position = {core: i for i, core in enumerate(sorted({t["core"] for t in tiles}))}
    for t in tiles:
        t["chip"] = position[t["core"]] // 5
    assert placed <= crossing_routes(net)


def test_conv_tiles_are_spatial_blocks_with_their_receptive_field():
    # 1 x 8 x 8 input, 3x3 conv pad 1, 4 channels; 16 neurons per core -> 2x2 spatial blocks of all... or fewer channels
    net = IntNetwork((1, 8, 8), 8, "latency", [_conv(1, 4, 3, 8)])
    net.placement = place(net, tiny_profile(neurons=16, axons=4096, memory=10 ** 6, shared=True))
    entry = net.placement[0]
    assert entry["cores"] == 16 and np.prod(entry["tile_shape"]) == 16
    check_placement(net, tiny_profile(16, 4096, 10 ** 6, True).limits)
    # a 4x4 block at a corner reads rows/cols 0..4 (5 x 5); an inner one 6 x 6 ... both exact per the checker
    corner = next(t for t in entry["tiles"] if t["start"][1:] == [0, 0])
    assert corner["input_axons"] == (corner["stop"][1] + 1) * (corner["stop"][2] + 1)


def _two_chip_net(cores_per_chip: int = 2):
    w1 = np.eye(4, dtype=np.int64) * 100
    w2 = np.array([[2, 2, 0, 0], [0, 0, 2, 2]], np.int64)
    zero = np.zeros(4, np.int64)
    net = IntNetwork((4,), 8, "latency", [IntLayer("fc1", "dense", w1, 0, zero, zero, 10, (4,), 1),
                                          IntLayer("fc2", "dense", w2, 0, zero[:2], zero[:2], 0, (4,), 2)])
    net.placement = place(net, tiny_profile(neurons=2, axons=4096, memory=10 ** 6, shared=False,
                                            cores_per_chip=cores_per_chip, chips=2))
    return net


def test_traffic_counts_messages_by_where_they_travel():
    # in (4) -> fc1 (4) -> fc2 (2) on 2-neuron cores, 2 cores per chip. fc1's two tiles each send
    # 2 routes to fc2, so the chip cut goes after fc1's first tile: cores 0 | 2, 3
    net = _two_chip_net()
    profile = tiny_profile(neurons=2, axons=4096, memory=10 ** 6, shared=False, cores_per_chip=2, chips=2)
    assert [[t["core"] for t in e["tiles"]] for e in net.placement] == [[0, 2], [3]]
    assert net.metadata["interchip_routes"] == 2
    spikes = [np.array([[1, -1, 3, 4], [0, 0, -1, -1]]), np.array([[2, 5], [1, -1]])]
    counts = count_traffic(net, spikes, {**profile.limits, "cores_per_tile": 1, "mesh_tiles_x": 8})
    # sample 0: fc1 neuron 0 (core 0, chip 0) crosses to fc2 (core 3, chip 1); neurons 2, 3 (core 2)
    # go one east-west hop to core 3; sample 1: neurons 0, 1 (core 0) cross chips
    per_sample = {k: v.tolist() for k, v in counts[1].items()}
    assert (per_sample["between_chips"], per_sample["between_cores"], per_sample["hops_ew"]) == \
        ([1, 2], [2, 0], [2, 0])
    assert per_sample["within_core"] == [0, 0] and per_sample["to_host"] == [2, 1]
    check_placement(net, profile.limits)


def test_traffic_counts_mesh_hops_between_cores_of_a_chip():
    # the same cores on one chip whose mesh is 2 tiles wide, one core per tile: cores 0, 1 on the
    # first row (x = 0, 1), core 2 below core 0 (x = 0, y = 1)
    net = _two_chip_net(cores_per_chip=4)
    spikes = [np.array([[1, -1, 3, 4], [0, 0, -1, -1]]), np.array([[2, 5], [1, -1]])]
    layout = {"cores_per_chip": 4, "cores_per_tile": 1, "mesh_tiles_x": 2}
    counts = {k: float(v.mean()) for k, v in count_traffic(net, spikes, layout)[1].items()}
    # sample 0: core 0 -> 2 (1 N-S hop), two spikes core 1 -> 2 (1 E-W + 1 N-S each); sample 1: two core 0 -> 2
    assert (counts["between_cores"], counts["hops_ns"], counts["hops_ew"], counts["between_chips"]) == (2.5, 2.5, 1.0, 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=int_networks(conv=True), neurons=st.integers(2, 24))
def test_traffic_totals_are_spikes_times_destination_cores(data, neurons):
    net, times = data
    profile = tiny_profile(neurons, 4096, 10 ** 6, True, cores_per_chip=3, chips=64)
    net.placement = place(net, profile)
    result = simulate(net, times)
    counts = count_traffic(net, result.spike_times, profile.limits)
    for l in range(1, len(net.layers)):
        mat = connectivity(net.layers[l])
        fired = (result.spike_times[l - 1] >= 0).sum(axis=0)
        expect = 0
        for tile in net.placement[l]["tiles"]:
            idx = np.arange(net.layers[l].n_neurons).reshape(net.layers[l].output_shape)
            rows = idx[tuple(slice(a, b) for a, b in zip(tile["start"], tile["stop"]))].ravel()
            expect += fired[np.unique(mat[rows].indices)].sum()
        got = counts[l]["within_core"] + counts[l]["between_cores"] + counts[l]["between_chips"]
        assert got.sum() == pytest.approx(expect)


def test_cli_compile_with_a_chip_override_writes_per_core_utilization(tmp_path):
    model = next(m for m in MODELS if m.stem == "digits")
    out = tmp_path / "c.json"
    res = CliRunner().invoke(cli, ["compile", str(model), "--target", "loihi2-kapoho-point", "--chips", "2",
                                   "-o", str(tmp_path / "m.nir"), "--json", str(out)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["target"] == "loihi2-kapoho-point" and rep["chips_available"] == 2
    assert {"target", "total_steps", "cores_used"} <= set(rep)
    for layer in rep["layers"]:
        assert {"name", "neurons", "synapses", "weight_bits", "weight_exp", "cores", "tile_shape", "grid"} <= set(layer)
    core = rep["cores"][0]
    assert set(core["shares"]) == {"neurons", "input_axons", "output_axons", "memory_bytes"}
    assert core["shares"]["neurons"] == core["neurons"] / rep["limits"]["neurons_per_core"]


def test_energy_report_charges_chip_crossings_and_html_draws_the_core_map(tmp_path):
    from ttfs_deploy.energy.html import write_html
    from ttfs_deploy.energy.report import energy_report

    net = _two_chip_net()
    inputs = np.array([[0, -1, 1, 2], [0, 0, -1, -1]])
    plain_profile = load_profile("loihi2")
    report, sim, sim_early = energy_report(net, inputs, profile="loihi2-kapoho-point")
    baseline, _, _ = energy_report(net, inputs, profile=plain_profile)
    traffic = report.per_sample["traffic"]  # cores 2, 3 share a mesh tile (4 cores per tile): no hops
    assert traffic["between_chips"] == 1.5 and traffic["hops_ew"] == 0
    assert traffic["energy_j"] == pytest.approx(1.5 * 30e-12)
    assert report.per_sample["energy_j"] == pytest.approx(baseline.per_sample["energy_j"] + 1.5 * 30e-12)
    assert sum(l["energy_j"] for l in report.layers) == pytest.approx(report.per_sample["energy_j"])
    assert report.latency["seconds_breakdown"]["traffic_s"] == pytest.approx(1.5 * 41e-9)
    page = Path(write_html(report, sim, sim_early, net, str(tmp_path / "r.html"))).read_text()
    assert 'id="core-map"' in page and "chip 1" in page and "core 3: fc2" in page
    assert "Spike messages per inference: 1.5 between chips" in page


@settings(max_examples=40, deadline=None)
@given(c_in=st.integers(1, 3), c_out=st.integers(1, 3), hw=st.integers(1, 9), k=st.integers(1, 5),
       stride=st.integers(1, 3), pad=st.integers(0, 2))
def test_conv_connections_from_geometry_equal_the_materialized_count(c_in, c_out, hw, k, stride, pad):
    from ttfs_deploy.ir.connectivity import connections, conv_matrix

    if hw + 2 * pad < k:
        return
    layer = IntLayer("c", "conv", np.ones((c_out, c_in, k, k), np.int64), 0, np.zeros(c_out, np.int64),
                     np.zeros(c_out, np.int64), 1, (c_in, hw, hw), 1, stride=(stride, stride), padding=(pad, pad))
    assert connections(layer) == conv_matrix(layer.weight, layer.input_shape, layer.stride, layer.padding).nnz


@pytest.mark.parametrize("limits, expect", [
    # graded spikes: the fan-in is split into relays, which then need more cores than the chip has
    ("input_axons_per_core = 16", "network needs 162 cores but small has 128"),
    # no graded spikes: the split is refused, naming the layer, its fan-in and the limit
    ("input_axons_per_core = 16\ngraded_spikes = false", "layer fc1 has fan-in 128 > 16 input axons per core on small"),
])
def test_cli_refuses_a_network_that_cannot_fit_with_one_line_and_no_file(tmp_path, limits, expect):
    model = next(m for m in MODELS if m.stem == "digits")
    small = tmp_path / "small.toml"
    small.write_text(f'name = "small"\nextends = "loihi2"\n[limits]\n{limits}\n')
    out = tmp_path / "m.nir"
    res = CliRunner().invoke(cli, ["compile", str(model), "--target", str(small), "-o", str(out)])
    assert res.exit_code == 1 and not out.exists()
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0]


# ---------------------------------------------------------------------------------------------
# split conv layers (fan-in splitting): relay groups and summing layers, counted from the mask
# ---------------------------------------------------------------------------------------------

def _graded(profile: HardwareProfile) -> HardwareProfile:
    profile.limits["graded_spikes"] = True
    return profile


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=int_networks(conv=True), axons=st.integers(2, 6), neurons=st.integers(1, 24),
       memory=st.integers(4, 200), shared=st.booleans())
def test_split_conv_networks_place_within_every_limit_or_are_refused(data, axons, neurons, memory, shared):
    """Conv fan-ins of up to 18 on cores of 2-6 input axons: the conv is split into relays
    (whole channels or runs of kernel taps) and a 1x1 summing layer; the checker recounts every
    tile from the layers' synapse masks."""
    net, _ = data
    profile = _graded(tiny_profile(neurons, axons, memory, shared, cores_per_chip=3))
    split = split_fan_in(net, profile)
    assert all(layer.fan_in <= axons for layer in split.layers)
    try:
        split.placement = place(split, profile)
    except TTFSError as err:
        message = str(err)
        assert "\n" not in message and "fan-in" not in message
        cores = re.fullmatch(r"network needs (\d+) cores but tiny has 192 \(64 chip\(s\) x 3\); use --chips .*", message)
        if cores:
            assert int(cores[1]) > 192
            return
        match = re.fullmatch(r"layer (\S+): (one output channel's kernel|one neuron's synapses) needs? ([\d,]+) bytes, "
                             rf"over the {memory:,} bytes of synaptic memory per core of tiny; .*", message)
        assert match, message
        layer = next(l for l in split.layers if l.name == match[1])
        figure = int(match[3].replace(",", ""))
        if layer.kind == "conv" and shared:   # the largest kernel of one output channel
            assert match[2] == "one output channel's kernel" and figure == \
                int(layer.synapse_mask().reshape(len(layer.weight), -1).sum(1).max())
        else:
            assert figure == int(connectivity(layer).sum(axis=1).max())
        assert figure > memory
        return
    check_placement(split, profile.limits)


def test_a_conv_split_for_64_axons_places_exactly():
    """16 channels x 3 x 3 = 144 inputs per neuron on cores of 64 axons: relays of whole channels."""
    rng = np.random.default_rng(7)
    conv = _conv(16, 8, 3, 8)
    conv.weight = rng.integers(-40, 40, conv.weight.shape) * 2
    fc = IntLayer("fc2", "dense", rng.integers(-3, 4, size=(10, 512)) * 2, 0, np.zeros(10, np.int64),
                  np.zeros(10, np.int64), 50, (512,), 2)
    profile = load_profile(str(Path(__file__).parent / "data" / "loihi2-64axons.toml"))
    split = split_fan_in(IntNetwork((16, 8, 8), 8, "latency", [conv, fc]), profile)
    assert [l.name for l in split.layers] == ["conv1_relay1", "conv1", "fc2_relay1", "fc2"]
    relay = split.layers[0]
    assert relay.info["split"]["group_size"] % 9 == 0      # whole input channels per group
    split.placement = place(split, profile)
    per_core = check_placement(split, profile.limits)
    assert max(c["input_axons"] for c in per_core) <= 64
    # a relay tile reads only its group's channels: fewer axons than all 16 channels would need
    tile = split.placement[0]["tiles"][0]
    assert tile["input_axons"] < 16 * 3 * 3


@pytest.mark.parametrize("shared, whose", [(True, "one output channel's kernel needs"),
                                           (False, "one neuron's synapses need")])
def test_a_split_conv_that_cannot_fit_is_refused_naming_layer_limit_and_figure(shared, whose):
    # 8 channels x 3 x 3 = 72 inputs on 16-axon cores whose 8 bytes hold no whole channel's kernel
    # (9 taps): the split falls back to runs of 16 kernel entries, and one relay needs 16 bytes
    net = IntNetwork((8, 6, 6), 8, "latency", [_conv(8, 4, 3, 6)])
    profile = _graded(tiny_profile(neurons=64, axons=16, memory=8, shared=shared))
    split = split_fan_in(net, profile)
    assert split.layers[0].info["split"]["group_size"] == 16
    with pytest.raises(TTFSError) as info:
        place(split, profile)
    assert str(info.value) == (f"layer conv1_relay1: {whose} 16 bytes, over the 8 bytes of synaptic memory per core "
                               "of tiny; give that layer fewer inputs or use a target with more synaptic memory per core")


def test_a_small_vgg_split_over_many_chips_is_recounted_exactly():
    """The CIFAR-10 VGG's shape at 1/8 of its channels on 3x16x16: folded average pools (6x6
    stride-2 kernels) and a pooled dense layer all split on cores of 256 input axons, 256
    neurons and 4 KiB, 16 cores per chip; every tile recounted from the synapse masks."""
    import torch

    from ttfs_deploy.model.network import ModelConfig, TTFSNet

    torch.manual_seed(0)
    model = TTFSNet(ModelConfig("8C3-16C3-AP2-32C3-32C3-AP2-64C3-AP2-FC10", (3, 16, 16), 10, T=8, encoder="latency"))
    profile = load_profile("loihi2-kapoho-point")
    profile.limits.update(input_axons_per_core=256, neurons_per_core=256, synaptic_memory_bytes_per_core=4096,
                          cores_per_chip=16, chips=40)
    _, net = compile_model(model, profile)
    assert [l.name for l in net.layers if l.info.get("split", {}).get("level") == 1] == \
        ["conv3_relay1", "conv4_relay1", "conv5_relay1", "fc6_relay1"]
    per_core = check_placement(net, profile.limits)
    assert len({t["chip"] for e in net.placement for t in e["tiles"]}) > 1
    assert [c["core"] for c in per_core] == [c["core"] for c in report(net).to_dict()["cores"]]


def test_a_split_layer_over_the_axons_of_another_profile_is_refused_naming_its_group():
    # split for 16 input axons (runs of 16 kernel entries), placed on cores of 8
    net = IntNetwork((8, 6, 6), 8, "latency", [_conv(8, 4, 3, 6)])
    split = split_fan_in(net, _graded(tiny_profile(neurons=64, axons=16, memory=8, shared=True)))
    with pytest.raises(TTFSError) as info:
        place(split, _graded(tiny_profile(neurons=64, axons=8, memory=10 ** 6, shared=True)))
    assert str(info.value) == ("layer conv1_relay1: one neuron's fan-in is 16 (its group of the fan-in split of "
                               "conv1), over the 8 input axons per core of tiny; give that layer fewer inputs, or use "
                               "a target with more input axons per core")


def test_a_tile_over_the_output_axons_is_refused_with_its_destination_cores():
    # conv1 (2 x 6 x 6) feeds conv2, cut into 1-neuron tiles: a conv1 neuron feeds up to 3 x 3 x 2
    net = IntNetwork((1, 6, 6), 8, "latency", [_conv(1, 2, 3, 6), _conv(2, 2, 3, 6, "conv2", 2)])
    profile = tiny_profile(neurons=1, axons=4096, memory=10 ** 6, shared=True, chips=64)
    profile.limits["output_axons_per_core"] = 5
    with pytest.raises(TTFSError) as info:
        place(net, profile)
    match = re.fullmatch(r"layer conv1: a tile feeds ([\d,]+) cores of the next layer, over the 5 output axons per "
                         r"core of tiny; give the next layer fewer channels or use a target with more output axons "
                         r"per core", str(info.value))
    assert match, str(info.value)
    profile.limits["output_axons_per_core"] = 4096   # the same tiles (output axons are checked after tiling)
    net.placement = place(net, profile)
    check_placement(net, profile.limits)              # recounts each tile's destination cores
    assert int(match[1]) == max(t["output_axons"] for t in net.placement[0]["tiles"]) == 18
