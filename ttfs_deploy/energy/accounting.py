"""Energy per inference = sum over event kinds of (count x joules per event), per layer.

Counts come from the event simulator (per sample, reference window or early exit):
synaptic ops x ``energy.synaptic_op`` + active neuron updates x ``neuron_update_active`` +
inactive updates x ``neuron_update_inactive`` + spikes x ``spike_out``.

The ANN baseline runs the same layers once as a conventional network on 45 nm CMOS: one MAC
per connection (``fp32_mac``; ``int8_mac`` for the 8-bit variant).

Time per inference is an estimate from the profile's ``[timing]``: every step the target runs
costs a barrier sync (steps actually simulated, shifted by the last layer's hop delay), and each
layer's work is spread over the cores it occupies (layers are summed, i.e. serial: an upper
bound).

All per-sample values are means over the samples of the run. See ``docs/energy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

import numpy as np

from ttfs_deploy.backends.eventsim.simulator import SimResult
from ttfs_deploy.energy.traffic import add_traffic
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.io_utils import plain
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.model.decoder import mean_decision_step

#: count key of the simulator -> energy key of the profile
EVENT_KEYS = {"syn_ops": "synaptic_op", "updates_active": "neuron_update_active",
              "updates_inactive": "neuron_update_inactive", "spikes": "spike_out"}
#: energy keys the ANN baseline profile must have
ANN_KEYS = ("fp32_mac", "int8_mac")


@dataclass
class EnergyReport:
    """Per-sample means; ``to_dict`` is the ``energy --json`` schema (docs/energy.md).

    ``per_sample``: ``energy_j``, ``syn_ops`` (and its DESIGN spelling ``synops``), ``spikes``,
    ``neuron_updates`` (= active + inactive), ``updates_active``, ``updates_inactive``,
    ``dense_ops``, ``energy_by_kind_j``. ``layers[]``: the same per layer plus ``name``,
    ``neurons``, ``synapses``, ``ann_macs``, ``ann_energy_j``. ``ann_baseline``: ``macs``,
    ``energy_j`` (fp32), ``energy_j_int8``. ``comparison``: SNN/ANN ratios. ``latency``:
    decision-step statistics and a time estimate. ``early_exit`` and ``accuracy`` are filled by
    :func:`ttfs_deploy.energy.report.energy_report`. ``command`` is the command that reproduces
    the report (set by the caller, shown next to the numbers). ``host_layer`` (direct input
    only): the first layer that runs on the host, with its MACs per sample, counted nowhere else.
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

    def to_dict(self) -> Dict[str, Any]:
        acc = self.accuracy or {}
        return plain({"profile": self.profile, "source": self.source, "assumption": self.assumption,
                       "profile_description": self.profile_description,
                       "samples": self.samples, "per_sample": self.per_sample, "layers": self.layers,
                       "ann_baseline": self.ann_baseline, "comparison": self.comparison,
                       "latency": self.latency, "early_exit": self.early_exit,
                       "latency_steps_mean": self.latency.get("decision_step_mean"),
                       "accuracy": acc.get("accuracy"), "accuracy_early_exit": acc.get("accuracy_early_exit"),
                       "command": self.command or None, "host_layer": self.host_layer or None})


def _check(profile: HardwareProfile, keys, fix: str) -> None:
    missing = [k for k in keys if k not in profile.energy]
    if missing:
        raise TTFSError(f"profile {profile.name} has no [energy] {', '.join(missing)}", fix)


def steps_run(net: IntNetwork, result: SimResult) -> np.ndarray:
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


def account(net: IntNetwork, result: SimResult, profile: HardwareProfile, ann: HardwareProfile) -> EnergyReport:
    """Energy report of ``result`` (counts of ``net`` over some samples) on ``profile``."""
    energy = profile.energy
    _check(profile, EVENT_KEYS.values(), "use --profile loihi, loihi-sanafe or loihi2, or add them to your profile")
    _check(ann, ANN_KEYS, "use the cmos45 ANN baseline profile or add them to yours")
    samples = len(result.decision)
    if len(result.counts) != len(net.layers):
        raise TTFSError(f"simulation result has {len(result.counts)} layers but the network has {len(net.layers)}",
                        "account the result of a run of this network")
    kinds = list(EVENT_KEYS)
    layers: List[Dict[str, Any]] = []
    totals: Dict[str, Any] = {k: 0.0 for k in ("energy_j", "syn_ops", "spikes", "neuron_updates",
                                               "updates_active", "updates_inactive", "dense_ops")}
    totals_by_kind = {k: 0.0 for k in kinds}
    ann_macs = 0
    timing = profile.timing
    work_seconds = 0.0
    fp32, int8 = float(ann.energy["fp32_mac"]), float(ann.energy["int8_mac"])
    cores = {p["layer"]: int(p["cores"]) for p in net.placement} if net.placement else {}
    for layer, counts in zip(net.layers, result.counts):
        mean = {k: float(np.mean(v)) if samples else 0.0 for k, v in counts.items()}
        by_kind = {k: mean[k] * float(energy[e]) for k, e in EVENT_KEYS.items()}
        macs = connections(layer)
        ann_macs += macs
        layer_energy = sum(by_kind.values())
        updates = mean["updates_active"] + mean["updates_inactive"]
        work = mean["syn_ops"] * float(timing.get("synaptic_op_s", 0.0)) + \
            updates * float(timing.get("neuron_update_s", 0.0))
        work_seconds += work / max(1, cores.get(layer.name, 1))
        layers.append({"name": layer.name, "kind": layer.kind, "neurons": layer.n_neurons, "synapses": macs,
                       "cores": cores.get(layer.name),
                       "spikes": mean["spikes"], "syn_ops": mean["syn_ops"], "synops": mean["syn_ops"],
                       "dense_ops": mean["dense_ops"],
                       "updates_active": mean["updates_active"], "updates_inactive": mean["updates_inactive"],
                       "neuron_updates": updates,
                       "energy_j": layer_energy, "energy_by_kind_j": by_kind, "ann_macs": macs,
                       "ann_energy_j": macs * fp32, "ann_energy_j_int8": macs * int8})
        totals["energy_j"] += layer_energy
        for k in ("syn_ops", "spikes", "updates_active", "updates_inactive", "dense_ops"):
            totals[k] += mean[k]
        totals["neuron_updates"] += updates
        for k in kinds:
            totals_by_kind[k] += by_kind[k]
    totals["synops"] = totals["syn_ops"]
    totals["energy_by_kind_j"] = totals_by_kind

    run = steps_run(net, result)
    steps_mean = float(run.mean()) if samples else 0.0
    hop = net.layers[-1].hop_delay if net.layers else 0
    target_steps = steps_mean + hop if samples else 0.0
    barrier = target_steps * float(timing.get("barrier_sync_s", 0.0))
    latency = {**decision_stats(result.decision, net.T),
               "steps_window": net.T, "total_steps_on_target": net.total_steps,
               "steps_run_mean": steps_mean, "target_steps_mean": target_steps,
               "seconds_per_inference_estimate": work_seconds + barrier,
               "seconds_breakdown": {"work_s": work_seconds, "barrier_sync_s": barrier}}
    add_traffic(net, result.spike_times, profile, layers, totals, latency)  # tile hops, chip crossings
    ann_baseline = {"profile": ann.name, "source": str(ann.energy.get("source", "")), "macs": ann_macs,
                    "energy_j": ann_macs * fp32, "energy_j_int8": ann_macs * int8,
                    "fp32_mac_j": fp32, "int8_mac_j": int8}
    ac = float(ann.energy.get("fp32_add", 0.0))
    comparison = {
        # the headline of reference/energy-and-ops.md §7: SNN accumulates vs ANN MACs, same 45 nm table
        "synops_over_macs": totals["syn_ops"] / ann_macs if ann_macs else None,
        "snn_ac_over_ann_mac_45nm": (totals["syn_ops"] * ac) / (ann_macs * fp32) if ann_macs and ac else None,
        # the profile's SNN energy (all event kinds) against the ANN on 45 nm CMOS
        "snn_over_ann_fp32": totals["energy_j"] / ann_baseline["energy_j"] if ann_baseline["energy_j"] else None,
        "snn_over_ann_int8": totals["energy_j"] / ann_baseline["energy_j_int8"] if ann_baseline["energy_j_int8"] else None,
    }
    return EnergyReport(profile.name, str(energy.get("source", "")), bool(energy.get("assumption", False)),
                        samples, layers, totals, ann_baseline, latency, comparison,
                        profile_description=profile.description)
