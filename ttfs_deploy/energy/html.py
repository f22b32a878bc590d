"""One self-contained HTML energy/latency report: tables plus matplotlib figures as inline PNG.

Nothing in the page is fetched: the figures are base64 ``data:`` images rendered with
matplotlib's Agg canvas (no pyplot, no global backend switch), the CSS is inline, and there
is no JavaScript. Each figure sits in a ``<figure>`` with a stable id:

* ``plot-first-spike-hist``: first-spike time histogram per layer (full window, all samples);
* ``plot-raster``: raster of one sample, neuron index vs step, per layer;
* ``plot-energy-by-layer``: energy per layer, stacked by kind of event;
* ``plot-snn-vs-ann``: SNN energy (full window and early exit) vs the ANN at fp32 and int8;
* ``plot-latency``: distribution of the decision step with early exit.

The file is written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import base64
import html
import io
import os
from typing import Any, List, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ttfs_deploy.backends.eventsim.simulator import SimResult
from ttfs_deploy.energy.accounting import EnergyReport
from ttfs_deploy.energy.coremap import core_map_section
from ttfs_deploy.energy.report import (KIND_LABELS, assumption_text, fmt_count, fmt_ratio, fmt_si,
                                       summary_lines)
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import write_text
from ttfs_deploy.ir.network import IntNetwork

PLOT_IDS = ("plot-first-spike-hist", "plot-raster", "plot-energy-by-layer", "plot-snn-vs-ann", "plot-latency")
KIND_COLORS = {"syn_ops": "#4C72B0", "updates_active": "#DD8452", "updates_inactive": "#C9B27C",
               "spikes": "#55A868"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.88em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}tr.total td{font-weight:bold;background:#fafafa}
.assumption{background:#fde8e8;border:2px solid #c0392b;color:#7b1d12;padding:0.6em 1em;font-weight:bold}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{font-size:0.88em;color:#555}
code{background:#f3f3f3;padding:1px 4px}dl.summary dt{font-weight:bold;float:left;width:9em;clear:left}
dl.summary dd{margin-left:10em;margin-bottom:0.3em}
"""


def _png(fig: Figure) -> str:
    """The figure as a base64 PNG ``data:`` URI (no software metadata)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _grid(n: int, width: float = 4.0, height: float = 3.0, max_cols: int = 4):
    cols = max(1, min(n, max_cols))
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(width * cols, height * rows))
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(max(n, 1))]
    return fig, axes


def plot_first_spike_hist(sim: SimResult, net: IntNetwork) -> Figure:
    """Histogram of first-spike steps per layer (all samples, all neurons); 'never' counted aside."""
    fig, axes = _grid(len(net.layers))
    T = net.T
    for ax, layer, times in zip(axes, net.layers, sim.spike_times):
        t = np.asarray(times).reshape(-1)
        fired = t[t >= 0]
        ax.hist(fired, bins=np.arange(T + 1) - 0.5, color="#4C72B0")
        never = 1.0 - len(fired) / max(1, t.size)
        ax.set_title(f"{layer.name} ({layer.n_neurons} neurons)", fontsize=10)
        ax.set_xlabel("first-spike step")
        ax.set_ylabel("neurons × samples")
        ax.set_xlim(-0.5, T - 0.5)
        ax.text(0.98, 0.95, f"never fired: {never:.1%}", transform=ax.transAxes, ha="right", va="top",
                fontsize=8)
    fig.suptitle("First-spike time per layer (full window)")
    fig.tight_layout()
    return fig


def plot_raster(sim: SimResult, net: IntNetwork, sample: int = 0,
                input_times: Optional[np.ndarray] = None) -> Figure:
    """Raster of one sample: neuron index vs step, one panel per layer (plus the input if given)."""
    panels: List[tuple] = []
    if input_times is not None:
        panels.append(("input", np.asarray(input_times)[sample]))
    panels += [(layer.name, np.asarray(times)[sample]) for layer, times in zip(net.layers, sim.spike_times)]
    fig, axes = _grid(len(panels))
    for ax, (name, t) in zip(axes, panels):
        idx = np.nonzero(t >= 0)[0]
        ax.scatter(t[idx], idx, s=6, marker="|" if len(t) > 200 else "o", color="#222")
        ax.set_title(f"{name}: {len(idx)}/{len(t)} fired", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("neuron index")
        ax.set_xlim(-0.5, net.T - 0.5)
        ax.set_ylim(-0.5, len(t) - 0.5)
    decision = int(sim.decision[sample])
    fig.suptitle(f"Spike raster of sample {sample} (decision at step "
                 f"{decision if decision >= 0 else 'never'})")
    fig.tight_layout()
    return fig


def plot_energy_by_layer(report: EnergyReport) -> Figure:
    """Stacked bars: energy per layer by kind of event (full window, mean per inference)."""
    names = [layer["name"] for layer in report.layers]
    fig = Figure(figsize=(max(5.0, 1.2 * len(names) + 3), 3.8))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for kind, label in KIND_LABELS.items():
        vals = np.array([layer["energy_by_kind_j"][kind] for layer in report.layers]) * 1e9
        ax.bar(x, vals, bottom=bottom, label=label, color=KIND_COLORS[kind])
        bottom += vals
    for xi, total in zip(x, bottom):
        ax.text(xi, total, fmt_si(total * 1e-9), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel("energy per inference (nJ)")
    ax.set_title(f"Energy per layer by event kind — {report.profile}" + (" (ASSUMPTION)" if report.assumption else ""))
    ax.legend(fontsize=8)
    ax.margins(y=0.15)
    fig.tight_layout()
    return fig


def plot_snn_vs_ann(report: EnergyReport) -> Figure:
    """SNN energy (full window, early exit) vs the ANN on 45 nm CMOS (fp32, int8), log scale."""
    labels = [f"SNN {report.profile}\nfull window"]
    vals = [report.per_sample["energy_j"]]
    colors = ["#4C72B0"]
    if report.early_exit:
        labels.append(f"SNN {report.profile}\nearly exit")
        vals.append(report.early_exit["per_sample"]["energy_j"])
        colors.append("#64B5CD")
    labels += ["ANN 45 nm\nfp32", "ANN 45 nm\nint8"]
    vals += [report.ann_baseline["energy_j"], report.ann_baseline["energy_j_int8"]]
    colors += ["#C44E52", "#8172B2"]
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(vals))
    plot_vals = [max(v, 1e-18) for v in vals]
    ax.bar(x, plot_vals, color=colors)
    ax.set_yscale("log")
    for xi, v in zip(x, vals):
        ax.text(xi, max(v, 1e-18), fmt_si(v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("energy per inference (J, log)")
    ratio = report.comparison.get("snn_over_ann_fp32")
    ax.set_title(f"SNN vs ANN: SNN/ANN fp32 = {fmt_ratio(ratio)}")
    ax.margins(y=0.2)
    fig.tight_layout()
    return fig


def plot_latency(sim_early: SimResult, net: IntNetwork) -> Figure:
    """Histogram of the decision step with early exit; silent samples in a separate bar."""
    d = np.asarray(sim_early.decision)
    fired = d[d >= 0]
    T = net.T
    counts = np.bincount(fired, minlength=T)[:T] if len(fired) else np.zeros(T, int)
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(np.arange(T), counts, width=1.0, color="#4C72B0", edgecolor="white", label="decided")
    silent = int((d < 0).sum())
    ax.bar([T + 1], [silent], width=1.0, color="#999", label="silent (ran all T steps)")
    if len(fired):
        ax.axvline(fired.mean(), color="#C44E52", ls="--", label=f"mean {fired.mean():.2f}")
    ticks = [int(t) for t in np.linspace(0, T - 1, min(T, 9)).round()]
    ax.set_xticks(ticks + [T + 1], [str(t) for t in ticks] + ["silent"])
    ax.set_xlabel(f"decision step (first output spike), T = {T}")
    ax.set_ylabel("samples")
    ax.set_title(f"Early-exit latency over {len(d)} samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], total: Optional[Sequence[Any]] = None,
           table_id: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    if total is not None:
        body += '<tr class="total">' + "".join(f"<td>{html.escape(str(c))}</td>" for c in total) + "</tr>"
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _layer_rows(layers, per_sample, ann):
    header = ["layer", "neurons", "synapses", "spikes", "syn ops", "updates active", "updates inactive",
              "E syn ops", "E active upd", "E inactive upd", "E spikes", "E total", "ANN MACs", "ANN fp32",
              "ANN int8"]

    def row(name, d, neurons, synapses, macs, afp, ai8):
        k = d["energy_by_kind_j"]
        return [name, fmt_count(neurons), fmt_count(synapses), fmt_count(d["spikes"]), fmt_count(d["syn_ops"]),
                fmt_count(d["updates_active"]), fmt_count(d["updates_inactive"]), fmt_si(k["syn_ops"]),
                fmt_si(k["updates_active"]), fmt_si(k["updates_inactive"]), fmt_si(k["spikes"]),
                fmt_si(d["energy_j"]), fmt_count(macs), fmt_si(afp), fmt_si(ai8)]

    rows = [row(l["name"], l, l["neurons"], l["synapses"], l["ann_macs"], l["ann_energy_j"], l["ann_energy_j_int8"])
            for l in layers]
    total = row("total", per_sample, sum(l["neurons"] for l in layers), sum(l["synapses"] for l in layers),
                ann["macs"], ann["energy_j"], ann["energy_j_int8"])
    return header, rows, total


def _figure(plot_id: str, fig: Figure, caption: str) -> str:
    uri = _png(fig)
    return (f'<figure id="{plot_id}"><img alt="{html.escape(caption)}" src="{uri}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def render_html(report: EnergyReport, sim: SimResult, sim_early: SimResult, net: IntNetwork,
                sample: int = 0, input_times: Optional[np.ndarray] = None) -> str:
    """The whole page as one string (see :func:`write_html`)."""
    if len(sim.decision) == 0:
        raise TTFSError("no samples to plot", "pass at least one sample (--samples N)")
    if not 0 <= sample < len(sim.decision):
        raise TTFSError(f"raster sample {sample} out of range (0..{len(sim.decision) - 1})", "pick an existing sample")
    lines = summary_lines(report)
    esc = html.escape
    title = f"ttfs-deploy energy report — {report.profile}" + (" (ASSUMPTION)" if report.assumption else "")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
             f"<style>{_CSS}</style></head><body>", f"<h1>{esc(title)}</h1>"]
    if report.assumption:
        parts.append(f'<p class="assumption" id="assumption">{esc(assumption_text(report))}</p>')
    labels = [("Profile", "profile"), ("Samples", "samples"), ("SNN", "snn"), ("ANN baseline", "ann"),
              ("SNN/ANN", "ratio"), ("Latency", "decision"), ("Early exit", "early_exit"),
              ("Accuracy", "accuracy")]
    parts.append('<dl class="summary" id="summary">' + "".join(
        f"<dt>{esc(label)}</dt><dd>{esc(lines[key])}</dd>" for label, key in labels if key in lines) + "</dl>")
    if "command" in lines:
        parts.append(f"<p>Reproduce: <code>{esc(lines['command'])}</code></p>")

    parts.append("<h2>Per layer (mean per inference, full window)</h2>")
    header, rows, total = _layer_rows(report.layers, report.per_sample, report.ann_baseline)
    parts.append(_table(header, rows, total, "table-layers"))
    if report.early_exit:
        ee = report.early_exit
        parts.append("<h2>Early exit (a sample stops at its first output spike)</h2>")
        parts.append(_table(["layer", "spikes", "syn ops", "neuron updates", "E total"],
                            [[l["name"], fmt_count(l["spikes"]), fmt_count(l["syn_ops"]),
                              fmt_count(l["neuron_updates"]), fmt_si(l["energy_j"])] for l in ee["layers"]],
                            ["total", fmt_count(ee["per_sample"]["spikes"]), fmt_count(ee["per_sample"]["syn_ops"]),
                             fmt_count(ee["per_sample"]["neuron_updates"]), fmt_si(ee["per_sample"]["energy_j"])],
                            "table-early-exit"))
    lat = report.latency
    parts.append("<h2>Latency</h2>")
    parts.append(_table(["quantity", "value"], [
        ["window T (steps)", lat["steps_window"]],
        ["steps on target (T + hop delay)", lat["total_steps_on_target"]],
        ["decision step mean", "n/a" if lat["decision_step_mean"] is None else f"{lat['decision_step_mean']:.2f}"],
        ["decision step median", "n/a" if lat["decision_step_median"] is None else f"{lat['decision_step_median']:.1f}"],
        ["decision step p95", "n/a" if lat["decision_step_p95"] is None else f"{lat['decision_step_p95']:.1f}"],
        ["silent samples", f"{lat['silent_fraction']:.1%}"],
        ["time per inference, full window (estimate)", fmt_si(lat["seconds_per_inference_estimate"], "s")],
        ["time per inference, early exit (estimate)",
         fmt_si(lat.get("seconds_per_inference_estimate_early_exit"), "s")],
    ], table_id="table-latency"))

    parts.append(core_map_section(net, report.per_sample.get("traffic")))
    parts.append("<h2>Plots</h2>")
    figures = [
        ("plot-first-spike-hist", plot_first_spike_hist(sim, net),
         "First-spike time histogram per layer, all samples, full window."),
        ("plot-raster", plot_raster(sim, net, sample, input_times),
         f"Spike raster of sample {sample}: neuron index vs step, per layer."),
        ("plot-energy-by-layer", plot_energy_by_layer(report),
         f"Energy per inference per layer, stacked by kind of event, profile {report.profile}."),
        ("plot-snn-vs-ann", plot_snn_vs_ann(report),
         "SNN energy per inference (full window and early exit) against the same layers as an ANN on "
         "45 nm CMOS at fp32 and int8 (Horowitz 2014)."),
        ("plot-latency", plot_latency(sim_early, net),
         "Distribution of the decision step (first output spike) with early exit."),
    ]
    for plot_id, fig, caption in figures:
        parts.append(_figure(plot_id, fig, caption))
    parts.append(f"<p><small>Profile source: {esc(report.source)}. ANN baseline source: "
                 f"{esc(report.ann_baseline.get('source', ''))}. Energy = Σ count × joules per event; "
                 "see docs/energy.md.</small></p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(report: EnergyReport, sim: SimResult, sim_early: SimResult, net: IntNetwork, path: str,
               sample: int = 0, input_times: Optional[np.ndarray] = None) -> str:
    """Write the self-contained HTML report to ``path`` atomically; returns ``path``.

    ``sample`` picks the sample of the raster plot; ``input_times`` (the inputs of the run)
    adds the input layer to the raster.
    """
    page = render_html(report, sim, sim_early, net, sample, input_times)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TTFSError(f"folder {folder} does not exist", "create it or choose another --html path")
    write_text(path, page)
    return path
