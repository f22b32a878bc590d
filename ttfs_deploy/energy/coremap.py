"""The chip/core map of a placement, as an inline SVG section for the HTML report.

One panel per chip used; each chip's cores are drawn on Loihi's mesh (8 tiles to a row, 4 cores
to a tile as 2 x 2 cells, the shipped profiles' layout), coloured by the layer they hold; a core
holding tiles of several layers takes the colour of the first and a dot. Unused cores are grey.
"""

from __future__ import annotations

import html
from typing import Dict, List, Optional

from ttfs_deploy.compile.placement import core_limits, core_usage
from ttfs_deploy.ir.network import IntNetwork

#: matplotlib's tab10 colours
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]
CELL = 12


def _cell(core: int, per_tile: int, tiles_x: int) -> tuple:
    """(column, row) of a core's cell: its tile's mesh position, 2 x 2 cores per tile."""
    tile, slot = divmod(core, per_tile)
    return (tile % tiles_x) * 2 + slot % 2, (tile // tiles_x) * 2 + slot // 2


def core_map_section(net: IntNetwork, traffic: Optional[Dict[str, float]] = None) -> str:
    """``<h2>`` + SVG + legend (+ the spike traffic per inference of an energy report's
    ``per_sample.traffic``); empty when the network has no tiled placement."""
    usage = core_usage(net.placement) if net.placement and all("tiles" in e for e in net.placement) else []
    if not usage:
        return ""
    limits = core_limits(net)
    per_chip = limits.get("cores_per_chip", 128)
    per_tile, tiles_x = 4, 8
    cols = tiles_x * 2
    rows = -(-per_chip // (per_tile * tiles_x)) * 2
    colour: Dict[str, str] = {e["layer"]: PALETTE[i % len(PALETTE)] for i, e in enumerate(net.placement)}
    chips = sorted({u.chip for u in usage})
    width, height = cols * CELL + 20, rows * CELL + 30
    parts: List[str] = [f'<svg xmlns="http://www.w3.org/2000/svg" id="core-map" width="{width * len(chips)}" '
                        f'height="{height}" font-family="sans-serif" font-size="11">']
    used = {u.core: u for u in usage}
    for panel, chip in enumerate(chips):
        x0 = panel * width
        parts.append(f'<text x="{x0}" y="12">chip {chip}</text>')
        for local in range(per_chip):
            core = chip * per_chip + local
            cx, cy = _cell(local, per_tile, tiles_x)
            x, y = x0 + cx * CELL, 18 + cy * CELL
            u = used.get(core)
            fill = colour[u.layers[0]] if u else "#e0e0e0"
            title = (f"core {core}: {', '.join(u.layers)}; {u.neurons} neurons, {u.input_axons} input axons, "
                     f"{u.memory_bytes} bytes" if u else f"core {core}: unused")
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 1}" height="{CELL - 1}" fill="{fill}">'
                         f'<title>{html.escape(title)}</title></rect>')
            if u and len(u.layers) > 1:
                parts.append(f'<circle cx="{x + CELL / 2 - 0.5}" cy="{y + CELL / 2 - 0.5}" r="2" fill="white"/>')
    parts.append("</svg>")
    legend = " ".join(f'<span style="color:{c}">&#9632;</span> {html.escape(name)}' for name, c in colour.items())
    moved = "" if not traffic else (
        f'<p id="traffic">Spike messages per inference: {traffic["between_chips"]:,.1f} between chips, '
        f'{traffic["between_cores"]:,.1f} between cores of a chip ({traffic["hops_ew"]:,.1f} east-west and '
        f'{traffic["hops_ns"]:,.1f} north-south tile hops), {traffic["within_core"]:,.1f} within a core; '
        f'{traffic["energy_j"]:.3g} J (see docs/energy.md).</p>')
    return (f'<h2>Chip and core map</h2><p>{len(usage)} cores on {len(chips)} chip(s); Loihi mesh '
            f'layout (4 cores per tile, 8 tiles per row); a dot marks a core shared by several layers.</p>'
            + "".join(parts) + f'<p id="core-map-legend">{legend}</p>' + moved)
