"""One self-contained HTML energy/latency report: tables plus matplotlib figures as inline PNG.

Nothing in the page is fetched: the figures are base64 ``data:`` images rendered with
matplotlib's Agg canvas (no pyplot, no global backend switch), the CSS is inline, and there
is no JavaScript. Each figure sits in a ``<figure>`` with a stable id:

* ``plot-first-spike-hist``: first-spike time histogram per layer (full window, all samples);
* ``plot-raster``: raster of one sample, neuron index vs step, per layer;
* ``plot-energy-by-layer``: energy per layer, stacked by kind of event (error bars: the range of
  the profile's figures, when it gives one);
* ``plot-snn-vs-ann``: SNN energy (dynamic and with static power; full window and early exit) vs
  the ANN at fp32 and int8, compute only and with memory traffic (error bars: the ranges);
* ``plot-latency``: distribution of the decision step with early exit.

The file is written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import base64
import html
import io
import os
from typing import List, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.energy.accounting import EnergyReport
from ttfs_deploy.energy.ann import PRECISIONS
from ttfs_deploy.energy.coremap import core_map_section
from ttfs_deploy.energy.figures import Joules
from ttfs_deploy.energy.report import SUMMARY_LABELS, assumption_text, summary_lines
from ttfs_deploy.energy.rows import all_tables, fmt_ratio, fmt_si
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import write_text
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.tables import RowTable, to_html

PLOT_IDS = ("plot-first-spike-hist", "plot-raster", "plot-energy-by-layer", "plot-snn-vs-ann", "plot-latency")

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


def plot_first_spike_hist(sim: BackendResult, net: IntNetwork) -> Figure:
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


def plot_raster(sim: BackendResult, net: IntNetwork, sample: int = 0,
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


def _error(vals: Sequence[Joules], scale: float = 1.0) -> Optional[np.ndarray]:
    """matplotlib ``yerr`` (2, n) of the ranges, or None when no figure has a spread."""
    if not any(v.spread for v in vals):
        return None
    return np.array([[(v.point - v.low) * scale for v in vals], [(v.high - v.point) * scale for v in vals]])


def plot_energy_by_layer(report: EnergyReport) -> Figure:
    """Stacked bars: dynamic energy per layer by kind of event (full window, mean per inference);
    error bars on each layer's total span the profile's low-high range when it gives one."""
    names = [r.name for r in report.rows]
    fig = Figure(figsize=(max(5.0, 1.2 * len(names) + 3), 3.8))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for term in report.terms:
        vals = np.array([r.energy_by_kind[term.key].point for r in report.rows]) * 1e9
        ax.bar(x, vals, bottom=bottom, label=term.label, color=term.color)
        bottom += vals
    yerr = _error([r.energy for r in report.rows], 1e9)
    if yerr is not None:
        ax.errorbar(x, bottom, yerr=yerr, fmt="none", ecolor="#222", capsize=4, label="range of the figures")
    for xi, total, row in zip(x, bottom, report.rows):
        ax.text(xi, max(total, row.energy.high * 1e9), fmt_si(total * 1e-9), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel("dynamic energy per inference (nJ)")
    ax.set_title(f"Energy per layer by event kind — {report.profile}" + (" (ASSUMPTION)" if report.assumption else ""))
    ax.legend(fontsize=8)
    ax.margins(y=0.15)
    fig.tight_layout()
    return fig


def snn_vs_ann_bars(report: EnergyReport) -> List[tuple]:
    """``(label, Joules, colour)`` of the SNN-vs-ANN plot."""
    bars = [(f"SNN {report.profile}\nfull window", report.energy, "#4C72B0")]
    if report.static:
        bars.append((f"SNN {report.profile}\n+ static", report.energy_total, "#2E4A7A"))
    if report.early_rows:
        early = report.early_exit["per_sample"]
        bars.append((f"SNN {report.profile}\nearly exit",
                     Joules(early["energy_j"], *early["energy_j_range"]), "#64B5CD"))
    ann = report.total
    colors = {"fp32": ("#E8A0A2", "#C44E52"), "int8": ("#C3B8DC", "#8172B2")}
    for p in PRECISIONS:
        bars.append((f"ANN 45 nm {p}\ncompute only", Joules.exact(ann.ann_compute[p]), colors[p][0]))
        bars.append((f"ANN 45 nm {p}\nwith memory", ann.ann_with_memory(p), colors[p][1]))
    return bars


def plot_snn_vs_ann(report: EnergyReport) -> Figure:
    """SNN energy against the ANN on 45 nm CMOS (compute only, with memory), log scale, with
    error bars where a figure has a range."""
    bars = snn_vs_ann_bars(report)
    fig = Figure(figsize=(1.3 * len(bars) + 2, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(bars))
    vals = [max(j.point, 1e-18) for _, j, _ in bars]
    ax.bar(x, vals, color=[c for _, _, c in bars])
    yerr = _error([j for _, j, _ in bars])
    if yerr is not None:
        ax.errorbar(x, vals, yerr=yerr, fmt="none", ecolor="#222", capsize=4)
    for xi, (_, j, _) in zip(x, bars):
        ax.text(xi, max(j.high, 1e-18), fmt_si(j.point), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [label for label, _, _ in bars], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("energy per inference (J, log)")
    ratio = report.comparison.get("snn_over_ann_int8_memory")
    ax.set_title(f"SNN vs ANN: SNN dynamic / ANN int8 with memory = {fmt_ratio(ratio)}")
    ax.margins(y=0.2)
    fig.tight_layout()
    return fig


def plot_latency(sim_early: BackendResult, net: IntNetwork) -> Figure:
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


def _figure(plot_id: str, fig: Figure, caption: str) -> str:
    uri = _png(fig)
    return (f'<figure id="{plot_id}"><img alt="{html.escape(caption)}" src="{uri}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def render_html(report: EnergyReport, sim: BackendResult, sim_early: BackendResult, net: IntNetwork,
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
    parts.append('<dl class="summary" id="summary">' + "".join(
        f"<dt>{esc(label)}</dt><dd>{esc(lines[key])}</dd>" for label, key in SUMMARY_LABELS
        if key in lines and key != "command") + "</dl>")
    if "command" in lines:
        parts.append(f"<p>Reproduce: <code>{esc(lines['command'])}</code></p>")
    parts += [to_html(t) for t in all_tables(report)]
    lat = report.latency
    parts.append(to_html(RowTable("Latency", ["quantity", "value"], [
        ["window T (steps)", lat["steps_window"]],
        ["steps on target (T + hop delay)", lat["total_steps_on_target"]],
        ["decision step mean", "n/a" if lat["decision_step_mean"] is None else f"{lat['decision_step_mean']:.2f}"],
        ["decision step median", "n/a" if lat["decision_step_median"] is None else f"{lat['decision_step_median']:.1f}"],
        ["decision step p95", "n/a" if lat["decision_step_p95"] is None else f"{lat['decision_step_p95']:.1f}"],
        ["silent samples", f"{lat['silent_fraction']:.1%}"],
        ["time per inference, full window (estimate)", fmt_si(lat["seconds_per_inference_estimate"], "s")],
        ["time per inference, early exit (estimate)",
         fmt_si(lat.get("seconds_per_inference_estimate_early_exit"), "s")],
    ], table_id="table-latency")))

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
         "SNN energy per inference (dynamic, with static power, early exit) against the same layers as an ANN "
         "on 45 nm CMOS at fp32 and int8, compute only and with memory traffic (Horowitz 2014); error bars span "
         "the figures' ranges."),
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


def write_html(report: EnergyReport, sim: BackendResult, sim_early: BackendResult, net: IntNetwork, path: str,
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
