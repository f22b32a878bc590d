"""Energy and latency reports: run the event simulator, account energy, render the result.

:func:`energy_report` runs :class:`~ttfs_deploy.backends.eventsim.EventSim` twice over the same
inputs: once over the full window (the energy of the reference run, ``per_sample``) and once
with early exit (a sample stops at its first output spike: the latency distribution and the
``early_exit`` energy). The report renders as rich tables (:func:`render_table`), Markdown
(:func:`to_markdown`), the JSON schema of ``ttfs-deploy energy --json`` (:func:`to_json`) and a
self-contained HTML page (:func:`ttfs_deploy.energy.html.write_html`); all draw the tables of
:mod:`ttfs_deploy.energy.rows`.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
from rich.console import Group
from rich.text import Text

from ttfs_deploy import tables
from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.energy import neurobench
from ttfs_deploy.energy.accounting import EnergyReport, account
from ttfs_deploy.energy.rows import all_tables, fmt_count, fmt_range, fmt_ratio, fmt_si
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile, load_profile
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntNetwork

ProfileLike = Union[str, HardwareProfile]


def _profile(p: ProfileLike) -> HardwareProfile:
    return p if isinstance(p, HardwareProfile) else load_profile(str(p))


def energy_report(net: IntNetwork, input_times: np.ndarray, labels: Optional[np.ndarray] = None,
                  profile: ProfileLike = "loihi", ann_profile: ProfileLike = "cmos45",
                  host_input: Optional[np.ndarray] = None) -> Tuple[EnergyReport, BackendResult, BackendResult]:
    """Simulate ``input_times`` ((B, n_inputs) steps, -1 silent) and account energy on ``profile``.

    ``host_input``: with a direct-input host layer, its analog input (the images, (B, C, H, W) or
    (B, n)), for NeuroBench's effective MACs (null in the report without it).

    Returns ``(report, sim, sim_early)``: the report (full-window energy in ``per_sample`` and
    ``layers``, early-exit energy and latency in ``early_exit``, ``accuracy`` when ``labels``
    are given), and the two simulator results (full window, early exit).
    """
    prof, ann = _profile(profile), _profile(ann_profile)
    input_times = net.check_input_times(input_times)
    if len(input_times) == 0:
        raise TTFSError("no samples to report energy on", "pass at least one sample (--samples N)")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(input_times):
            raise TTFSError(f"{len(labels)} labels for {len(input_times)} samples", "pass one label per sample")
    if host_input is not None and len(host_input) != len(input_times):
        raise TTFSError(f"{len(host_input)} host inputs for {len(input_times)} samples", "pass one image per sample")
    engine = EventSim(net)  # compiles the numba kernel or loads it from the cache: timed apart
    start = time.perf_counter()
    sim = engine.run(input_times, early_exit=False)
    sim_early = engine.run(input_times, early_exit=True)
    seconds = time.perf_counter() - start
    report = account(net, sim, prof, ann)
    early = account(net, sim_early, prof, ann)
    full_e = report.per_sample["energy_j"]
    report.early_rows = early.rows
    report.early_exit = {
        "per_sample": early.per_sample,
        "layers": [{k: layer[k] for k in ("name", "energy_j", "energy_j_range", "syn_ops", "synops", "spikes",
                                          "neuron_updates", "energy_by_kind_j")} for layer in early.layers],
        "latency": early.latency,
        "static": early.static.to_dict() if early.static else None,
        "energy_saving_fraction": 1.0 - early.per_sample["energy_j"] / full_e if full_e else 0.0,
        "snn_over_ann_fp32": early.comparison["snn_over_ann_fp32"],
        "snn_over_ann_int8_memory": early.comparison["snn_over_ann_int8_memory"],
    }
    report.simulator = {"seconds": seconds, "kernel_compile_seconds": engine.compile_seconds,
                        "runs": 2, "samples": int(len(input_times))}
    report.neurobench = neurobench.metrics(net, report.layers, input_times, host_input)
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


# ----------------------------------------------------------------------------- summary


def fmt_step(x: Optional[float]) -> str:
    return "n/a (no output spike)" if x is None else f"{x:.2f}"


def assumption_text(report: EnergyReport) -> str:
    """The warning shown when the profile's energy figures are an assumption ('' otherwise)."""
    if not report.assumption:
        return ""
    spread = f" Ranges: {report.range_source}." if report.range_source else ""
    return (f"ASSUMPTION: profile {report.profile}'s energy per event is assumed, not published for this "
            f"chip; treat the joules as an estimate (the counts are exact).{spread}")


def _range_ratio(value: Optional[float], rng) -> str:
    if value is None:
        return "n/a"
    if rng and rng[0] is not None and rng[0] != rng[1]:
        return f"{fmt_ratio(value)} ({rng[0]:.3g}–{rng[1]:.3g})"
    return fmt_ratio(value)


def summary_lines(report: EnergyReport) -> Dict[str, str]:
    """The one-line facts every renderer shows (key -> text)."""
    ps, ann, cmp_, lat = report.per_sample, report.ann_baseline, report.comparison, report.latency
    ee = report.early_exit
    static = report.static
    snn = (f"{fmt_range(report.energy)} dynamic per inference (full window of {lat['steps_window']} steps): "
           f"{fmt_count(ps['syn_ops'])} syn ops, {fmt_count(ps['spikes'])} spikes, "
           f"{fmt_count(ps['neuron_updates'])} neuron updates")
    if static:
        snn += f"; + {fmt_range(static.energy)} static = {fmt_range(report.energy_total)}"
    lines = {
        "profile": f"{report.profile} — {report.source or 'no source given'}",
        "samples": f"{report.samples}",
        "snn": snn,
        "dominant": f"{ps.get('dominant', 'n/a')} (time: {report.time.dominant if report.time else 'n/a'})",
        "ann": (f"{fmt_count(ann['macs'])} MACs (the layers as trained, pools not folded) on {ann['profile']} "
                f"(45 nm): compute only fp32 {fmt_si(ann['energy_j'])}, int8 {fmt_si(ann['energy_j_int8'])}"),
        "ratio": (f"SNN dynamic energy {_range_ratio(cmp_['snn_over_ann_fp32_memory'], cmp_['snn_over_ann_fp32_memory_range'])} "
                  f"ANN fp32 with memory, {_range_ratio(cmp_['snn_over_ann_int8_memory'], cmp_['snn_over_ann_int8_memory_range'])} "
                  f"ANN int8 with memory; {fmt_ratio(cmp_['snn_over_ann_fp32'])} / {fmt_ratio(cmp_['snn_over_ann_int8'])} "
                  f"the compute-only fp32 / int8; syn ops/MACs {fmt_ratio(cmp_['synops_over_macs'])}"),
        "decision": (f"decision step mean {fmt_step(lat['decision_step_mean'])} of T={lat['steps_window']} "
                     f"(median {fmt_step(lat['decision_step_median'])}, p95 {fmt_step(lat['decision_step_p95'])}), "
                     f"silent {lat['silent_fraction']:.1%}; time estimate "
                     f"{fmt_si(lat['seconds_per_inference_estimate'], 's')}"),
    }
    mem = ann.get("with_memory")
    if mem:
        lines["ann"] += (f"; with memory fp32 {fmt_si(mem['fp32']['energy_j'])}, "
                         f"int8 {fmt_si(mem['int8']['energy_j'])}")
    if ee:
        ee_static = ee.get("static")
        lines["early_exit"] = (f"{fmt_si(ee['per_sample']['energy_j'])} dynamic per inference with early exit "
                               f"({ee['energy_saving_fraction']:.1%} saved, "
                               f"{ee['latency']['steps_run_mean']:.2f} steps run, "
                               f"time estimate {fmt_si(ee['latency']['seconds_per_inference_estimate'], 's')}"
                               + (f", static {fmt_si(ee_static['energy_j'])}" if ee_static else "") + ")")
    if report.accuracy:
        acc = report.accuracy
        lines["accuracy"] = (f"{acc['accuracy']:.2%} over {acc['samples']} samples "
                             f"(early exit {acc['accuracy_early_exit']:.2%})")
    if report.simulator:
        sim = report.simulator
        lines["simulator"] = (f"event simulator: {sim['samples']} samples x {sim['runs']} runs (full window, early exit) "
                              f"in {sim['seconds']:.2f} s; numba kernel compile/cache load apart: "
                              f"{sim['kernel_compile_seconds']:.2f} s (host time, not chip time)")
    if report.command:
        lines["command"] = report.command
    if report.host_layer:
        host = report.host_layer
        lines["host"] = f"{host['name']} ({fmt_count(host['macs'])} MACs per sample) {host['note']}"
    return lines


#: summary keys and their labels, in the order the renderers show them
SUMMARY_LABELS = [("Profile", "profile"), ("Samples", "samples"), ("SNN", "snn"), ("Dominant", "dominant"),
                  ("ANN baseline", "ann"), ("SNN/ANN", "ratio"), ("Latency", "decision"), ("Early exit", "early_exit"),
                  ("Host layer", "host"), ("Accuracy", "accuracy"), ("Run", "simulator"),
                  ("Reproduce", "command")]


def render_table(report: EnergyReport) -> Group:
    """The report for the terminal: every table of :mod:`.rows`, then the summary lines, and
    ASSUMPTION in red when the profile's energy is assumed. Print it with
    :func:`ttfs_deploy.tables.print_wide` so that a pipe gets it uncut."""
    flag = " [bold red]ASSUMPTION[/]" if report.assumption else ""
    parts: list = [Text.from_markup(f"[bold]Energy per inference — profile {report.profile}[/]{flag}")]
    for t in all_tables(report):
        parts.append(tables.to_rich(t, caption=t.note or None))
    lines = summary_lines(report)
    caption = Text()
    for label, key in SUMMARY_LABELS:
        if key in lines:
            caption.append(f"{label}: ", style="bold")
            caption.append(lines[key] + "\n")
    if report.assumption:
        caption.append(assumption_text(report), style="bold red")
    caption.rstrip()
    parts.append(caption)
    return Group(*parts)


def to_markdown(report: EnergyReport) -> str:
    """The report as Markdown: summary, then every table of :mod:`.rows`."""
    lines = summary_lines(report)
    out = [f"# Energy report — profile `{report.profile}`" + (" (ASSUMPTION)" if report.assumption else ""), ""]
    if report.assumption:
        out += [f"> **{assumption_text(report)}**", ""]
    for label, key in SUMMARY_LABELS:
        if key in lines:
            out.append(f"- **{label}:** `{lines[key]}`" if key == "command" else f"- **{label}:** {lines[key]}")
    out.append("")
    out += [tables.to_markdown(t) for t in all_tables(report)]
    out += ["Energy = Σ count × joules per event of the profile (+ static power × time where the profile gives "
            "it); ANN baseline = the same layers as trained (pools not folded) on 45 nm CMOS (Horowitz 2014). "
            "See docs/energy.md.", ""]
    return "\n".join(out)


def to_json(report: EnergyReport) -> Dict[str, Any]:
    """The ``ttfs-deploy energy --json`` schema (docs/energy.md): ``profile``, ``per_sample``
    (``energy_j``, ``synops`` = ``syn_ops``, ``spikes``, ``neuron_updates``), ``layers[]``,
    ``ann_baseline`` (``macs``, ``energy_j``), plus ``static``, ``comparison``, ``neurobench``,
    ``latency``, ``early_exit``, ``accuracy`` (null without labels). JSON-serializable."""
    return report.to_dict()
