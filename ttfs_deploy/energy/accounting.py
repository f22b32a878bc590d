"""Energy per inference = sum over event kinds of (count x joules per event), per layer.

Counts come from the event simulator (per sample, full window or early exit). Each kind of event
is a :class:`Term`: synaptic ops x ``synaptic_op`` + active neuron updates x
``neuron_update_active`` + inactive updates x ``neuron_update_inactive`` + spikes x ``spike_out``
(the profile's ``[energy]``, each with its ``_range`` when the profile gives one). That sum is
the dynamic energy, ``energy_j``. Where the profile gives ``static_power_w``, the static energy of
the chips for the estimated time per inference (:mod:`.timing`) is added beside it
(``energy_j_total``), and the report says which of synaptic ops, neuron updates, spike traffic or
the idle chip dominates.

The ANN baseline (:mod:`.ann`) runs the same layers once, as trained (pools not folded), on 45 nm
CMOS, compute only and with memory traffic; NeuroBench's metrics come from :mod:`.neurobench`.

All per-sample values are means over the samples of the run. See ``docs/energy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.decision import mean_decision_step
from ttfs_deploy.energy.ann import MEMORY_MODEL, PRECISIONS, AnnLayer, ann_layers
from ttfs_deploy.energy.figures import Joules, price, total
from ttfs_deploy.energy.timing import StaticTerm, TimeModel, static_term, time_model
from ttfs_deploy.energy.traffic import KINDS, count_traffic, traffic_limits, traffic_seconds
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.io_utils import plain
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntNetwork


@dataclass(frozen=True)
class Term:
    """One kind of per-sample event: its count key (in ``BackendResult.counts``), the profile's
    ``[energy]`` key of its price, a label, the group the report names when it dominates, its
    colour in the plots and its short table header."""

    key: str
    price: str
    label: str
    group: str
    color: str
    column: str


#: the terms every report has, in table order
TERMS: List[Term] = [
    Term("syn_ops", "synaptic_op", "synaptic ops", "synaptic ops", "#4C72B0", "E syn ops"),
    Term("updates_active", "neuron_update_active", "active neuron updates", "neuron updates", "#DD8452",
         "E active upd"),
    Term("updates_inactive", "neuron_update_inactive", "inactive neuron updates", "neuron updates", "#C9B27C",
         "E inactive upd"),
    Term("spikes", "spike_out", "spikes out", "spike traffic", "#55A868", "E spikes"),
]
#: terms used only when their counts are given (``extra_counts`` of :func:`account`; by default the
#: spike traffic of a tiled placement, :mod:`.traffic`) and the profile prices them
OPTIONAL_TERMS: List[Term] = [
    Term("hops_ew", "hop_ew", "tile hops east-west", "spike traffic", "#8172B3", "E hops EW"),
    Term("hops_ns", "hop_ns", "tile hops north-south", "spike traffic", "#937860", "E hops NS"),
    Term("between_chips", "chip_crossing", "chip crossings", "spike traffic", "#DA8BC3", "E chip x"),
]
STATIC_GROUP = "idle chip (static)"
COUNT_KEYS = ("syn_ops", "dense_ops", "spikes", "updates_active", "updates_inactive")


@dataclass
class EnergyRow:
    """One layer, or the total, per inference (means over samples): counts, energy by term with
    its range, and the same layer as an ANN (compute only and with memory, per precision).
    ``to_dict`` is a ``layers[]`` entry of ``energy --json``."""

    name: str
    kind: str
    neurons: int
    synapses: int
    cores: Optional[int]
    counts: Dict[str, float]
    energy_by_kind: Dict[str, Joules]
    ann_macs: int = 0
    ann_compute: Dict[str, float] = field(default_factory=dict)
    ann_memory: Dict[str, Joules] = field(default_factory=dict)
    ann_detail: Dict[str, AnnLayer] = field(default_factory=dict)

    @property
    def energy(self) -> Joules:
        return total(self.energy_by_kind.values())

    @property
    def neuron_updates(self) -> float:
        return self.counts["updates_active"] + self.counts["updates_inactive"]

    def ann_with_memory(self, precision: str) -> Joules:
        return Joules.exact(self.ann_compute[precision]) + self.ann_memory[precision]

    def to_dict(self) -> Dict[str, Any]:
        c = self.counts
        out = {"name": self.name, "kind": self.kind, "neurons": self.neurons, "synapses": self.synapses,
               "cores": self.cores, **c, "synops": c["syn_ops"], "neuron_updates": self.neuron_updates,
               "energy_j": self.energy.point, "energy_j_range": self.energy.range,
               "energy_by_kind_j": {k: e.point for k, e in self.energy_by_kind.items()},
               "ann_macs": self.ann_macs}
        if self.ann_compute:
            out.update({"ann_energy_j": self.ann_compute["fp32"], "ann_energy_j_int8": self.ann_compute["int8"],
                        "ann_energy_j_memory": self.ann_with_memory("fp32").point,
                        "ann_energy_j_int8_memory": self.ann_with_memory("int8").point})
        if self.ann_detail:
            out["ann"] = {p: a.to_dict() for p, a in self.ann_detail.items()}
        return out


def sum_rows(name: str, rows: Sequence[EnergyRow]) -> EnergyRow:
    """The total row of ``rows``."""
    keys = rows[0].energy_by_kind if rows else {}
    precisions = rows[0].ann_compute if rows else {}
    return EnergyRow(name, "total", sum(r.neurons for r in rows), sum(r.synapses for r in rows), None,
                     {k: sum(r.counts[k] for r in rows) for k in (rows[0].counts if rows else {})},
                     {k: total(r.energy_by_kind[k] for r in rows) for k in keys},
                     sum(r.ann_macs for r in rows),
                     {p: sum(r.ann_compute[p] for r in rows) for p in precisions},
                     {p: total(r.ann_memory[p] for r in rows) for p in precisions})


@dataclass
class EnergyReport:
    """Per-sample means; ``to_dict`` is the ``energy --json`` schema (docs/energy.md).

    ``rows`` / ``total`` are the per-layer and total :class:`EnergyRow` the renderers read;
    ``layers`` and ``per_sample`` are their JSON form (``per_sample`` adds the static and total
    energy and what dominates). ``ann_baseline``: compute-only (``energy_j`` fp32,
    ``energy_j_int8``) and ``with_memory`` figures. ``comparison``: SNN/ANN ratios. ``latency``:
    decision-step statistics and the time model. ``neurobench``: NeuroBench's metrics.
    ``early_exit`` and ``accuracy`` are filled by :func:`ttfs_deploy.energy.report.energy_report`.
    ``command`` is the command that reproduces the report (shown next to the numbers).
    ``host_layer`` (direct input only): the first layer that runs on the host, with its MACs.
    """

    profile: str
    source: str
    assumption: bool
    samples: int
    layers: List[Dict[str, Any]] = field(default_factory=list)
    per_sample: Dict[str, Any] = field(default_factory=dict)
    ann_baseline: Dict[str, Any] = field(default_factory=dict)
    latency: Dict[str, Any] = field(default_factory=dict)
    comparison: Dict[str, Any] = field(default_factory=dict)
    early_exit: Dict[str, Any] = field(default_factory=dict)
    accuracy: Dict[str, Any] = field(default_factory=dict)
    profile_description: str = ""
    command: str = ""
    host_layer: Dict[str, Any] = field(default_factory=dict)
    rows: List[EnergyRow] = field(default_factory=list)
    total: Optional[EnergyRow] = None
    terms: List[Term] = field(default_factory=list)
    static: Optional[StaticTerm] = None
    time: Optional[TimeModel] = None
    includes: str = ""
    range_source: str = ""
    neurobench: Dict[str, Any] = field(default_factory=dict)
    early_rows: List[EnergyRow] = field(default_factory=list)
    simulator: Dict[str, Any] = field(default_factory=dict)

    @property
    def energy(self) -> Joules:
        """Dynamic energy per inference (all terms), with its range."""
        return self.total.energy if self.total else Joules.exact(self.per_sample.get("energy_j", 0.0))

    @property
    def energy_total(self) -> Joules:
        """Dynamic + static energy per inference."""
        return self.energy + (self.static.energy if self.static else Joules.exact(0.0))

    def to_dict(self) -> Dict[str, Any]:
        acc = self.accuracy or {}
        return plain({"profile": self.profile, "source": self.source, "assumption": self.assumption,
                      "profile_description": self.profile_description, "snn_includes": self.includes,
                      "range_source": self.range_source or None,
                      "samples": self.samples, "per_sample": self.per_sample, "layers": self.layers,
                      "static": self.static.to_dict() if self.static else None,
                      "ann_baseline": self.ann_baseline, "comparison": self.comparison,
                      "neurobench": self.neurobench or None,
                      "latency": self.latency, "early_exit": self.early_exit,
                      "latency_steps_mean": self.latency.get("decision_step_mean"),
                      "accuracy": acc.get("accuracy"), "accuracy_early_exit": acc.get("accuracy_early_exit"),
                      "command": self.command or None, "host_layer": self.host_layer or None,
                      "simulator": self.simulator or None})


def steps_run(net: IntNetwork, result: BackendResult) -> np.ndarray:
    """Reference-frame steps simulated per sample (T, or fewer with early exit), (B,) int64.

    Every layer counts one update (active or inactive) per neuron per simulated step, so the
    first layer's updates divided by its neurons is the step count.
    """
    if not net.layers or not result.counts:
        return np.zeros(len(result.decision), np.int64)
    c = result.counts[0]
    return (np.asarray(c["updates_active"]) + np.asarray(c["updates_inactive"])) // net.layers[0].n_neurons


def decision_stats(decision: np.ndarray, T: int) -> Dict[str, Any]:
    """Statistics of the decision step (first output spike; -1 silent) over samples."""
    decision = np.asarray(decision, dtype=np.int64)
    fired = decision[decision >= 0]
    hist = np.bincount(fired, minlength=T)[:max(T, 1)] if len(fired) else np.zeros(T, np.int64)
    return {"decision_step_mean": mean_decision_step(decision),
            "decision_step_median": float(np.median(fired)) if len(fired) else None,
            "decision_step_p95": float(np.percentile(fired, 95)) if len(fired) else None,
            "decision_step_max": int(fired.max()) if len(fired) else None,
            "silent_fraction": float((decision < 0).mean()) if len(decision) else 0.0,
            "decision_step_hist": [int(x) for x in hist],
            "silent_samples": int((decision < 0).sum())}


def _terms(profile: HardwareProfile, counts: Dict[str, Any]) -> List[Term]:
    """The terms of this report: the four base terms and the optional ones with counts."""
    terms = TERMS + [t for t in OPTIONAL_TERMS if t.key in counts and t.price in profile.energy]
    missing = [t.price for t in terms if t.price not in profile.energy]
    if missing:
        raise TTFSError(f"profile {profile.name} has no [energy] {', '.join(missing)}",
                        "use --profile loihi, loihi-sanafe or loihi2, or add them to your profile")
    return terms


def dominant(by_group: Dict[str, float]) -> str:
    """The group with the most energy."""
    return max(by_group, key=by_group.get) if any(by_group.values()) else "none"


def ratio(a: Joules, b: Joules) -> Dict[str, Any]:
    """``a / b`` with its range (low over high, high over low); None where ``b`` is zero."""
    if not b.point or not b.low:
        return {"value": None, "range": [None, None]}
    return {"value": a.point / b.point, "range": [a.low / b.high, a.high / b.low]}


def account(net: IntNetwork, result: BackendResult, profile: HardwareProfile, ann: HardwareProfile,
            extra_counts: Optional[Sequence[Dict[str, np.ndarray]]] = None) -> EnergyReport:
    """Energy report of ``result`` (counts of ``net`` over some samples) on ``profile``.

    ``extra_counts``: per layer, more ``(B,)`` count arrays for :data:`OPTIONAL_TERMS`; their terms
    join the table, the totals and the plots. By default, the spike traffic of ``net``'s tiled
    placement (:func:`.traffic.count_traffic`; none for an untiled placement).
    """
    if extra_counts is None:
        extra_counts = count_traffic(net, result.spike_times, traffic_limits(net, profile))
    samples = len(result.decision)
    if len(result.counts) != len(net.layers):
        raise TTFSError(f"simulation result has {len(result.counts)} layers but the network has {len(net.layers)}",
                        "account the result of a run of this network")
    counts_in = [dict(c, **(extra_counts[i] if extra_counts else {})) for i, c in enumerate(result.counts)]
    terms = _terms(profile, counts_in[0] if counts_in else {})
    prices = {t.key: price(profile.energy, t.price) for t in terms}
    anns = ann_layers(net.layers, ann, tuple(net.input_shape))
    cores = {p["layer"]: int(p["cores"]) for p in net.placement} if net.placement else {}
    rows: List[EnergyRow] = []
    for i, (layer, counts) in enumerate(zip(net.layers, counts_in)):
        mean = {k: float(np.mean(v)) if samples else 0.0 for k, v in counts.items()}
        rows.append(EnergyRow(layer.name, layer.kind, layer.n_neurons, connections(layer), cores.get(layer.name),
                              mean, {t.key: prices[t.key] * mean[t.key] for t in terms},
                              anns["fp32"][i].macs, {p: anns[p][i].compute.point for p in PRECISIONS},
                              {p: anns[p][i].memory for p in PRECISIONS}, {p: anns[p][i] for p in PRECISIONS}))
    tot = sum_rows("total", rows)

    run = steps_run(net, result)
    steps_mean = float(run.mean()) if samples else 0.0
    target_steps = steps_mean + (net.total_steps - net.T) if samples else 0.0  # plus the last layer's hop delay
    timing = time_model([{"syn_ops": r.counts["syn_ops"], "neuron_updates": r.neuron_updates,
                          "traffic_s": traffic_seconds(r.counts, profile.timing)} for r in rows],
                        [r.cores or 1 for r in rows], target_steps, profile.timing)
    chips = len({p.get("chip", 0) for p in net.placement}) if net.placement else 1
    static = static_term(profile.energy, chips, timing.total_s)

    energy = tot.energy
    by_group: Dict[str, float] = {}
    for t in terms:
        by_group[t.group] = by_group.get(t.group, 0.0) + tot.energy_by_kind[t.key].point
    if static:
        by_group[STATIC_GROUP] = static.energy.point
    with_static = energy + (static.energy if static else Joules.exact(0.0))
    per_sample = {**tot.to_dict(), "energy_by_kind_j_range": {k: e.range for k, e in tot.energy_by_kind.items()},
                  "static_energy_j": static.energy.point if static else None,
                  "static_energy_j_range": static.energy.range if static else None,
                  "energy_j_total": with_static.point, "energy_j_total_range": with_static.range,
                  "energy_by_group_j": by_group, "dominant": dominant(by_group)}
    for k in ("name", "kind", "cores", "ann", "ann_macs", "ann_energy_j", "ann_energy_j_int8", "ann_energy_j_memory",
              "ann_energy_j_int8_memory"):
        per_sample.pop(k, None)
    latency = {**decision_stats(result.decision, net.T),
               "steps_window": net.T, "total_steps_on_target": net.total_steps,
               "steps_run_mean": steps_mean, "target_steps_mean": target_steps,
               "seconds_per_inference_estimate": timing.total_s,
               "seconds_breakdown": {"work_s": timing.synaptic_ops_s + timing.neuron_updates_s,
                                     "barrier_sync_s": timing.barrier_sync_s, "traffic_s": timing.traffic_s},
               "time_model": timing.to_dict()}
    memory_with = {p: tot.ann_with_memory(p) for p in PRECISIONS}
    ann_baseline = {"profile": ann.name, "source": str(ann.energy.get("source", "")), "macs": tot.ann_macs,
                    "energy_j": tot.ann_compute["fp32"], "energy_j_int8": tot.ann_compute["int8"],
                    "fp32_mac_j": float(ann.energy["fp32_mac"]), "int8_mac_j": float(ann.energy["int8_mac"]),
                    "compute_only": {p: {"energy_j": tot.ann_compute[p]} for p in PRECISIONS},
                    "with_memory": {p: {"energy_j": memory_with[p].point, "energy_j_range": memory_with[p].range,
                                        "memory_j": tot.ann_memory[p].point,
                                        "weight_reads_64bit": sum(r.ann_detail[p].weight_words for r in rows),
                                        "activation_accesses_64bit": sum(r.ann_detail[p].activation_words
                                                                         for r in rows)}
                                    for p in PRECISIONS},
                    "memory_model": MEMORY_MODEL,
                    "memory_source": str(ann.energy.get("memory", {}).get("source", "")),
                    "includes": str(ann.energy.get("includes", ""))}
    ac = float(ann.energy.get("fp32_add", 0.0))
    macs = tot.ann_macs
    cmp_memory = {p: ratio(energy, memory_with[p]) for p in PRECISIONS}
    comparison = {
        # SNN accumulates vs ANN MACs priced from the same 45 nm table (Horowitz 2014), see docs/energy.md
        "synops_over_macs": tot.counts["syn_ops"] / macs if macs else None,
        "snn_ac_over_ann_mac_45nm": (tot.counts["syn_ops"] * ac) / (macs * float(ann.energy["fp32_mac"]))
        if macs and ac else None,
        # the profile's dynamic SNN energy against the ANN on 45 nm CMOS, compute only
        "snn_over_ann_fp32": energy.point / tot.ann_compute["fp32"] if tot.ann_compute["fp32"] else None,
        "snn_over_ann_int8": energy.point / tot.ann_compute["int8"] if tot.ann_compute["int8"] else None,
        # ... and against the ANN with its memory traffic (like for like: both include reading weights)
        "snn_over_ann_fp32_memory": cmp_memory["fp32"]["value"],
        "snn_over_ann_int8_memory": cmp_memory["int8"]["value"],
        "snn_over_ann_fp32_memory_range": cmp_memory["fp32"]["range"],
        "snn_over_ann_int8_memory_range": cmp_memory["int8"]["range"],
        "note": "SNN = dynamic energy (static power excluded: the ANN table has none)",
    }
    layer_dicts = [r.to_dict() for r in rows]
    if extra_counts is not None:  # the traffic block of per_sample and of each layer (docs/energy.md)
        for row, d in zip([tot, *rows], [per_sample, *layer_dicts]):
            d["traffic"] = {**{k: row.counts.get(k, 0.0) for k in (*KINDS, "to_host")},
                            "energy_j": sum(row.energy_by_kind[t.key].point for t in terms if t in OPTIONAL_TERMS),
                            "seconds": traffic_seconds(row.counts, profile.timing)}
    energy_table = profile.energy
    return EnergyReport(profile.name, str(energy_table.get("source", "")), bool(energy_table.get("assumption", False)),
                        samples, layer_dicts, per_sample, ann_baseline, latency, comparison,
                        profile_description=profile.description, rows=rows, total=tot, terms=terms, static=static,
                        time=timing, includes=str(energy_table.get("includes", "")),
                        range_source=str(energy_table.get("range_source", "")))
