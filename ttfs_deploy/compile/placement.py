"""Pass 4: split every layer into core-sized tiles and place the tiles on cores and chips.

**Tiles.** A convolution's output ``(C, H, W)`` is cut into a grid of blocks (channel range x
row range x column range); a dense layer's neurons into consecutive ranges. Along an axis of
length ``n`` cut into ``k`` blocks, block ``i`` is ``[i n // k, (i + 1) n // k)`` (dense ranges
too, unless only the uneven ranges of a greedy fill meet the limits).

**Per-tile figures**, all from geometry and the weights, never from a materialized
convolution (so compiling costs memory in proportion to weights and neurons):

* ``neurons``;
* ``input_axons``: the distinct presynaptic neurons of the tile. For a convolution, the tile's
  receptive field: ``C_in x (input rows its output rows read) x (input columns ...)``, every tap
  inside the input counted, zero weights included (a conv stores its kernel whole); for a dense
  layer, the inputs with a non-zero weight in the tile's rows;
* ``output_axons``: the distinct destination cores of the tile (cores of the next layer that read
  any of its neurons); the last layer's spikes go to the host and need none. ``output_routes``
  counts (neuron, destination core) pairs, the entries a Loihi 1 output-axon table would hold;
  it is reported, not limited;
* ``synapses``: synapses stored on the core; ``memory_bytes``: ``synapses x bytes_per_synapse``,
  or, when the profile shares conv weights, the kernel of the tile's channels
  (``channels x C_in x kh x kw x bytes_per_synapse``).

**Tiling.** Layers are tiled from the last to the first, because a layer's output axons depend
on how the next layer is tiled. A convolution tries every (row blocks, column blocks) pair with
the fewest channel blocks that fit, and takes the fewest tiles; ties go to the fewest input
axons in total (fewer duplicated input spikes). A dense layer fills consecutive neurons into a
range while it fits (the fewest ranges), then evens out their sizes when that still fits.
Distinct destination cores are checked afterwards (they never bind on the shipped profiles).

**Placement.** Tiles go on cores in layer order; a tile shares the previous core when that core
holds no tile of its own layer and the sums stay within every limit (small late layers pack
together). The sequence of cores is then cut into runs, one run per chip (core ``k`` is on chip
``k // cores_per_chip``; a chip may keep cores free): consecutive layers sit together, and the
cuts are placed where the fewest (neuron, destination core) routes cross them (dynamic
programming). A fire-once neuron spikes at most once per inference, so the crossing routes
(``interchip_routes`` in the compile report) bound the spikes that travel between chips.

**Refusals** (one line, naming layer, limit and figure): one neuron over a limit (fan-in over
the input axons, its synapses over the memory, its destination cores over the output axons),
or more cores than the chips have.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.connectivity import axis_taps
from ttfs_deploy.ir.network import IntNetwork

#: per-core limits of a profile's ``[limits]`` and the figure each bounds
LIMIT_KEYS = {"neurons": "neurons_per_core", "input_axons": "input_axons_per_core",
              "output_axons": "output_axons_per_core", "memory_bytes": "synaptic_memory_bytes_per_core"}


@dataclass
class Tile:
    """One layer block on one core. ``start``/``stop``: per output axis, ``(C, H, W)`` for a
    conv, ``(N,)`` for dense (stop exclusive)."""

    layer: str
    start: Tuple[int, ...]
    stop: Tuple[int, ...]
    neurons: int
    input_axons: int
    output_axons: int
    output_routes: int
    synapses: int
    memory_bytes: int
    core: int = -1
    chip: int = -1

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.start, self.stop))


@dataclass
class CoreUsage:
    """What one core holds: the sums over its tiles (which belong to different layers)."""

    core: int
    chip: int
    layers: List[str] = field(default_factory=list)
    neurons: int = 0
    input_axons: int = 0
    output_axons: int = 0
    memory_bytes: int = 0

    def add(self, tile: Tile) -> None:
        self.layers.append(tile.layer)
        for key in LIMIT_KEYS:
            setattr(self, key, getattr(self, key) + getattr(tile, key))

    def fits(self, tile: Tile, limits: Dict[str, Any]) -> bool:
        """Whether ``tile`` can join this core: no tile of its layer here, sums within limits."""
        return tile.layer not in self.layers and all(
            getattr(self, key) + getattr(tile, key) <= int(limits[lim]) for key, lim in LIMIT_KEYS.items())

    def shares(self, limits: Dict[str, Any]) -> Dict[str, float]:
        """Each figure as a fraction of its per-core limit."""
        return {key: getattr(self, key) / int(limits[lim]) for key, lim in LIMIT_KEYS.items()}


@dataclass
class LayerTiling:
    """A layer cut into tiles: ``grid`` blocks per output axis, ``tile_shape`` the largest block."""

    name: str
    kind: str
    grid: Tuple[int, ...]
    tile_shape: Tuple[int, ...]
    fan_in: int
    synapses: int
    tiles: List[Tile] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """The entry of ``IntNetwork.placement`` (JSON; docs/cli.md)."""
        chips = sorted({t.chip for t in self.tiles})
        return {"layer": self.name, "kind": self.kind, "cores": len(self.tiles),
                "first_core": self.tiles[0].core, "chip": chips[0], "chips": chips,
                "synapses": self.synapses, "fan_in": self.fan_in,
                "stored_synapses": sum(t.synapses for t in self.tiles),
                "memory_bytes": sum(t.memory_bytes for t in self.tiles),
                "grid": list(self.grid), "tile_shape": list(self.tile_shape),
                "tiles": [{**asdict(t), "start": list(t.start), "stop": list(t.stop)} for t in self.tiles]}


def tiles_of(entry: Dict[str, Any]) -> List[Tile]:
    """The tiles of one ``IntNetwork.placement`` entry (as written by :meth:`LayerTiling.to_dict`)."""
    return [Tile(**{**t, "start": tuple(t["start"]), "stop": tuple(t["stop"])}) for t in entry.get("tiles", [])]


def core_limits(net: IntNetwork) -> Dict[str, int]:
    """The profile limits the network was placed under (stored as ``limit_<key>`` metadata by
    :func:`place`); empty for a network placed before they were recorded."""
    return {key[len("limit_"):]: int(v) for key, v in net.metadata.items() if key.startswith("limit_")}


def core_usage(placement: Sequence[Dict[str, Any]]) -> List[CoreUsage]:
    """Per-core sums of a placement, ordered by core."""
    cores: Dict[int, CoreUsage] = {}
    for entry in placement:
        for tile in tiles_of(entry):
            cores.setdefault(tile.core, CoreUsage(tile.core, tile.chip)).add(tile)
    return [cores[k] for k in sorted(cores)]


# ----------------------------------------------------------------------------- geometry

def block_bounds(n: int, k: int) -> np.ndarray:
    """``k + 1`` bounds cutting ``range(n)`` into ``k`` blocks whose sizes differ by at most one."""
    return (np.arange(k + 1) * n) // k


def block_counts(n: int) -> List[int]:
    """The block counts along an axis of length ``n`` that give distinct largest block sizes."""
    return sorted({-(-n // size) for size in range(1, n + 1)})


@dataclass
class ConvAxis:
    """One spatial axis of a conv cut into ``k`` blocks: ``reads[i]`` marks the input positions
    block ``i``'s outputs read, ``taps[i]`` the in-bounds kernel taps summed over its outputs."""

    bounds: np.ndarray
    reads: np.ndarray
    taps: np.ndarray

    @classmethod
    def cut(cls, n_in: int, n_out: int, kernel: int, stride: int, padding: int, k: int) -> "ConvAxis":
        bounds = block_bounds(n_out, k)
        reads = np.stack([axis_reads(n_in, lo, hi, kernel, stride, padding) for lo, hi in zip(bounds, bounds[1:])])
        taps = axis_taps(n_in, n_out, kernel, stride, padding).sum(1)
        return cls(bounds, reads, np.add.reduceat(taps, bounds[:-1]))


def axis_reads(n_in: int, lo: int, hi: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Bool mask over ``n_in`` input positions: those that outputs ``lo .. hi - 1`` read."""
    pos = (np.arange(lo, hi)[:, None] * stride - padding + np.arange(kernel)[None, :]).ravel()
    mask = np.zeros(n_in, bool)
    mask[pos[(pos >= 0) & (pos < n_in)]] = True
    return mask


def conv_axes(layer, k_rows: int, k_cols: int) -> Tuple[ConvAxis, ConvAxis]:
    """Row and column axes of conv ``layer`` cut into ``k_rows`` x ``k_cols`` blocks."""
    _, _, kh, kw = layer.weight.shape
    _, h, w = layer.input_shape
    _, h_out, w_out = layer.output_shape
    return (ConvAxis.cut(h, h_out, kh, layer.stride[0], layer.padding[0], k_rows),
            ConvAxis.cut(w, w_out, kw, layer.stride[1], layer.padding[1], k_cols))


def input_mask(layer, start: Sequence[int], stop: Sequence[int]) -> np.ndarray:
    """Bool mask over the layer's flattened (C-order) inputs: the presynaptic neurons of the
    block ``[start, stop)`` of its outputs."""
    if layer.kind == "dense":
        return (np.asarray(layer.weight)[start[0]:stop[0]] != 0).any(axis=0)
    _, _, kh, kw = layer.weight.shape
    c_in, h, w = layer.input_shape
    rows = axis_reads(h, start[1], stop[1], kh, layer.stride[0], layer.padding[0])
    cols = axis_reads(w, start[2], stop[2], kw, layer.stride[1], layer.padding[1])
    return np.broadcast_to(rows[None, :, None] & cols[None, None, :], (c_in, h, w)).ravel()


def max_fan_in(layer) -> int:
    """The largest number of presynaptic neurons of one neuron (conv: structural; dense: non-zero;
    a layer made by the fan-in split: its block structure, :attr:`IntLayer.fan_in`)."""
    if getattr(layer, "info", {}).get("split"):
        return layer.fan_in
    if layer.kind == "dense":
        return int((np.asarray(layer.weight) != 0).sum(axis=1).max(initial=0))
    rows, cols = conv_axes(layer, layer.output_shape[1], layer.output_shape[2])
    return int(layer.input_shape[0] * rows.taps.max() * cols.taps.max())


# ----------------------------------------------------------------------------- consumers

@dataclass
class Consumer:
    """How the next layer's ``n_tiles`` tiles read this layer's neurons: ``per_neuron`` counts the
    tiles reading each neuron (flattened, int64); ``conv`` = (channel blocks, row axis, column
    axis) of a conv next layer (every tile reads all channels), ``dense`` = (n_tiles, n) bool
    reads of a dense one."""

    n_tiles: int
    per_neuron: np.ndarray
    conv: Optional[Tuple[int, ConvAxis, ConvAxis]] = None
    dense: Optional[np.ndarray] = None

    def dest_cores(self, start: Sequence[int], stop: Sequence[int], shape: Tuple[int, ...]) -> int:
        """Distinct next-layer tiles reading any neuron of the block ``[start, stop)``."""
        if self.n_tiles == 0:
            return 0
        if self.conv is not None:
            kc, rows, cols = self.conv
            r = rows.reads[:, start[1]:stop[1]].any(1).sum()
            c = cols.reads[:, start[2]:stop[2]].any(1).sum()
            return int(kc * r * c)
        block = self.dense.reshape((self.n_tiles, *shape))
        index = (slice(None),) + tuple(slice(a, b) for a, b in zip(start, stop))
        return int(block[index].reshape(self.n_tiles, -1).any(1).sum())


def no_consumer(n: int) -> Consumer:
    return Consumer(0, np.zeros(n, np.int64))


def conv_consumer(next_layer, grid: Tuple[int, int, int]) -> Consumer:
    kc, kr, kk = grid
    rows, cols = conv_axes(next_layer, kr, kk)
    c, h, w = next_layer.input_shape
    per = kc * np.outer(rows.reads.sum(0), cols.reads.sum(0))
    return Consumer(kc * kr * kk, np.broadcast_to(per[None], (c, h, w)).ravel().astype(np.int64),
                    conv=(kc, rows, cols))


def dense_consumer(next_layer, tiles: Sequence[Tile]) -> Consumer:
    starts = np.array([t.start[0] for t in tiles])
    reads = np.logical_or.reduceat(np.asarray(next_layer.weight) != 0, starts, axis=0)
    return Consumer(len(tiles), reads.sum(0).astype(np.int64), dense=reads)


# ----------------------------------------------------------------------------- tiling

class _Refusal:
    """The first limit that even a one-neuron tile breaks, for the error message."""

    def __init__(self, layer, limits: Dict[str, Any], profile: str):
        self.layer, self.limits, self.profile = layer, limits, profile

    def raise_for(self, what: str, figure: int) -> None:
        name, limit = self.layer.name, int(self.limits[LIMIT_KEYS[what]])
        if what == "input_axons":
            conv = self.layer.kind == "conv"
            shape = ("C_in x kh x kw = " + " x ".join(str(d) for d in self.layer.weight.shape[1:]) if conv
                     else "its inputs with non-zero weights")
            change = "fewer input channels or a smaller kernel" if conv else "fewer inputs (pool before it)"
            raise TTFSError(f"layer {name}: one neuron's fan-in is {figure:,} ({shape}), over the {limit:,} input "
                            f"axons per core of {self.profile}",
                            f"give that layer {change}, or use a target with more input axons per core")
        if what == "memory_bytes":
            raise TTFSError(f"layer {name}: one neuron's synapses need {figure:,} bytes, over the {limit:,} bytes of "
                            f"synaptic memory per core of {self.profile}",
                            "give that layer fewer inputs or use a target with more synaptic memory per core")
        raise TTFSError(f"layer {name}: a tile feeds {figure:,} cores of the next layer, over the {limit:,} "
                        f"output axons per core of {self.profile}",
                        "give the next layer fewer channels or use a target with more output axons per core")


def _limits(limits: Dict[str, Any]) -> Tuple[int, int, int, int]:
    return tuple(int(limits[LIMIT_KEYS[k]]) for k in ("neurons", "input_axons", "output_axons", "memory_bytes"))


def _dense_fits(nz: np.ndarray, syn: np.ndarray, bounds: np.ndarray, limits: Tuple[int, int, int, int],
                bytes_per: int) -> bool:
    n_max, a_in, _, m_max = limits
    return bool(np.diff(bounds).max() <= n_max
                and np.logical_or.reduceat(nz, bounds[:-1], axis=0).sum(1).max() <= a_in
                and np.add.reduceat(syn, bounds[:-1]).max() * bytes_per <= m_max)


def _greedy_ranges(nz: np.ndarray, syn: np.ndarray, limits: Tuple[int, int, int, int], bytes_per: int) -> np.ndarray:
    """Bounds of consecutive neuron ranges, each filled while it fits: the fewest ranges possible."""
    n_max, a_in, _, m_max = limits
    bounds, reads, count, memory = [0], np.zeros(nz.shape[1], bool), 0, 0
    for i in range(len(nz)):
        merged = reads | nz[i]
        if count and (count + 1 > n_max or merged.sum() > a_in or (memory + syn[i]) * bytes_per > m_max):
            bounds.append(i)
            merged, count, memory = nz[i].copy(), 0, 0
        reads, count, memory = merged, count + 1, memory + int(syn[i])
    return np.array(bounds + [len(nz)])


def _tile_dense(layer, consumer: Consumer, limits: Dict[str, Any], bytes_per: int, refuse: _Refusal) -> LayerTiling:
    """Consecutive neuron ranges: as many as the greedy fill needs, of equal size when that fits."""
    n = layer.n_neurons
    nz = np.asarray(layer.weight) != 0
    syn = nz.sum(1)
    if int(syn.max(initial=0)) * bytes_per > _limits(limits)[3]:
        refuse.raise_for("memory_bytes", int(syn.max()) * bytes_per)
    b = _greedy_ranges(nz, syn, _limits(limits), bytes_per)
    even = block_bounds(n, len(b) - 1)
    if _dense_fits(nz, syn, even, _limits(limits), bytes_per):
        b = even
    axons = np.logical_or.reduceat(nz, b[:-1], axis=0).sum(1)
    stored = np.add.reduceat(syn, b[:-1])
    routes = np.add.reduceat(consumer.per_neuron, b[:-1])
    tiles = [Tile(layer.name, (int(b[i]),), (int(b[i + 1]),), int(b[i + 1] - b[i]), int(axons[i]),
                  consumer.dest_cores((b[i],), (b[i + 1],), (n,)), int(routes[i]), int(stored[i]),
                  int(stored[i]) * bytes_per)
             for i in range(len(b) - 1)]
    return LayerTiling(layer.name, "dense", (len(tiles),), (int(np.diff(b).max()),), int(syn.max(initial=0)),
                       int(nz.size), tiles)


def _conv_grid(layer, limits: Dict[str, Any], bytes_per: int, shared: bool, refuse: _Refusal):
    """The fewest-tiles grid ``(channel blocks, row axis, column axis)`` meeting the per-core limits."""
    c_out, c_in, kh, kw = layer.weight.shape
    _, h, w = layer.output_shape
    n_max, a_in, _, m_max = _limits(limits)
    best, smallest_memory = None, None
    row_axes = {k: conv_axes(layer, k, 1)[0] for k in block_counts(h)}
    col_axes = {k: conv_axes(layer, 1, k)[1] for k in block_counts(w)}
    for kr, rows in row_axes.items():
        for kk, cols in col_axes.items():
            if best is not None and kr * kk > best[0][0]:
                continue
            if c_in * rows.reads.sum(1).max() * cols.reads.sum(1).max() > a_in:
                continue
            area = int(np.diff(rows.bounds).max() * np.diff(cols.bounds).max())
            per_channel = (c_in * kh * kw if shared else c_in * int(rows.taps.max()) * int(cols.taps.max())) * bytes_per
            smallest_memory = min(per_channel, smallest_memory or per_channel)
            tc = min(n_max // area, m_max // per_channel, c_out)
            if tc < 1:
                continue
            kc = math.ceil(c_out / tc)
            key = (kc * kr * kk, kc * c_in * int(rows.reads.sum()) * int(cols.reads.sum()))
            if best is None or key < best[0]:
                best = (key, kc, rows, cols)
    if best is None:  # the fan-in fits (checked first), so even one-neuron tiles overflow the memory
        refuse.raise_for("memory_bytes", int(smallest_memory or 0))
    return best[1:]


def _tile_conv(layer, consumer: Consumer, limits: Dict[str, Any], bytes_per: int, shared: bool,
               refuse: _Refusal) -> LayerTiling:
    c_out, c_in, kh, kw = layer.weight.shape
    _, h, w = layer.output_shape
    kc, rows, cols = _conv_grid(layer, limits, bytes_per, shared, refuse)
    routes3 = consumer.per_neuron.reshape(c_out, h, w)
    bc = block_bounds(c_out, kc)
    routes = np.add.reduceat(np.add.reduceat(np.add.reduceat(routes3, bc[:-1], axis=0), rows.bounds[:-1], axis=1),
                             cols.bounds[:-1], axis=2)
    tiles = []
    for i in range(kc):
        for r in range(len(rows.bounds) - 1):
            for c in range(len(cols.bounds) - 1):
                start = (int(bc[i]), int(rows.bounds[r]), int(cols.bounds[c]))
                stop = (int(bc[i + 1]), int(rows.bounds[r + 1]), int(cols.bounds[c + 1]))
                ch = stop[0] - start[0]
                syn = ch * c_in * int(rows.taps[r]) * int(cols.taps[c])
                tiles.append(Tile(layer.name, start, stop, ch * (stop[1] - start[1]) * (stop[2] - start[2]),
                                  c_in * int(rows.reads[r].sum()) * int(cols.reads[c].sum()),
                                  consumer.dest_cores(start, stop, (c_out, h, w)), int(routes[i, r, c]), syn,
                                  (ch * c_in * kh * kw if shared else syn) * bytes_per))
    grid = (kc, len(rows.bounds) - 1, len(cols.bounds) - 1)
    shape = (int(np.diff(bc).max()), int(np.diff(rows.bounds).max()), int(np.diff(cols.bounds).max()))
    synapses = c_out * c_in * int(rows.taps.sum()) * int(cols.taps.sum())
    return LayerTiling(layer.name, "conv", grid, shape, max_fan_in(layer), synapses, tiles)


def tile_layers(net: IntNetwork, limits: Dict[str, Any], target: str) -> List[LayerTiling]:
    """Tile every layer, last to first (a tile's output axons depend on the next layer's tiles);
    ``limits`` is a profile's ``[limits]`` table, ``target`` its name for error messages.
    A neuron whose fan-in exceeds the input axons is refused first, naming the earliest such layer."""
    for layer in net.layers:
        fan_in = max_fan_in(layer)
        if fan_in > int(limits["input_axons_per_core"]):
            _Refusal(layer, limits, target).raise_for("input_axons", fan_in)
    bytes_per = int(limits["bytes_per_synapse"])
    shared = bool(limits.get("conv_weight_sharing"))
    tilings: List[Optional[LayerTiling]] = [None] * len(net.layers)
    consumer = no_consumer(net.layers[-1].n_neurons) if net.layers else None
    for i in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[i]
        refuse = _Refusal(layer, limits, target)
        if layer.kind == "dense":
            tiling = _tile_dense(layer, consumer, limits, bytes_per, refuse)
        else:
            tiling = _tile_conv(layer, consumer, limits, bytes_per, shared, refuse)
        worst = max(t.output_axons for t in tiling.tiles)
        if worst > int(limits["output_axons_per_core"]):
            refuse.raise_for("output_axons", worst)
        tilings[i] = tiling
        if i > 0:
            consumer = (dense_consumer(layer, tiling.tiles) if layer.kind == "dense"
                        else conv_consumer(layer, tiling.grid))
    return tilings


def pack_cores(tilings: Iterable[LayerTiling], limits: Dict[str, Any]) -> List[CoreUsage]:
    """Put tiles on cores in layer order; a tile joins the previous core when it fits. Cores are
    numbered by position here; :func:`assign_chips` gives them their chips and final numbers."""
    cores: List[CoreUsage] = []
    for tiling in tilings:
        for tile in tiling.tiles:
            if not cores or not cores[-1].fits(tile, limits):
                cores.append(CoreUsage(len(cores), 0))
            cores[-1].add(tile)
            tile.core = cores[-1].core
    return cores


def core_routes(net: IntNetwork, tilings: Sequence[LayerTiling], n_cores: int) -> np.ndarray:
    """``(n_cores, n_cores)`` (neuron, destination core) routes between packed cores: with
    fire-once neurons, the most spikes per inference that can travel from one core to another."""
    routes = np.zeros((n_cores, n_cores))
    for l in range(len(tilings) - 1):
        src, dst = net.layers[l], net.layers[l + 1]
        for b in tilings[l + 1].tiles:
            reads = input_mask(dst, b.start, b.stop).reshape(src.output_shape)
            for a in tilings[l].tiles:
                routes[a.core, b.core] += reads[tuple(slice(x, y) for x, y in zip(a.start, a.stop))].sum()
    return routes


def chip_segments(routes: np.ndarray, per_chip: int, chips: int) -> Tuple[List[int], float]:
    """Cut the core sequence into at most ``chips`` runs of at most ``per_chip`` cores so that the
    fewest routes join cores of different runs (dynamic programming: a new run ``[j, i)`` adds
    the routes between it and the cores before ``j``; ties: fewer chips). Returns (the first
    position of each run, routes between chips)."""
    n = len(routes)
    both = routes + routes.T
    prefix = np.zeros((n + 1, n + 1))
    prefix[1:, 1:] = both.cumsum(0).cumsum(1)  # prefix[x, y]: routes between positions < x and < y
    diag = np.diag(prefix)
    cost = np.full((chips + 1, n + 1), np.inf)
    back = np.zeros((chips + 1, n + 1), np.int64)
    cost[0, 0] = 0.0
    for k in range(1, min(chips, n) + 1):
        for i in range(1, n + 1):
            j = np.arange(max(0, i - per_chip), i)
            total = cost[k - 1, j] + prefix[j, i] - diag[j]  # routes between [0, j) and [j, i)
            best = int(np.argmin(total))
            cost[k, i], back[k, i] = total[best], j[best]
    best = cost[:, n].min()
    k = int(np.flatnonzero(cost[:, n] <= best + 1e-9)[0])
    starts, i = [], n
    while k > 0:
        i = int(back[k, i])
        starts.append(i)
        k -= 1
    return starts[::-1], float(best)


def assign_chips(net: IntNetwork, tilings: Sequence[LayerTiling], cores: List[CoreUsage],
                 limits: Dict[str, Any]) -> int:
    """Give the packed cores their chips (one run of consecutive cores per chip, runs chosen by
    :func:`chip_segments`) and their numbers (``chip x cores_per_chip + place on the chip``);
    returns the routes that cross chips (0 on one chip)."""
    per_chip, chips = int(limits["cores_per_chip"]), int(limits["chips"])
    if len(cores) <= per_chip:
        starts, crossing = [0], 0.0
    else:
        starts, crossing = chip_segments(core_routes(net, tilings, len(cores)), per_chip, chips)
    number = {}
    for chip, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(cores)])):
        for position in range(lo, hi):
            number[position] = chip * per_chip + position - lo
            cores[position].core, cores[position].chip = number[position], chip
    for tiling in tilings:
        for tile in tiling.tiles:
            tile.core = number[tile.core]
            tile.chip = tile.core // per_chip
    return int(round(crossing))


def place(net: IntNetwork, profile: HardwareProfile) -> List[Dict[str, Any]]:
    """Tile and place ``net`` on ``profile``; the ``IntNetwork.placement`` list (one entry per layer).

    Raises :class:`TTFSError` (one line) when a layer cannot be split to fit or the chips are
    too few. The chip count is ``profile.limits["chips"]`` (``compile --chips`` overrides it).
    """
    limits = {"output_axons_per_core": profile.limits["input_axons_per_core"], **profile.limits}
    tilings = tile_layers(net, limits, profile.name)
    cores = pack_cores(tilings, limits)
    chips, per_chip = int(limits["chips"]), int(limits["cores_per_chip"])
    if len(cores) > chips * per_chip:
        need = math.ceil(len(cores) / per_chip)
        raise TTFSError(f"network needs {len(cores)} cores but {profile.name} has {chips * per_chip} "
                        f"({chips} chip(s) x {per_chip})",
                        f"use --chips {need} or more, a profile with more chips, or a smaller network")
    net.metadata["interchip_routes"] = assign_chips(net, tilings, cores, limits)
    net.metadata.update({f"limit_{key}": int(limits[key]) for key in ("cores_per_chip", "chips", *LIMIT_KEYS.values())})
    return [tiling.to_dict() for tiling in tilings]
