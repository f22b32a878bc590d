"""Energy and latency reports: run the event simulator, account energy, render the result.

:func:`energy_report` runs :class:`~ttfs_deploy.backends.eventsim.EventSim` twice over the same
inputs: once over the full window (the energy of the reference run, ``per_sample``) and once
with early exit (a sample stops at its first output spike: the latency distribution and the
``early_exit`` energy). The report renders as a rich table (:func:`render_table`), Markdown
(:func:`to_markdown`), the JSON schema of ``ttfs-deploy energy --json`` (:func:`to_json`) and a
self-contained HTML page (:func:`ttfs_deploy.energy.html.write_html`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.energy.accounting import EnergyReport, account
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile, load_profile
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntNetwork

ProfileLike = Union[str, HardwareProfile]

KIND_LABELS = {"syn_ops": "synaptic ops", "updates_active": "active neuron updates",
               "updates_inactive": "inactive neuron updates", "spikes": "spikes out"}


def _profile(p: ProfileLike) -> HardwareProfile:
    return p if isinstance(p, HardwareProfile) else load_profile(str(p))


def energy_report(net: IntNetwork, input_times: np.ndarray, labels: Optional[np.ndarray] = None,
                  profile: ProfileLike = "loihi", ann_profile: ProfileLike = "cmos45",
                  ) -> Tuple[EnergyReport, BackendResult, BackendResult]:
    """Simulate ``input_times`` ((B, n_inputs) steps, -1 silent) and account energy on ``profile``.

    Returns ``(report, sim, sim_early)``: the report (full-window energy in ``per_sample`` and
    ``layers``, early-exit energy and latency in ``early_exit``, ``accuracy`` when ``labels``
    are given), and the two simulator results (full window, early exit).
    """
    prof, ann = _profile(profile), _profile(ann_profile)
    input_times = np.asarray(input_times)
    if input_times.ndim != 2 or input_times.shape[1] != net.n_inputs:
        raise TTFSError(f"input spike times have shape {input_times.shape}, the network needs (samples, {net.n_inputs})",
                        "encode the data set the model was trained on")
    if len(input_times) == 0:
        raise TTFSError("no samples to report energy on", "pass at least one sample (--samples N)")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(input_times):
            raise TTFSError(f"{len(labels)} labels for {len(input_times)} samples", "pass one label per sample")
    engine = EventSim(net)
    sim = engine.run(input_times, early_exit=False)
    sim_early = engine.run(input_times, early_exit=True)
    report = account(net, sim, prof, ann)
    early = account(net, sim_early, prof, ann)
    full_e = report.per_sample["energy_j"]
    report.early_exit = {
        "per_sample": early.per_sample,
        "layers": [{k: layer[k] for k in ("name", "energy_j", "syn_ops", "synops", "spikes",
                                          "neuron_updates", "energy_by_kind_j")} for layer in early.layers],
        "latency": early.latency,
        "energy_saving_fraction": 1.0 - early.per_sample["energy_j"] / full_e if full_e else 0.0,
        "snn_over_ann_fp32": early.comparison["snn_over_ann_fp32"],
    }
    if net.host is not None:  # direct input: its current W x + b is computed once per sample
        report.host_layer = {"name": net.host.name, "kind": net.host.kind, "neurons": net.host.n_neurons,
                             "macs": connections(net.host),
                             "note": "runs on the host (direct input); not in the chip energy or the ANN baseline"}
    # the decision step is the same with and without early exit (first output spike);
    # the report's latency block shows the early-exit run, where it is what the target would see
    report.latency["steps_run_mean_early_exit"] = early.latency["steps_run_mean"]
    report.latency["seconds_per_inference_estimate_early_exit"] = early.latency["seconds_per_inference_estimate"]
    if labels is not None:
        pred, pred_early = sim.predictions, sim_early.predictions
        report.accuracy = {"accuracy": float((pred == labels).mean()),
                           "accuracy_early_exit": float((pred_early == labels).mean()),
                           "predictions_agree": float((pred == pred_early).mean()),
                           "samples": int(len(labels))}
    return report, sim, sim_early


# ----------------------------------------------------------------------------- formatting

_PREFIXES = [(1e0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]


def fmt_si(x: Optional[float], unit: str = "J", digits: int = 3) -> str:
    """``1.207e-9`` -> ``1.21 nJ``."""
    if x is None:
        return "n/a"
    if x == 0:
        return f"0 {unit}"
    ax = abs(x)
    for scale, prefix in _PREFIXES:
        if ax >= scale * 0.9995:
            return f"{x / scale:.{digits}g} {prefix}{unit}"
    return f"{x:.{digits}g} {unit}"


def fmt_count(x: Optional[float]) -> str:
    """Counts (per-sample means): integers with separators, else one decimal; M/G above 10 M."""
    if x is None:
        return "n/a"
    ax = abs(x)
    if ax >= 1e9:
        return f"{x / 1e9:.3g} G"
    if ax >= 1e7:
        return f"{x / 1e6:.3g} M"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}"


def fmt_ratio(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3g}×"


def fmt_step(x: Optional[float]) -> str:
    return "n/a (no output spike)" if x is None else f"{x:.2f}"


def assumption_text(report: EnergyReport) -> str:
    """The warning shown when the profile's energy figures are an assumption ('' otherwise)."""
    if not report.assumption:
        return ""
    return (f"ASSUMPTION: profile {report.profile}'s energy per event is assumed, not published for this "
            f"chip; treat the joules as an estimate (the counts are exact).")


def summary_lines(report: EnergyReport) -> Dict[str, str]:
    """The one-line facts every renderer shows (key -> text)."""
    ps, ann, cmp_, lat = report.per_sample, report.ann_baseline, report.comparison, report.latency
    ee = report.early_exit
    lines = {
        "profile": f"{report.profile} — {report.source or 'no source given'}",
        "samples": f"{report.samples}",
        "snn": (f"{fmt_si(ps['energy_j'])} per inference (full window of {lat['steps_window']} steps): "
                f"{fmt_count(ps['syn_ops'])} syn ops, {fmt_count(ps['spikes'])} spikes, "
                f"{fmt_count(ps['neuron_updates'])} neuron updates"),
        "ann": (f"{fmt_count(ann['macs'])} MACs (one per synapse) on {ann['profile']} (45 nm): fp32 {fmt_si(ann['energy_j'])}, "
                f"int8 {fmt_si(ann['energy_j_int8'])}"),
        "ratio": (f"energy {fmt_ratio(cmp_['snn_over_ann_fp32'])} ANN fp32, "
                  f"{fmt_ratio(cmp_['snn_over_ann_int8'])} ANN int8; syn ops/MACs "
                  f"{fmt_ratio(cmp_['synops_over_macs'])}; 45 nm AC-vs-MAC {fmt_ratio(cmp_['snn_ac_over_ann_mac_45nm'])}"),
        "decision": (f"decision step mean {fmt_step(lat['decision_step_mean'])} of T={lat['steps_window']} "
                     f"(median {fmt_step(lat['decision_step_median'])}, p95 {fmt_step(lat['decision_step_p95'])}), "
                     f"silent {lat['silent_fraction']:.1%}; time estimate "
                     f"{fmt_si(lat['seconds_per_inference_estimate'], 's')}"),
    }
    if ee:
        lines["early_exit"] = (f"{fmt_si(ee['per_sample']['energy_j'])} per inference with early exit "
                               f"({ee['energy_saving_fraction']:.1%} saved, "
                               f"{ee['latency']['steps_run_mean']:.2f} steps run, "
                               f"time estimate {fmt_si(ee['latency']['seconds_per_inference_estimate'], 's')})")
    if report.accuracy:
        acc = report.accuracy
        lines["accuracy"] = (f"{acc['accuracy']:.2%} over {acc['samples']} samples "
                             f"(early exit {acc['accuracy_early_exit']:.2%})")
    if report.command:
        lines["command"] = report.command
    if report.host_layer:
        host = report.host_layer
        lines["host"] = f"{host['name']} ({fmt_count(host['macs'])} MACs per sample) {host['note']}"
    return lines


def fmt_compact(x: Optional[float]) -> str:
    """Short counts for the terminal: ``9800.4`` -> ``9.8k``, ``2.1e6`` -> ``2.1M``."""
    if x is None:
        return "n/a"
    ax = abs(x)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if ax >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{int(x)}" if float(x).is_integer() else f"{x:.3g}"


def _energy_unit(x: float) -> Tuple[float, str]:
    """A common SI scale for a column of joules, chosen from its largest value."""
    for scale, prefix in _PREFIXES:
        if abs(x) >= scale * 0.9995:
            return scale, prefix + "J"
    return 1e-15, "fJ"


def render_table(report: EnergyReport) -> Table:
    """A rich table: per-layer counts and energy (by kind and total), totals, and a caption with
    the ANN baseline (45 nm fp32/int8), the SNN/ANN ratios, the decision step, the profile and
    its source, and ASSUMPTION when the profile's energy is assumed."""
    flag = " [bold red]ASSUMPTION[/]" if report.assumption else ""
    ps, ann = report.per_sample, report.ann_baseline
    scale, unit = _energy_unit(max(ps["energy_j"], ann["energy_j"]))
    table = Table(title=f"Energy per inference — profile [bold]{report.profile}[/]{flag} "
                        f"(energy in {unit}, counts = mean per inference)",
                  caption_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True,
                  show_edge=False)
    columns = ["layer", "neurons", "synapses", "spikes", "syn\nops", "neuron\nupdates",
               "E syn\nops", "E\nneuron", "E\nspikes", "E\ntotal"]
    for name in columns:
        table.add_column(name, justify="left" if name == "layer" else "right")

    def e(x: float) -> str:
        return f"{x / scale:.3g}"

    def row(name, d, neurons, synapses, bold=False):
        k = d["energy_by_kind_j"]
        total = e(d["energy_j"])
        return [name, fmt_compact(neurons), fmt_compact(synapses), fmt_compact(d["spikes"]),
                fmt_compact(d["syn_ops"]), fmt_compact(d["neuron_updates"]), e(k["syn_ops"]),
                e(k["updates_active"] + k["updates_inactive"]), e(k["spikes"]),
                f"[bold]{total}[/]" if bold else total]

    for layer in report.layers:
        table.add_row(*row(layer["name"], layer, layer["neurons"], layer["synapses"]))
    table.add_section()
    table.add_row(*row("[bold]total[/]", ps, sum(l["neurons"] for l in report.layers),
                       sum(l["synapses"] for l in report.layers), bold=True))
    lines = summary_lines(report)
    caption = Text()
    labels = [("Host layer", "host"), ("ANN baseline", "ann"), ("SNN/ANN", "ratio"), ("Latency", "decision"),
              ("Early exit", "early_exit"), ("Accuracy", "accuracy"), ("Profile", "profile"),
              ("Samples", "samples"), ("Reproduce", "command")]
    for label, key in labels:
        if key in lines:
            caption.append(f"{label}: ", style="bold")
            caption.append(lines[key] + "\n")
    if report.assumption:
        caption.append(assumption_text(report), style="bold red")
    caption.rstrip()
    table.caption = caption
    return table


def _md_escape(s: Any) -> str:
    return str(s).replace("|", "\\|")


def to_markdown(report: EnergyReport) -> str:
    """The report as Markdown: summary, per-layer table (counts and energy by kind), baseline."""
    lines = summary_lines(report)
    out = [f"# Energy report — profile `{report.profile}`" + (" (ASSUMPTION)" if report.assumption else ""), ""]
    if report.assumption:
        out += [f"> **{assumption_text(report)}**", ""]
    out += [f"- **Profile:** {lines['profile']}", f"- **Samples:** {lines['samples']}",
            f"- **SNN:** {lines['snn']}", f"- **ANN baseline:** {lines['ann']}",
            f"- **SNN/ANN:** {lines['ratio']}", f"- **Latency:** {lines['decision']}"]
    if "host" in lines:
        out.append(f"- **Host layer:** {lines['host']}")
    if "early_exit" in lines:
        out.append(f"- **Early exit:** {lines['early_exit']}")
    if "accuracy" in lines:
        out.append(f"- **Accuracy:** {lines['accuracy']}")
    if "command" in lines:
        out.append(f"- **Reproduce:** `{lines['command']}`")
    out += ["", "## Per layer (mean per inference, full window)", "",
            "| layer | neurons | synapses | spikes | syn ops | updates active | updates inactive "
            "| E syn ops | E active upd | E inactive upd | E spikes | E total | ANN MACs | ANN fp32 | ANN int8 |",
            "|---|" + "---:|" * 14]

    def row(name, d, k, neurons, synapses, macs, afp, ai8):
        return ("| " + " | ".join(_md_escape(x) for x in (
            name, fmt_count(neurons), fmt_count(synapses), fmt_count(d["spikes"]), fmt_count(d["syn_ops"]),
            fmt_count(d["updates_active"]), fmt_count(d["updates_inactive"]), fmt_si(k["syn_ops"]),
            fmt_si(k["updates_active"]), fmt_si(k["updates_inactive"]), fmt_si(k["spikes"]),
            fmt_si(d["energy_j"]), fmt_count(macs), fmt_si(afp), fmt_si(ai8))) + " |")

    for layer in report.layers:
        out.append(row(layer["name"], layer, layer["energy_by_kind_j"], layer["neurons"], layer["synapses"],
                       layer["ann_macs"], layer["ann_energy_j"], layer["ann_energy_j_int8"]))
    ps, ann = report.per_sample, report.ann_baseline
    out.append(row("**total**", ps, ps["energy_by_kind_j"], sum(l["neurons"] for l in report.layers),
                   sum(l["synapses"] for l in report.layers), ann["macs"], ann["energy_j"], ann["energy_j_int8"]))
    ee = report.early_exit
    if ee:
        out += ["", "## Early exit (a sample stops at its first output spike)", "",
                "| layer | spikes | syn ops | neuron updates | E total |", "|---|---:|---:|---:|---:|"]
        for layer in ee["layers"]:
            out.append(f"| {_md_escape(layer['name'])} | {fmt_count(layer['spikes'])} | {fmt_count(layer['syn_ops'])} "
                       f"| {fmt_count(layer['neuron_updates'])} | {fmt_si(layer['energy_j'])} |")
        e = ee["per_sample"]
        out.append(f"| **total** | {fmt_count(e['spikes'])} | {fmt_count(e['syn_ops'])} "
                   f"| {fmt_count(e['neuron_updates'])} | {fmt_si(e['energy_j'])} |")
    out += ["", "Energy = Σ count × joules per event of the profile; ANN baseline = one MAC per connection "
            "on 45 nm CMOS (Horowitz 2014). See docs/energy.md.", ""]
    return "\n".join(out)


def to_json(report: EnergyReport) -> Dict[str, Any]:
    """The ``ttfs-deploy energy --json`` schema (docs/cli.md): ``profile``, ``per_sample``
    (``energy_j``, ``synops`` = ``syn_ops``, ``spikes``, ``neuron_updates``), ``layers[]``,
    ``ann_baseline`` (``macs``, ``energy_j``), plus ``comparison``, ``latency``, ``early_exit``,
    ``accuracy`` (null without labels). JSON-serializable."""
    return report.to_dict()
