"""Pass 4: split every layer into core-sized tiles and place the tiles on cores and chips.

**Tiles.** A convolution's output ``(C, H, W)`` is cut into a grid of blocks (channel range x
row range x column range); a dense layer's neurons into consecutive ranges. Along an axis of
length ``n`` cut into ``k`` blocks, block ``i`` is ``[i n // k, (i + 1) n // k)`` (dense ranges
too, unless only the uneven ranges of a greedy fill meet the limits).

**Per-tile figures**, all from geometry and the weights, never from a materialized
convolution (so compiling costs memory in proportion to weights and neurons):

* ``neurons``;
* ``input_axons``: the distinct presynaptic neurons of the tile. For a convolution, per input
  channel the tile reads, its receptive field: the input rows x columns its output block's taps
  land on, every tap inside the input counted, zero weights included (a conv stores its kernel
  whole). A layer made by the fan-in split reads only what its synapse mask connects
  (:mod:`ttfs_deploy.compile.conv_reads`): a level-1 relay group its own input channels (and,
  when a group is a run of kernel entries, the edge channels with only some taps), a 1x1
  summing layer per output channel its relay inputs; for a dense layer, the inputs with a
  non-zero weight in the tile's rows;
* ``output_axons``: the distinct destination cores of the tile (cores of the next layer that read
  any of its neurons); the last layer's spikes go to the host and need none. ``output_routes``
  counts (neuron, destination core) pairs, the entries a Loihi 1 output-axon table would hold;
  it is reported, not limited;
* ``synapses``: synapses stored on the core; ``memory_bytes``: ``synapses x bytes_per_synapse``,
  or, when the profile shares conv weights, the kernel entries of the tile's channels
  (``channels x C_in x kh x kw x bytes_per_synapse`` for an ordinary conv; a relay's group only).

**Tiling.** Layers are tiled from the last to the first, because a layer's output axons depend
on how the next layer is tiled. A convolution tries every (row blocks, column blocks) pair with
the fewest channel blocks that fit (channel blocks never straddle the relay groups of a split
layer: each group is cut alike), and takes the fewest tiles; ties go to the fewest input
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
the input axons, its synapses, or with shared conv weights one output channel's kernel, over
the memory, a tile's destination cores over the output axons), or more cores than the chips have.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.compile.conv_reads import (ChannelBlocks, ConvReaders, ConvReads, PatternFigures, block_bounds,
                                             block_counts)
from ttfs_deploy.ir.connectivity import connections
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

def layer_reads(layer):
    """What a tile of ``layer`` reads: its :class:`ConvReads` (conv) or None (dense)."""
    return ConvReads.of(layer) if layer.kind == "conv" else None


def input_mask(layer, start: Sequence[int], stop: Sequence[int], reads: Optional[ConvReads] = None) -> np.ndarray:
    """Bool mask over the layer's flattened (C-order) inputs: the presynaptic neurons of the
    block ``[start, stop)`` of its outputs (``reads``: the layer's :class:`ConvReads`, to reuse)."""
    if layer.kind == "dense":
        return (np.asarray(layer.weight)[start[0]:stop[0]] != 0).any(axis=0)
    return (reads or ConvReads.of(layer)).input_mask(start, stop).ravel()


def max_fan_in(layer, reads: Optional[ConvReads] = None) -> int:
    """The largest number of presynaptic neurons of one neuron (conv: in-bounds taps of its
    connectivity, :class:`ConvReads`; dense: non-zero weights, or for a layer made by the fan-in
    split its block structure, :attr:`IntLayer.fan_in`)."""
    if layer.kind == "conv":
        return (reads or ConvReads.of(layer)).max_fan_in()
    if getattr(layer, "split", None) is not None:
        return layer.fan_in
    return int((np.asarray(layer.weight) != 0).sum(axis=1).max(initial=0))


# ----------------------------------------------------------------------------- consumers

@dataclass
class Consumer:
    """How the next layer's ``n_tiles`` tiles read this layer's neurons: ``per_neuron`` counts the
    tiles reading each neuron (flattened, int64); ``conv``: the tiles of a conv next layer,
    ``dense`` = (n_tiles, n) bool reads of a dense one."""

    n_tiles: int
    per_neuron: np.ndarray
    conv: Optional[ConvReaders] = None
    dense: Optional[np.ndarray] = None

    def dest_cores(self, start: Sequence[int], stop: Sequence[int], shape: Tuple[int, ...]) -> int:
        """Distinct next-layer tiles reading any neuron of the block ``[start, stop)``."""
        if self.n_tiles == 0:
            return 0
        if self.conv is not None:
            return self.conv.dest_tiles(start, stop)
        block = self.dense.reshape((self.n_tiles, *shape))
        index = (slice(None),) + tuple(slice(a, b) for a, b in zip(start, stop))
        return int(block[index].reshape(self.n_tiles, -1).any(1).sum())


def no_consumer(n: int) -> Consumer:
    return Consumer(0, np.zeros(n, np.int64))


def conv_consumer(readers: ConvReaders) -> Consumer:
    return Consumer(readers.n_tiles, readers.per_neuron(), conv=readers)


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
        conv = self.layer.kind == "conv"
        split = self.layer.split
        if what == "input_axons":
            if split:
                shape, change = f"its group of the fan-in split of {split.of}", "fewer inputs"
            elif conv:
                shape = "C_in x kh x kw = " + " x ".join(str(d) for d in self.layer.weight.shape[1:])
                change = "fewer input channels or a smaller kernel"
                if figure != int(np.prod(self.layer.weight.shape[1:])):
                    shape = f"C_in {self.layer.weight.shape[1]} x the kernel taps inside the input"
            else:
                shape, change = "its inputs with non-zero weights", "fewer inputs (pool before it)"
            raise TTFSError(f"layer {name}: one neuron's fan-in is {figure:,} ({shape}), over the {limit:,} input "
                            f"axons per core of {self.profile}",
                            f"give that layer {change}, or use a target with more input axons per core")
        if what == "memory_bytes":
            whose = ("one output channel's kernel needs" if conv and self.limits.get("conv_weight_sharing")
                     else "one neuron's synapses need")
            raise TTFSError(f"layer {name}: {whose} {figure:,} bytes, over the {limit:,} bytes of "
                            f"synaptic memory per core of {self.profile}",
                            "give that layer fewer inputs or use a target with more synaptic memory per core")
        if what == "neurons":
            raise TTFSError(f"layer {name}: one neuron is over the {limit:,} neurons per core of {self.profile}",
                            "use a target with at least one neuron per core")
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
                       connections(layer), tiles)


@dataclass
class _ConvFigures:
    """Per-tile figures of one conv tiling, ``(blocks, kr, kk)`` each."""

    neurons: np.ndarray
    input_axons: np.ndarray
    synapses: np.ndarray
    memory_bytes: np.ndarray


def _conv_figures(blocks: ChannelBlocks, fig: PatternFigures, bytes_per: int, shared: bool) -> _ConvFigures:
    P = fig.area.shape[0]
    spatial = np.outer(fig.rows.sizes, fig.cols.sizes)
    synapses = np.einsum("bp,prc->brc", blocks.pairs, fig.taps)
    memory = ((blocks.pairs @ fig.size)[:, None, None] * np.ones_like(spatial)[None] if shared else synapses) * bytes_per
    return _ConvFigures(blocks.sizes[:, None, None] * spatial[None],
                        (blocks.inputs @ fig.area.reshape(P, -1)).reshape((-1,) + spatial.shape), synapses, memory)


def _conv_fits(blocks: ChannelBlocks, fig: PatternFigures, spatial_max: int, limits: Tuple[int, int, int, int],
               bytes_per: int, shared: bool) -> bool:
    """Whether every tile of the cut meets the neuron, input-axon and memory limits (distinct
    channel-block rows only, so that shared segments cost one row each)."""
    n_max, a_in, _, m_max = limits
    if int(blocks.sizes.max()) * spatial_max > n_max:
        return False
    P = fig.area.shape[0]
    inputs = np.unique(blocks.inputs, axis=0)
    if (inputs @ fig.area.reshape(P, -1)).max() > a_in:
        return False
    pairs = np.unique(blocks.pairs, axis=0)
    memory = (pairs @ fig.size).max() if shared else (pairs @ fig.taps.reshape(P, -1)).max()
    return int(memory) * bytes_per <= m_max


def conv_grid(reads: ConvReads, limits: Dict[str, Any]) -> Optional[Tuple[ChannelBlocks, PatternFigures]]:
    """The fewest-tiles cut (channel blocks within each segment, row blocks, column blocks)
    meeting the per-core limits, ties to the fewest input axons in total; None if none does."""
    g = reads.geometry
    bytes_per, shared = int(limits["bytes_per_synapse"]), bool(limits.get("conv_weight_sharing"))
    lim = _limits(limits)
    kcs = block_counts(reads.segment_size)
    row_axes = {k: g.rows(block_bounds(g.h_out, k)) for k in block_counts(g.h_out)}
    col_axes = {k: g.cols(block_bounds(g.w_out, k)) for k in block_counts(g.w_out)}
    best = None
    for kr, rows in row_axes.items():
        for kk, cols in col_axes.items():
            if best is not None and reads.segments * kr * kk > best[0][0]:
                continue
            fig = reads.figures(rows, cols)
            spatial_max = int(rows.sizes.max() * cols.sizes.max())

            def fits(i: int) -> bool:
                return _conv_fits(reads.blocks(kcs[i]), fig, spatial_max, lim, bytes_per, shared)

            if not fits(len(kcs) - 1):
                continue
            lo, hi = 0, len(kcs) - 1          # the first count that fits (fits is monotone in the count)
            while lo < hi:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
            blocks = reads.blocks(kcs[lo])
            key = (len(blocks.segment) * kr * kk, int(blocks.inputs.sum(0) @ fig.area.sum((1, 2))))
            if best is None or key < best[0]:
                best = (key, blocks, fig)
    return None if best is None else best[1:]


def conv_tiles(reads: ConvReads, limits: Dict[str, Any]) -> Optional[int]:
    """The number of tiles :func:`conv_grid` cuts a conv into (None: no cut fits)."""
    grid = conv_grid(reads, limits)
    return None if grid is None else len(grid[0].segment) * grid[1].area.shape[1] * grid[1].area.shape[2]


def _refuse_conv(reads: ConvReads, limits: Dict[str, Any], refuse: _Refusal) -> None:
    """Raise for the limit that even one-neuron tiles break (the finest cut, the most permissive)."""
    fig = reads.finest()
    bytes_per, shared = int(limits["bytes_per_synapse"]), bool(limits.get("conv_weight_sharing"))
    one = _conv_figures(reads.blocks(reads.segment_size), fig, bytes_per, shared)
    n_max, a_in, _, m_max = _limits(limits)
    for what, figures, limit in (("neurons", one.neurons, n_max), ("input_axons", one.input_axons, a_in),
                                 ("memory_bytes", one.memory_bytes, m_max)):
        if int(figures.max()) > limit:
            refuse.raise_for(what, int(figures.max()))
    raise AssertionError("the finest conv cut fits, so a coarser one was found")


def _tile_conv(layer, reads: ConvReads, consumer: Consumer, limits: Dict[str, Any],
               refuse: _Refusal) -> Tuple[LayerTiling, ConvReaders]:
    c_out, h, w = layer.output_shape
    grid = conv_grid(reads, limits)
    if grid is None:
        _refuse_conv(reads, limits, refuse)
    blocks, fig = grid
    rows, cols = fig.rows, fig.cols
    bytes_per, shared = int(limits["bytes_per_synapse"]), bool(limits.get("conv_weight_sharing"))
    figures = _conv_figures(blocks, fig, bytes_per, shared)
    routes3 = consumer.per_neuron.reshape(c_out, h, w)
    bc = blocks.bounds
    routes = np.add.reduceat(np.add.reduceat(np.add.reduceat(routes3, bc[:-1], axis=0), rows.bounds[:-1], axis=1),
                             cols.bounds[:-1], axis=2)
    tiles = []
    for i in range(len(bc) - 1):
        for r in range(len(rows.bounds) - 1):
            for c in range(len(cols.bounds) - 1):
                start = (int(bc[i]), int(rows.bounds[r]), int(cols.bounds[c]))
                stop = (int(bc[i + 1]), int(rows.bounds[r + 1]), int(cols.bounds[c + 1]))
                tiles.append(Tile(layer.name, start, stop, int(figures.neurons[i, r, c]),
                                  int(figures.input_axons[i, r, c]), consumer.dest_cores(start, stop, (c_out, h, w)),
                                  int(routes[i, r, c]), int(figures.synapses[i, r, c]),
                                  int(figures.memory_bytes[i, r, c])))
    grid_shape = (len(bc) - 1, len(rows.bounds) - 1, len(cols.bounds) - 1)
    shape = (int(blocks.sizes.max()), int(rows.sizes.max()), int(cols.sizes.max()))
    tiling = LayerTiling(layer.name, "conv", grid_shape, shape, reads.max_fan_in(),
                         int(figures.synapses.sum()), tiles)
    return tiling, ConvReaders(reads, blocks, fig)


def tile_layers(net: IntNetwork, limits: Dict[str, Any], target: str) -> List[LayerTiling]:
    """Tile every layer, last to first (a tile's output axons depend on the next layer's tiles);
    ``limits`` is a profile's ``[limits]`` table, ``target`` its name for error messages.
    A neuron whose fan-in exceeds the input axons is refused first, naming the earliest such layer."""
    reads = [layer_reads(layer) for layer in net.layers]
    for layer, r in zip(net.layers, reads):
        fan_in = max_fan_in(layer, r)
        if fan_in > int(limits["input_axons_per_core"]):
            _Refusal(layer, limits, target).raise_for("input_axons", fan_in)
    bytes_per = int(limits["bytes_per_synapse"])
    tilings: List[Optional[LayerTiling]] = [None] * len(net.layers)
    consumer = no_consumer(net.layers[-1].n_neurons) if net.layers else None
    for i in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[i]
        refuse = _Refusal(layer, limits, target)
        if layer.kind == "dense":
            tiling = _tile_dense(layer, consumer, limits, bytes_per, refuse)
        else:
            tiling, readers = _tile_conv(layer, reads[i], consumer, limits, refuse)
        worst = max(t.output_axons for t in tiling.tiles)
        if worst > int(limits["output_axons_per_core"]):
            refuse.raise_for("output_axons", worst)
        tilings[i] = tiling
        if i > 0:
            consumer = dense_consumer(layer, tiling.tiles) if layer.kind == "dense" else conv_consumer(readers)
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
        dst_reads = layer_reads(dst)
        src_core = np.empty(src.n_neurons, np.int64)    # the core of each source neuron
        index = np.arange(src.n_neurons).reshape(src.output_shape)
        for a in tilings[l].tiles:
            src_core[index[tuple(slice(x, y) for x, y in zip(a.start, a.stop))].ravel()] = a.core
        for b in tilings[l + 1].tiles:
            reads = input_mask(dst, b.start, b.stop, dst_reads)
            routes[:, b.core] += np.bincount(src_core[reads], minlength=n_cores)
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


def profile_limits(profile: HardwareProfile) -> Dict[str, Any]:
    """The profile's ``[limits]``; output axons per core default to its input axons."""
    return {"output_axons_per_core": profile.limits["input_axons_per_core"], **profile.limits}


def place(net: IntNetwork, profile: HardwareProfile) -> List[Dict[str, Any]]:
    """Tile and place ``net`` on ``profile``; the ``IntNetwork.placement`` list (one entry per layer).

    Raises :class:`TTFSError` (one line) when a layer cannot be split to fit or the chips are
    too few. The chip count is ``profile.limits["chips"]`` (``compile --chips`` overrides it).
    """
    limits = profile_limits(profile)
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
