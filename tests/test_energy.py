"""Energy accounting and reports on hand-built integer networks (counts worked out by hand)."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from rich.console import Console

from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.energy import account, energy_report, render_table, to_json, to_markdown
from ttfs_deploy.energy.html import PLOT_IDS, write_html
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.ir.connectivity import layer_matrix
from ttfs_deploy.ir.network import IntLayer, IntNetwork

PJ = 1e-12
# Davies et al. 2018 figures of hardware_profiles/loihi.toml
SYN, ACT, INACT, SPIKE = 23.6 * PJ, 81 * PJ, 52 * PJ, 1.7 * PJ


def tiny_net() -> IntNetwork:
    """3 inputs -> 2 hidden -> 2 outputs, T = 4, no bias.

    hidden: w = [[4, 4, 0], [0, 2, 2]], vth 3 (fires when v > 192 = 3 << 6)
    out:    w = [[3, 1], [0, 3]],       vth 2 (fires when v > 128)
    """
    hidden = IntLayer("hidden", "dense", np.array([[4, 4, 0], [0, 2, 2]]), 0, np.zeros(2, np.int64),
                      np.zeros(2, np.int64), 3, (3,), hop_delay=1)
    out = IntLayer("out", "dense", np.array([[3, 1], [0, 3]]), 0, np.zeros(2, np.int64),
                   np.zeros(2, np.int64), 2, (2,), hop_delay=2)
    return IntNetwork((3,), 4, "latency", [hidden, out], target="loihi")


# Sample 0: input spikes at t = 0, 1, 2.
#  t0: input0 -> hidden a=[4,0] (1 syn op): h0 v=256 > 192 fires; h1 idle      act 1, inact 1
#      h0 -> out a=[3,0] (1 syn op): o0 v=192 > 128 fires; o1 idle           act 1, inact 1
#  t1: input1 -> hidden a=[4,2] (2 syn ops): h0 latched, h1 v=128            act 2, inact 0
#      out idle                                                             act 0, inact 2
#  t2: input2 -> hidden a=[0,2] (1 syn op): h1 v=256 fires                   act 1, inact 1
#      h1 -> out a=[1,3] (2 syn ops): o0 latched, o1 v=192 fires             act 2, inact 0
#  t3: all idle                                                             act 0, inact 2 (each layer)
# Sample 1: no input spikes: every neuron-step is inactive (8 per layer).
EXPECT = {  # per sample, per layer
    "hidden": [dict(syn_ops=4, spikes=2, updates_active=4, updates_inactive=4),
               dict(syn_ops=0, spikes=0, updates_active=0, updates_inactive=8)],
    "out": [dict(syn_ops=3, spikes=2, updates_active=3, updates_inactive=5),
            dict(syn_ops=0, spikes=0, updates_active=0, updates_inactive=8)],
}
INPUTS = np.array([[0, 1, 2], [-1, -1, -1]])


def energy_of(c):
    return c["syn_ops"] * SYN + c["updates_active"] * ACT + c["updates_inactive"] * INACT + c["spikes"] * SPIKE


def test_hand_computed_counts_match_the_simulator():
    sim = EventSim(tiny_net()).run(INPUTS)
    assert sim.spike_times[0].tolist() == [[0, 2], [-1, -1]]
    assert sim.spike_times[1].tolist() == [[0, 2], [-1, -1]]
    assert sim.decision.tolist() == [0, -1]
    for l, name in enumerate(["hidden", "out"]):
        for key in ("syn_ops", "spikes", "updates_active", "updates_inactive"):
            assert sim.counts[l][key].tolist() == [EXPECT[name][b][key] for b in range(2)], (name, key)


def test_hand_computed_energy_single_sample():
    net = tiny_net()
    report, _, _ = energy_report(net, INPUTS[:1], profile="loihi")
    ps = report.per_sample
    assert ps["syn_ops"] == 7 and ps["synops"] == 7
    assert ps["spikes"] == 4
    assert ps["updates_active"] == 7 and ps["updates_inactive"] == 9
    assert ps["neuron_updates"] == 16
    # 7 x 23.6 + 7 x 81 + 9 x 52 + 4 x 1.7 = 165.2 + 567 + 468 + 6.8 = 1207 pJ
    assert ps["energy_j"] == pytest.approx(1207.0 * PJ, rel=1e-12)
    hidden, out = report.layers
    assert hidden["energy_j"] == pytest.approx(629.8 * PJ, rel=1e-12)   # 94.4 + 324 + 208 + 3.4
    assert out["energy_j"] == pytest.approx(577.2 * PJ, rel=1e-12)      # 70.8 + 243 + 260 + 3.4
    assert hidden["energy_by_kind_j"]["syn_ops"] == pytest.approx(4 * SYN)
    assert out["energy_by_kind_j"]["updates_inactive"] == pytest.approx(5 * INACT)
    assert (hidden["neurons"], hidden["synapses"], out["neurons"], out["synapses"]) == (2, 6, 2, 4)
    # ANN: one MAC per connection: 6 + 4 = 10 MACs x 4.6 pJ (fp32), x 0.23 pJ (int8)
    assert report.ann_baseline["macs"] == 10
    assert report.ann_baseline["energy_j"] == pytest.approx(46 * PJ)
    assert report.ann_baseline["energy_j_int8"] == pytest.approx(2.3 * PJ)
    assert report.comparison["snn_over_ann_fp32"] == pytest.approx(1207 / 46)
    assert report.comparison["synops_over_macs"] == pytest.approx(0.7)
    assert report.comparison["snn_ac_over_ann_mac_45nm"] == pytest.approx(7 * 0.9 / (10 * 4.6))
    # early exit: the output decides at t0, so only step 0 runs (1 syn op, 1 spike, 1+1 updates per layer)
    ee = report.early_exit["per_sample"]
    assert (ee["syn_ops"], ee["spikes"], ee["updates_active"], ee["updates_inactive"]) == (2, 2, 2, 2)
    assert ee["energy_j"] == pytest.approx(2 * SYN + 2 * ACT + 2 * INACT + 2 * SPIKE)
    assert report.latency["decision_step_mean"] == 0.0
    assert report.latency["steps_run_mean"] == 4 and report.early_exit["latency"]["steps_run_mean"] == 1
    # time estimate: barrier per target step (T + last hop delay = 6) + work
    work = 7 * 3.5e-9 + 16 * 8.4e-9
    assert report.latency["seconds_per_inference_estimate"] == pytest.approx(6 * 465e-9 + work)


def test_means_over_samples_and_labels():
    report, sim, sim_early = energy_report(tiny_net(), INPUTS, labels=np.array([0, 1]), profile="loihi")
    e0 = sum(energy_of(EXPECT[n][0]) for n in EXPECT)
    e1 = sum(energy_of(EXPECT[n][1]) for n in EXPECT)
    assert e1 == pytest.approx(16 * INACT)
    assert report.samples == 2
    assert report.per_sample["energy_j"] == pytest.approx((e0 + e1) / 2)
    assert report.per_sample["syn_ops"] == 3.5
    assert report.latency["silent_fraction"] == 0.5
    assert report.latency["decision_step_hist"] == [1, 0, 0, 0]
    assert sim_early.decision.tolist() == sim.decision.tolist() == [0, -1]
    # sample 0 -> class 0 (first spike), silent sample 1 -> argmax of equal final v -> class 0
    assert report.accuracy["accuracy"] == 0.5 == report.accuracy["accuracy_early_exit"]
    d = to_json(report)
    assert d["accuracy"] == 0.5 and d["accuracy_early_exit"] == 0.5


def test_sanafe_profile_uses_its_own_figures():
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi-sanafe")
    assert report.per_sample["energy_j"] == pytest.approx((7 * 35.5 + 7 * 72.8 + 9 * 51.2 + 4 * 76.8) * PJ)
    assert report.assumption is False and "SANA-FE" in report.source


def conv_net(seed: int = 0) -> IntNetwork:
    """(1, 6, 6) -> conv 3 ch 3x3 pad 1 -> dense 5, random weights with some zeros, small biases."""
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-4, 12, size=(3, 1, 3, 3))
    w1[w1 < 0] = 0
    conv = IntLayer("conv", "conv", w1, 0, rng.integers(0, 3, 3), np.zeros(3, np.int64), 8, (1, 6, 6),
                    hop_delay=1, padding=(1, 1))
    w2 = 2 * rng.integers(-3, 6, size=(5, 108))  # mixed signs: even values, on Lava's 8-bit grid
    fc = IntLayer("fc", "dense", w2, 0, np.array([0, 1, 0, 2, 0]), np.zeros(5, np.int64), 20, (108,), hop_delay=2)
    return IntNetwork((1, 6, 6), 8, "latency", [conv, fc], target="loihi",
                      placement=[{"layer": "conv", "cores": 1}, {"layer": "fc", "cores": 1}])


def test_layer_syn_ops_sum_to_total_and_match_the_simulator():
    net = conv_net()
    x = np.random.default_rng(1).integers(-1, 8, size=(12, 36))
    report, sim, sim_early = energy_report(net, x, profile="loihi")
    assert sum(l["syn_ops"] for l in report.layers) == pytest.approx(report.per_sample["syn_ops"])
    assert sum(l["energy_j"] for l in report.layers) == pytest.approx(report.per_sample["energy_j"])
    assert sum(report.per_sample["energy_by_kind_j"].values()) == pytest.approx(report.per_sample["energy_j"])
    for layer, counts in zip(report.layers, sim.counts):
        for key in ("syn_ops", "spikes", "updates_active", "updates_inactive", "dense_ops"):
            assert layer[key] == pytest.approx(counts[key].mean())
    # the conv layer's syn ops: input spikes x non-zero fan-out from the conv connection map
    fan_out = np.diff(layer_matrix(net.layers[0]).tocsc().indptr)
    expect = sum(fan_out[np.nonzero(row >= 0)[0]].sum() for row in x) / len(x)
    assert report.layers[0]["syn_ops"] == pytest.approx(expect)
    assert report.per_sample["syn_ops"] > 0
    # early exit never counts more work than the full window
    assert report.early_exit["per_sample"]["energy_j"] <= report.per_sample["energy_j"]
    for layer, counts in zip(report.early_exit["layers"], sim_early.counts):
        assert layer["syn_ops"] == pytest.approx(counts["syn_ops"].mean())
    # the conv ANN baseline counts every (padded-out) connection once
    assert report.layers[0]["synapses"] == 3 * (16 * 9 + 16 * 6 + 4 * 4)  # interior / edge / corner taps


def test_json_schema_keys():
    report, _, _ = energy_report(tiny_net(), INPUTS, labels=np.array([0, 1]), profile="loihi")
    d = json.loads(json.dumps(to_json(report)))  # JSON-serializable
    assert d["profile"] == "loihi"
    for key in ("energy_j", "synops", "syn_ops", "spikes", "neuron_updates"):
        assert key in d["per_sample"]
    assert {"macs", "energy_j", "energy_j_int8"} <= set(d["ann_baseline"])
    assert [l["name"] for l in d["layers"]] == ["hidden", "out"]
    for layer in d["layers"]:
        assert {"name", "neurons", "synapses", "spikes", "syn_ops", "synops", "neuron_updates", "energy_j",
                "energy_by_kind_j", "ann_macs", "ann_energy_j"} <= set(layer)
    assert {"decision_step_mean", "silent_fraction", "seconds_per_inference_estimate"} <= set(d["latency"])
    assert {"per_sample", "latency", "energy_saving_fraction"} <= set(d["early_exit"])
    assert d["latency_steps_mean"] == 0.0
    assert d["accuracy"] == 0.5
    assert report.to_dict() == to_json(report)
    no_labels = to_json(energy_report(tiny_net(), INPUTS)[0])
    assert no_labels["accuracy"] is None


def test_loihi2_report_is_flagged_as_assumption():
    report, _, _ = energy_report(tiny_net(), INPUTS, profile="loihi2")
    assert report.assumption is True and to_json(report)["assumption"] is True
    console = Console(record=True, width=160)
    console.print(render_table(report))
    assert "ASSUMPTION" in console.export_text()
    assert "ASSUMPTION" in to_markdown(report)
    plain, _, _ = energy_report(tiny_net(), INPUTS, profile="loihi")
    console = Console(record=True, width=160)
    console.print(render_table(plain))
    text = console.export_text()
    assert "ASSUMPTION" not in text and "ASSUMPTION" not in to_markdown(plain)
    for needle in ("hidden", "out", "total", "1.02 nJ", "cmos45", "Davies", "decision step mean"):
        assert needle in text, needle


def test_markdown_has_every_layer_and_the_baseline():
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi")
    report.command = "ttfs-deploy energy tiny.nir --profile loihi"
    md = to_markdown(report)
    assert "| hidden |" in md and "| out |" in md and "| **total** |" in md
    assert "1.21 nJ" in md and "46 pJ" in md and report.command in md


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.images, self.stack, self.urls = {}, [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = tag
            self.stack.append(attrs["id"])
        if tag == "img":
            self.images.append((self.stack[-1] if self.stack else None, attrs.get("src", "")))
        for k in ("src", "href"):
            if k in attrs:
                self.urls.append(attrs[k])


def test_html_is_self_contained_with_every_plot(tmp_path):
    net = tiny_net()
    report, sim, sim_early = energy_report(net, INPUTS, labels=np.array([0, 1]), profile="loihi2")
    path = tmp_path / "report.html"
    assert write_html(report, sim, sim_early, net, str(path), input_times=INPUTS) == str(path)
    page = path.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    parser.close()
    for plot_id in PLOT_IDS:
        assert plot_id in parser.ids, plot_id
        srcs = [src for owner, src in parser.images if owner == plot_id]
        assert srcs and srcs[0].startswith("data:image/png;base64,") and len(srcs[0]) > 1000, plot_id
    assert set(PLOT_IDS) == {"plot-first-spike-hist", "plot-raster", "plot-energy-by-layer", "plot-snn-vs-ann",
                             "plot-latency"}
    assert not re.search(r"https?://", page, re.IGNORECASE)
    assert all(u.startswith("data:") for u in parser.urls)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "ASSUMPTION" in page and "table-layers" in parser.ids
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_html_failure_leaves_no_file(tmp_path, monkeypatch):
    net = tiny_net()
    report, sim, sim_early = energy_report(net, INPUTS, profile="loihi")
    path = tmp_path / "report.html"
    with pytest.raises(TTFSError):
        write_html(report, sim, sim_early, net, str(path), sample=5)
    import ttfs_deploy.energy.html as html_mod

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(html_mod.os, "replace", broken)
    with pytest.raises(OSError):
        write_html(report, sim, sim_early, net, str(path))
    assert list(tmp_path.iterdir()) == []


def test_account_rejects_profiles_without_energy():
    net = tiny_net()
    sim = EventSim(net).run(INPUTS)
    with pytest.raises(TTFSError, match="no \\[energy\\]"):
        account(net, sim, load_profile("cmos45"), load_profile("cmos45"))
    with pytest.raises(TTFSError, match="fp32_mac"):
        account(net, sim, load_profile("loihi"), load_profile("loihi"))


def test_bad_inputs_give_one_line_errors():
    with pytest.raises(TTFSError, match="shape"):
        energy_report(tiny_net(), np.zeros((2, 5), np.int64))
    with pytest.raises(TTFSError, match="labels"):
        energy_report(tiny_net(), INPUTS, labels=np.array([0]))
    with pytest.raises(TTFSError, match="no samples"):
        energy_report(tiny_net(), np.zeros((0, 3), np.int64))


def test_renderers_accept_a_bare_account_report(tmp_path):
    """``account()`` alone (no early exit, no labels), as the demo uses it, renders everywhere."""
    net = tiny_net()
    sim = EventSim(net).run(INPUTS)
    report = account(net, sim, load_profile("loihi"), load_profile("cmos45"))
    assert report.early_exit == {} and report.accuracy == {}
    console = Console(record=True, width=160)
    console.print(render_table(report))
    assert "hidden" in console.export_text()
    assert "| hidden |" in to_markdown(report)
    assert to_json(report)["accuracy"] is None
    write_html(report, sim, sim, net, str(tmp_path / "bare.html"))
    assert "plot-latency" in (tmp_path / "bare.html").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- issue 21: memory, static, ranges

from click.testing import CliRunner  # noqa: E402

from ttfs_deploy.energy.ann import MemoryTable, ann_layer  # noqa: E402
from ttfs_deploy.energy.html import plot_energy_by_layer, plot_snn_vs_ann  # noqa: E402
from ttfs_deploy.energy.neurobench import host_effective_macs  # noqa: E402
from ttfs_deploy.energy.report import render_table as render  # noqa: E402
from ttfs_deploy.ir.network import FloatLayer  # noqa: E402
from ttfs_deploy.tables import print_wide  # noqa: E402

T_BARRIER, T_SYN, T_UPD = 465e-9, 3.5e-9, 8.4e-9  # hardware_profiles/loihi.toml [timing]
P_STATIC = 0.029                                   # loihi.toml static_power_w


def test_ann_memory_traffic_hand_computed():
    """tiny_net as an ANN with the minimum-traffic memory model; every memory here < 8 KB -> 10 pJ
    per 64-bit access (Horowitz's smallest SRAM)."""
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi")
    hidden, out = report.rows
    # fp32: hidden: 6 weights + 2 biases = 8 params -> 8 x 32 / 64 = 4 words; inputs 3 -> 2 words,
    # outputs 2 -> 1 word: (4 + 2 + 1) x 10 pJ = 70 pJ. out: 6 params -> 3 words, 1 + 1 words: 50 pJ.
    assert hidden.ann_memory["fp32"].point == pytest.approx(70 * PJ)
    assert out.ann_memory["fp32"].point == pytest.approx(50 * PJ)
    # int8: every array fits one 64-bit word: 3 words per layer -> 30 pJ each
    assert hidden.ann_memory["int8"].point == pytest.approx(30 * PJ) == out.ann_memory["int8"].point
    wm = report.ann_baseline["with_memory"]
    assert wm["fp32"]["energy_j"] == pytest.approx((46 + 120) * PJ)   # compute 10 x 4.6 pJ + memory
    assert wm["int8"]["energy_j"] == pytest.approx((2.3 + 60) * PJ)
    assert wm["fp32"]["weight_reads_64bit"] == 7 and wm["fp32"]["activation_accesses_64bit"] == 5
    assert report.ann_baseline["compute_only"]["fp32"]["energy_j"] == pytest.approx(46 * PJ)
    assert report.comparison["snn_over_ann_int8_memory"] == pytest.approx(1207 / 62.3)
    assert report.comparison["snn_over_ann_fp32_memory"] == pytest.approx(1207 / 166)
    assert report.layers[0]["ann_energy_j_memory"] == pytest.approx((27.6 + 70) * PJ)


def test_sram_price_interpolates_horowitz_and_dram_above_1mb():
    table = MemoryTable.of(load_profile("cmos45"))
    assert table.access(8192).point == pytest.approx(10 * PJ)
    assert table.access(100).point == pytest.approx(10 * PJ)            # below the table: 8 KB price
    assert table.access(16384).point == pytest.approx(10 * PJ * 2 ** 0.5)  # log-log halfway 8 -> 32 KB
    assert table.access(32768).point == pytest.approx(20 * PJ)
    assert table.access(1048576).point == pytest.approx(100 * PJ)
    dram = table.access(1048577)
    assert (dram.point, dram.low, dram.high) == pytest.approx((1.3e-9, 1.3e-9, 2.6e-9))
    # a 600 x 500 dense layer: fp32 weights 300,600 params x 4 B = 1.2 MB -> DRAM
    layer = IntLayer("big", "dense", np.ones((600, 500), np.int64), 0, np.zeros(600, np.int64),
                     np.zeros(600, np.int64), 1, (500,), hop_delay=1)
    fp32 = ann_layer(layer, "fp32", 4.6 * PJ, table)
    assert fp32.weight_words == 150_300 and fp32.activation_words == 250 + 300
    assert fp32.memory.point == pytest.approx(150_300 * 1.3e-9 + 550 * 10 * PJ)
    assert fp32.memory.high == pytest.approx(150_300 * 2.6e-9 + 550 * 10 * PJ)
    # int8: 300,600 B between 32 KB (20 pJ) and 1 MB (100 pJ): 20 pJ x (size / 32 KB)^(ln 5 / ln 32)
    int8 = ann_layer(layer, "int8", 0.23 * PJ, table)
    sram = 20 * PJ * (300_600 / 32768) ** (np.log(5) / np.log(32))
    assert int8.memory.point == pytest.approx(37_575 * sram + (63 + 75) * 10 * PJ)
    assert int8.with_memory.point >= int8.compute.point == pytest.approx(300_000 * 0.23 * PJ)


def test_static_term_and_time_model_hand_computed():
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi")
    t = report.latency["time_model"]
    assert t["synaptic_ops_s"] == pytest.approx(7 * T_SYN)
    assert t["neuron_updates_s"] == pytest.approx(16 * T_UPD)
    assert t["barrier_sync_s"] == pytest.approx(6 * T_BARRIER)             # T = 4 + last hop delay 2
    assert t["dominant"] == "barrier sync"
    seconds = 7 * T_SYN + 16 * T_UPD + 6 * T_BARRIER
    static = P_STATIC * seconds                                          # 1 chip
    d = to_json(report)
    assert d["static"]["energy_j"] == pytest.approx(static) and d["static"]["chips"] == 1
    ps = d["per_sample"]
    assert ps["energy_j"] == pytest.approx(1207 * PJ)                    # dynamic, unchanged
    assert ps["static_energy_j"] == pytest.approx(static)
    assert ps["energy_j_total"] == pytest.approx(1207 * PJ + static)
    groups = ps["energy_by_group_j"]
    assert groups["synaptic ops"] == pytest.approx(165.2 * PJ)
    assert groups["neuron updates"] == pytest.approx((567 + 468) * PJ)
    assert groups["spike traffic"] == pytest.approx(6.8 * PJ)
    assert ps["dominant"] == "idle chip (static)"
    # early exit: one step run -> 1 + 2 barriers, 2 syn ops, 4 updates
    ee = d["early_exit"]["static"]
    assert ee["energy_j"] == pytest.approx(P_STATIC * (3 * T_BARRIER + 2 * T_SYN + 4 * T_UPD))


def test_profile_without_static_power_has_no_static_term(tmp_path):
    path = tmp_path / "nostatic.toml"
    path.write_text('name = "nostatic"\n[timing]\nsynaptic_op_s = 1e-9\nneuron_update_s = 1e-9\n'
                    'barrier_sync_s = 1e-9\n[energy]\nsource = "test"\nsynaptic_op = 1e-12\n'
                    'neuron_update_active = 2e-12\nneuron_update_inactive = 1e-12\nspike_out = 0.5e-12\n')
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile=str(path))
    ps = report.per_sample
    assert report.static is None and to_json(report)["static"] is None and ps["static_energy_j"] is None
    assert ps["energy_j"] == pytest.approx((7 * 1 + 7 * 2 + 9 * 1 + 4 * 0.5) * PJ)
    assert ps["energy_j_total"] == ps["energy_j"]
    assert ps["dominant"] == "neuron updates"                             # 23 pJ vs 7 pJ syn ops
    assert ps["energy_j_range"] == [ps["energy_j"], ps["energy_j"]]      # no spread given


def test_loihi2_range_carried_to_totals_and_error_bars():
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi2")
    ps = report.per_sample
    low = (7 * 23.6 + 7 * 72.8 + 9 * 51.2 + 4 * 1.7) * PJ     # Davies 2018 / SANA-FE spread
    high = (7 * 35.5 + 7 * 81 + 9 * 52 + 4 * 76.8) * PJ
    assert ps["energy_j"] == pytest.approx(1207 * PJ)
    assert ps["energy_j_range"] == pytest.approx([low, high])
    assert report.layers[0]["energy_j_range"] == pytest.approx([(4 * 23.6 + 4 * 72.8 + 4 * 51.2 + 2 * 1.7) * PJ,
                                                                 (4 * 35.5 + 4 * 81 + 4 * 52 + 2 * 76.8) * PJ])
    static = ps["static_energy_j"]
    assert ps["energy_j_total_range"] == pytest.approx([low + static, high + static])
    assert report.comparison["snn_over_ann_int8_memory_range"] == pytest.approx([low / (62.3 * PJ),
                                                                                 high / (62.3 * PJ)])
    for fig in (plot_energy_by_layer(report), plot_snn_vs_ann(report)):
        kinds = {type(c).__name__ for c in fig.axes[0].containers}
        assert "ErrorbarContainer" in kinds
    plain, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi")
    kinds = {type(c).__name__ for c in plot_energy_by_layer(plain).axes[0].containers}
    assert "ErrorbarContainer" not in kinds                             # no spread, no error bars


def test_neurobench_metrics_hand_computed():
    report, _, _ = energy_report(tiny_net(), INPUTS[:1], profile="loihi")
    nb = to_json(report)["neurobench"]
    ops = nb["synaptic_operations"]
    assert ops == {"Effective_MACs": 0.0, "Effective_ACs": 7.0, "Dense": 40.0}   # (6 + 4) connections x 4 steps
    assert nb["activation_sparsity"] == pytest.approx(1 - 4 / (4 * 4))          # 4 spikes, 4 neurons x T = 4
    assert nb["membrane_updates"] == 7
    # weights 6 + 4 B (8-bit), biases 2 x 2 B per layer (16-bit), thresholds 3 B (17-bit) per layer
    assert nb["footprint_bytes"] == (6 + 4 + 3) + (4 + 4 + 3)
    assert nb["connection_sparsity"] == pytest.approx(3 / 10)
    assert nb["parameter_count"] == 6 + 2 + 4 + 2
    assert set(nb["definitions"]) >= {"Effective_MACs", "Effective_ACs", "Dense", "activation_sparsity",
                                      "membrane_updates", "footprint_bytes", "connection_sparsity"}


def test_host_effective_macs_counts_nonzero_inputs_times_fan_out():
    host = FloatLayer("host", "dense", np.array([[1.0, 0.0], [2.0, 3.0]]), np.zeros(2), 1.0, (2,))
    net = IntNetwork((2,), 4, "direct", [dataclasses.replace(tiny_net().layers[1], hop_delay=1)], host=host)
    x = np.array([[0.5, 0.0], [0.2, 0.7]])
    assert host_effective_macs(net, x) == pytest.approx((2 + 3) / 2)    # fan-out: input 0 -> 2, input 1 -> 1
    assert host_effective_macs(net, None) is None
    assert host_effective_macs(tiny_net(), None) == 0.0


def test_tables_are_never_cut_off_a_terminal():
    import io

    report, _, _ = energy_report(tiny_net(), INPUTS, profile="loihi2")
    buf = io.StringIO()
    console = Console(file=buf, width=60, force_terminal=False)
    print_wide(console, render(report))
    text = buf.getvalue()
    assert "…" not in text
    header = next(line for line in text.splitlines() if line.lstrip().startswith("layer"))
    assert "E inactive upd" in header and "E range" in header           # one line, uncut
    assert console.width == 60                                          # restored


def test_cli_compile_and_energy_piped_print_no_ellipsis(tmp_path):
    from ttfs_deploy.cli import cli

    nir_path = str(tmp_path / "digits.nir")
    runner = CliRunner()
    result = runner.invoke(cli, ["compile", "examples/models/digits.pt", "--target", "loihi", "-o", nir_path])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and "bound by" in result.output
    out_json = str(tmp_path / "e.json")
    result = runner.invoke(cli, ["energy", nir_path, "--profile", "loihi", "--samples", "20", "--json", out_json])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output and "E inactive upd" in result.output
    d = json.loads(open(out_json).read())
    ann = d["ann_baseline"]
    assert ann["with_memory"]["fp32"]["energy_j"] >= ann["compute_only"]["fp32"]["energy_j"] == ann["energy_j"]
    assert ann["with_memory"]["int8"]["energy_j"] >= ann["compute_only"]["int8"]["energy_j"]
    assert d["static"]["energy_j"] > 0 and d["per_sample"]["static_energy_j"] == d["static"]["energy_j"]
    assert d["neurobench"]["synaptic_operations"]["Effective_MACs"] == 0.0   # spike-coded input
    assert 0 < d["neurobench"]["activation_sparsity"] < 1
    assert d["simulator"]["kernel_compile_seconds"] >= 0


def test_demo_print_energy_is_uncut_in_a_log():
    import io

    from ttfs_deploy.demo import print_energy

    net = tiny_net()
    report = account(net, EventSim(net).run(INPUTS), load_profile("loihi"), load_profile("cmos45"))
    buf = io.StringIO()
    print_energy(Console(file=buf, width=50, force_terminal=False), report)
    text = buf.getvalue()
    assert "…" not in text and "idle chip (static)" in text and "int8 with memory" in text


def test_ann_baseline_of_a_split_network_is_the_unsplit_network():
    """Fan-in splitting is the chip's affair: the ANN baseline counts each original layer once
    (MACs, weights, inputs, outputs on the level-1 relays; nothing on the summing layers)."""
    from conftest import dense_layer
    from ttfs_deploy.compile.split import split_fan_in
    from ttfs_deploy.energy.ann import ann_shape
    from ttfs_deploy.hw.profile import load_profile

    rng = np.random.default_rng(5)
    dense = dense_layer("fc1", rng.integers(-40, 40, (3, 5)) * 2, [64, 0, 8], vth=80, hop=1)
    conv = IntLayer("conv2", "conv", rng.integers(-30, 30, (3, 4, 3, 3)) * 2, 0, np.array([50, -20, 0]),
                    np.ones(3, np.int64), 60, (4, 5, 5), 1, padding=(1, 1))
    profile = load_profile("loihi2")
    profile.limits = dict(profile.limits, input_axons_per_core=2)
    for layer in (dense, conv):
        net = IntNetwork(layer.input_shape, 8, "latency", [layer])
        split = split_fan_in(net, profile)
        assert len(split.layers) >= 2
        shapes = [ann_shape(l) for l in split.layers]
        assert shapes[0] == ann_shape(layer) and all(s == (0, 0, 0, 0) for s in shapes[1:])


def test_ann_baseline_unfolds_average_pooling():
    """The compiler folds AP2 into the next layer (conv: 6x6 kernel at stride 2; dense: weights over
    the unpooled map); the ANN baseline counts the network as trained: the pool (one accumulate per
    input) and then the 3x3 kernel over the pooled map or the dense layer over the pooled inputs.
    Hand counts for 2C3-AP2-3C3-AP2-FC5 on a 1x8x8 input (padding 1):
    conv1 2 x 1 x 22 x 22 taps; conv2 pool 2x8x8 = 128, then 3 x 2 x 10 x 10 taps on 2x4x4;
    fc3 pool 3x4x4 = 48, then 5 x (3x2x2) weights. The same when both are split over relays."""
    import torch

    from ttfs_deploy.compile.pipeline import compile_model
    from ttfs_deploy.energy.ann import ann_layers, folded_pool
    from ttfs_deploy.model.network import ModelConfig, TTFSNet

    torch.manual_seed(0)
    model = TTFSNet(ModelConfig("2C3-AP2-3C3-AP2-FC5", (1, 8, 8), 5, T=8, encoder="latency")).double().eval()
    expected = {"conv1": (968, 20, 64, 128), "conv2": (128 + 600, 57, 128, 48), "fc3": (48 + 60, 65, 48, 5)}
    cmos = load_profile("cmos45")
    for axons in (None, 40):   # 40 input axons per core: conv2 (fan-in 2 x 6 x 6 = 72) and fc3 (48) split
        profile = load_profile("loihi2")
        if axons:
            profile.limits = dict(profile.limits, input_axons_per_core=axons)
        _, net = compile_model(model, profile)
        assert [folded_pool(l) for l in net.layers if l.name in expected] == [1, 2, 2]
        anns = ann_layers(net.layers, cmos, tuple(net.input_shape))["fp32"]
        counts = {l.name: (a.macs, a.parameters, a.inputs, a.outputs) for l, a in zip(net.layers, anns)}
        if axons:
            want = {"conv1": expected["conv1"], "conv2_relay1": expected["conv2"], "conv2": (0, 0, 0, 0),
                    "fc3_relay1": expected["fc3"], "fc3": (0, 0, 0, 0)}
        else:
            want = expected
        assert counts == want
