"""The energy report's tables, built once from :class:`EnergyReport` for every renderer.

The terminal (:func:`ttfs_deploy.energy.report.render_table`), Markdown and HTML renderers draw
these :class:`~ttfs_deploy.tables.RowTable` objects cell for cell, so the three always agree.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ttfs_deploy.energy import neurobench
from ttfs_deploy.energy.accounting import STATIC_GROUP, EnergyReport, EnergyRow
from ttfs_deploy.energy.ann import PRECISIONS
from ttfs_deploy.energy.figures import Joules
from ttfs_deploy.energy.timing import TIME_LABELS
from ttfs_deploy.tables import RowTable

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
    return "n/a" if x is None else f"{x:.3g}×"


def fmt_range(j: Joules) -> str:
    """``1.21 nJ`` or, with a spread, ``1.21 nJ (1.1-1.5 nJ)``."""
    if not j.spread:
        return fmt_si(j.point)
    return f"{fmt_si(j.point)} ({fmt_si(j.low)} – {fmt_si(j.high)})"


def fmt_share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _snn_cells(report: EnergyReport, r: EnergyRow) -> List[str]:
    cells = [r.name, fmt_count(r.neurons), fmt_count(r.synapses), fmt_count(r.counts["spikes"]),
             fmt_count(r.counts["syn_ops"]), fmt_count(r.counts["updates_active"]),
             fmt_count(r.counts["updates_inactive"])]
    cells += [fmt_si(r.energy_by_kind[t.key].point) for t in report.terms]
    cells.append(fmt_si(r.energy.point))
    if any(e.spread for e in report.total.energy_by_kind.values()):
        cells.append(f"{fmt_si(r.energy.low)} – {fmt_si(r.energy.high)}")
    return cells


def layer_table(report: EnergyReport) -> RowTable:
    """Per-layer counts and dynamic energy by term (full window), with a range column when the
    profile's figures have a spread."""
    header = ["layer", "neurons", "synapses", "spikes", "syn ops", "updates active", "updates inactive"]
    header += [t.column for t in report.terms] + ["E dynamic"]
    spread = any(e.spread for e in report.total.energy_by_kind.values())
    if spread:
        header.append("E range")
    return RowTable(f"SNN on {report.profile}: per layer, mean per inference (full window)", header,
                    [_snn_cells(report, r) for r in report.rows], _snn_cells(report, report.total),
                    "table-layers", f"Per-event figures include: {report.includes}" if report.includes else "")


def _ann_cells(r: EnergyRow) -> List[str]:
    cells = [r.name, fmt_count(r.ann_macs)]
    for p in PRECISIONS:
        cells += [fmt_si(r.ann_compute[p]), fmt_si(r.ann_memory[p].point), fmt_range(r.ann_with_memory(p))]
    return cells


def ann_table(report: EnergyReport) -> RowTable:
    """The same layers as an ANN on 45 nm CMOS: compute only and with memory traffic."""
    header = ["layer", "MACs"]
    for p in PRECISIONS:
        header += [f"{p} compute only", f"{p} memory", f"{p} with memory"]
    ann = report.ann_baseline
    return RowTable(f"The same layers as an ANN on {ann.get('profile', '45 nm CMOS')} (45 nm), per inference", header,
                    [_ann_cells(r) for r in report.rows], _ann_cells(report.total), "table-ann",
                    "compute only = one MAC per connection of the layers as trained (pools not folded), no memory "
                    f"access; with memory = + {ann.get('memory_model', '')} ({ann.get('memory_source', '')})")


def breakdown_table(report: EnergyReport) -> RowTable:
    """Where the energy and the time go: dynamic terms by group, the idle chip, and the time model."""
    by_group: Dict[str, float] = report.per_sample.get("energy_by_group_j", {})
    whole = report.energy_total.point
    rows: List[List[Any]] = [[g, fmt_si(e), fmt_share(e, whole)] for g, e in by_group.items() if g != STATIC_GROUP]
    static = report.static
    if static:
        rows.append([STATIC_GROUP, fmt_range(static.energy), fmt_share(static.energy.point, whole)])
    table = RowTable("Where the energy goes (per inference, full window)", ["term", "energy", "share"], rows,
                     ["total", fmt_range(report.energy_total), "100%"], "table-breakdown")
    dominant = report.per_sample.get("dominant", "")
    notes = [f"dominant: {dominant}"]
    if static:
        notes.append(f"static = {fmt_si(static.power.point, 'W')} x {static.chips} chip(s) x "
                     f"{fmt_si(static.seconds, 's')} ({static.source})")
    else:
        notes.append("no static term: the profile gives no static_power_w")
    table.note = "; ".join(notes)
    return table


def time_table(report: EnergyReport) -> RowTable:
    """The time model beside the energy: seconds per inference by term."""
    t = report.time
    if t is None:
        return RowTable("Time per inference (estimate)", ["term", "time", "share"])
    terms = t.to_dict()
    rows = [[label, fmt_si(terms[k], "s"), fmt_share(terms[k], t.total_s)] for k, label in TIME_LABELS.items()]
    return RowTable("Time per inference (estimate, full window)", ["term", "time", "share"], rows,
                    ["total", fmt_si(t.total_s, "s"), "100%"], "table-time",
                    f"dominant: {t.dominant}; each layer's work spread over its cores, layers summed "
                    "(an upper bound), one barrier sync per step the target runs")


def early_exit_table(report: EnergyReport) -> Optional[RowTable]:
    """Per-layer energy when each sample stops at its first output spike (None without)."""
    ee = report.early_exit
    if not ee:
        return None
    header = ["layer", "spikes", "syn ops", "neuron updates", "E dynamic"]

    def cells(d):
        return [d["name"], fmt_count(d["spikes"]), fmt_count(d["syn_ops"]), fmt_count(d["neuron_updates"]),
                fmt_si(d["energy_j"])]
    return RowTable("Early exit (a sample stops at its first output spike)", header,
                    [cells(d) for d in ee["layers"]], cells({**ee["per_sample"], "name": "total"}),
                    "table-early-exit")


def neurobench_table(report: EnergyReport) -> Optional[RowTable]:
    """NeuroBench's metrics with their definitions (None when not computed)."""
    nb = report.neurobench
    if not nb:
        return None
    rows = []
    for name, value, definition in neurobench.rows(nb):
        text = "n/a" if value is None else (f"{value:.4f}" if isinstance(value, float) and value < 1.0
                                            and name.endswith("sparsity") else fmt_count(value))
        rows.append([name, text, definition])
    return RowTable("NeuroBench metrics (per inference)", ["metric", "value", "definition"], rows,
                    table_id="table-neurobench", left=(0, 2))


def all_tables(report: EnergyReport) -> List[RowTable]:
    """Every table of the report, in order."""
    tables = [layer_table(report), ann_table(report), breakdown_table(report), time_table(report),
              early_exit_table(report), neurobench_table(report)]
    return [t for t in tables if t is not None]
