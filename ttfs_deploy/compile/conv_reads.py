"""Which inputs a block of a convolution's outputs reads, from geometry and the synapse mask.

A convolution's output channels come in ``segments`` of equal size (1 for an ordinary conv; the
relay groups of a layer made by the fan-in split, :mod:`ttfs_deploy.compile.split`). Within a
segment every input channel is either

* **shared**: read by every output channel of the segment with one tap pattern (an ordinary
  conv: every channel, all ``kh x kw`` taps; a level-1 relay group: its channels, the edge
  channels of a run of kernel entries with part of the taps), or
* **owned**: read by exactly one output channel of the segment (the 1x1 summing layers after
  relays: output ``(g', o)`` reads inputs ``(g, o)`` of its groups ``g``), or not read.

A tap pattern is a ``(kh, kw)`` bool array. Input position ``(y, x)`` of channel ``ci`` is
presynaptic to a block of outputs (rows ``R``, columns ``C``) when some tap ``(ky, kx)`` of the
pattern lands on it from some output of the block; so a block's input axons are, per pattern,
the number of channels read with it times the size of the union of the pattern's shifted
blocks. Everything here costs memory in proportion to the weights (the synapse mask, once)
and neurons, never to the synapses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


def block_bounds(n: int, k: int) -> np.ndarray:
    """``k + 1`` bounds cutting ``range(n)`` into ``k`` blocks whose sizes differ by at most one."""
    return (np.arange(k + 1) * n) // k


def block_counts(n: int) -> List[int]:
    """The block counts along an axis of length ``n`` that give distinct largest block sizes."""
    return sorted({-(-n // size) for size in range(1, n + 1)})


@dataclass
class ConvAxis:
    """One spatial axis of a conv cut into blocks at ``bounds`` (output positions):
    ``tap_reads[i, j]`` marks the input positions that tap ``j`` reads from block ``i``'s outputs."""

    bounds: np.ndarray
    tap_reads: np.ndarray

    @classmethod
    def at(cls, n_in: int, n_out: int, kernel: int, stride: int, padding: int, bounds: np.ndarray) -> "ConvAxis":
        bounds = np.asarray(bounds, np.int64)
        pos = np.arange(n_out)[:, None] * stride - padding + np.arange(kernel)[None, :]
        block = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        out, tap = np.nonzero((pos >= 0) & (pos < n_in))
        reads = np.zeros((len(bounds) - 1, kernel, n_in), bool)
        keep = (out >= bounds[0]) & (out < bounds[-1])
        out, tap = out[keep], tap[keep]
        reads[block[out - bounds[0]], tap, pos[out, tap]] = True
        return cls(bounds, reads)

    @classmethod
    def cut(cls, n_in: int, n_out: int, kernel: int, stride: int, padding: int, k: int) -> "ConvAxis":
        """``n_out`` outputs in ``k`` blocks (:func:`block_bounds`)."""
        return cls.at(n_in, n_out, kernel, stride, padding, block_bounds(n_out, k))

    @property
    def reads(self) -> np.ndarray:
        """``(blocks, n_in)``: input positions any tap of the block reads."""
        return self.tap_reads.any(1)

    @property
    def tap_counts(self) -> np.ndarray:
        """``(blocks, kernel)``: outputs of the block whose tap lands inside the input."""
        return self.tap_reads.sum(2)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.bounds)


@dataclass
class ConvGeometry:
    """Shapes of a 2-D convolution: input ``(c_in, h, w)``, ``c_out`` channels, kernel, stride, padding."""

    c_in: int
    h: int
    w: int
    c_out: int
    kh: int
    kw: int
    stride: Tuple[int, int]
    padding: Tuple[int, int]

    @classmethod
    def of(cls, layer) -> "ConvGeometry":
        c_out, c_in, kh, kw = (int(d) for d in layer.weight.shape)
        _, h, w = (int(d) for d in layer.input_shape)
        return cls(c_in, h, w, c_out, kh, kw, tuple(layer.stride), tuple(layer.padding))

    @property
    def h_out(self) -> int:
        return (self.h + 2 * self.padding[0] - self.kh) // self.stride[0] + 1

    @property
    def w_out(self) -> int:
        return (self.w + 2 * self.padding[1] - self.kw) // self.stride[1] + 1

    def rows(self, bounds: np.ndarray) -> ConvAxis:
        return ConvAxis.at(self.h, self.h_out, self.kh, self.stride[0], self.padding[0], bounds)

    def cols(self, bounds: np.ndarray) -> ConvAxis:
        return ConvAxis.at(self.w, self.w_out, self.kw, self.stride[1], self.padding[1], bounds)


@dataclass
class PatternFigures:
    """Per tap pattern ``p`` and spatial tile ``(r, c)`` of a rows x columns cut: ``area[p, r, c]``
    input positions of one channel read with ``p`` (its input axons), ``taps[p, r, c]`` synapses
    of one (output channel, input channel) pair, ``size[p]`` kernel entries stored per pair."""

    rows: ConvAxis
    cols: ConvAxis
    area: np.ndarray
    taps: np.ndarray
    size: np.ndarray
    unions: Dict[int, np.ndarray]   # pattern -> (kr, kk, h, w) bool read masks (patterns not full)


@dataclass
class ChannelBlocks:
    """Each segment cut into ``k`` channel blocks: global ``bounds``, ``segment`` of each block,
    ``inputs[b, p]`` input channels block ``b`` reads with pattern ``p`` and ``pairs[b, p]``
    its (output channel, input channel) pairs with pattern ``p``."""

    k: int
    bounds: np.ndarray
    segment: np.ndarray
    inputs: np.ndarray
    pairs: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.bounds)


@dataclass
class ConvReads:
    """The connectivity of a conv layer by segment (see the module docstring): ``patterns``
    ``(P, kh, kw)`` bool; ``shared[s, ci]`` the pattern input channel ``ci`` is read with by every
    output channel of segment ``s`` (-1: not shared); ``owner[s, ci]`` the one output channel
    (global index) of segment ``s`` that reads it (-1: none) with pattern ``owned[s, ci]``."""

    geometry: ConvGeometry
    segments: int
    patterns: np.ndarray
    shared: np.ndarray
    owner: np.ndarray
    owned: np.ndarray

    def __post_init__(self) -> None:
        P = len(self.patterns)
        self.shared_count = np.stack([np.bincount(row[row >= 0], minlength=P) for row in self.shared])
        own = np.zeros((self.geometry.c_out + 1, P), np.int64)
        s, ci = np.nonzero(self.owner >= 0)
        np.add.at(own, (self.owner[s, ci] + 1, self.owned[s, ci]), 1)
        self.own_prefix = own.cumsum(0)   # [co] = pairs owned by output channels < co, per pattern
        self.full = np.array([bool(p.all()) for p in self.patterns])
        self._blocks: Dict[int, ChannelBlocks] = {}

    @property
    def segment_size(self) -> int:
        return self.geometry.c_out // self.segments

    # ------------------------------------------------------------------ construction
    @classmethod
    def of(cls, layer) -> "ConvReads":
        """From a conv layer: an ordinary one reads every channel with every tap; a layer made by
        the fan-in split is read off :meth:`IntLayer.synapse_mask` (its segments are its groups)."""
        geometry = ConvGeometry.of(layer)
        split = getattr(layer, "split", None)
        if split is None:
            return cls.everything(geometry)
        segments = split.groups if split.level else 1   # the final layer: one segment
        return cls.from_mask(geometry, layer.synapse_mask(), segments)

    @classmethod
    def everything(cls, g: ConvGeometry) -> "ConvReads":
        return cls(g, 1, np.ones((1, g.kh, g.kw), bool), np.zeros((1, g.c_in), np.int64),
                   np.full((1, g.c_in), -1, np.int64), np.full((1, g.c_in), -1, np.int64))

    @classmethod
    def channel_groups(cls, g: ConvGeometry, groups: int, per_group: int) -> "ConvReads":
        """Level-1 relays of whole input channels: segment ``s`` reads channels
        ``[s * per_group, (s + 1) * per_group)`` with every tap (``g.c_out`` is all relays)."""
        shared = np.full((groups, g.c_in), -1, np.int64)
        for s in range(groups):
            shared[s, s * per_group:(s + 1) * per_group] = 0
        none = np.full((groups, g.c_in), -1, np.int64)
        return cls(g, groups, np.ones((1, g.kh, g.kw), bool), shared, none, none.copy())

    @classmethod
    def summing(cls, g: ConvGeometry, groups: int, axons: int) -> "ConvReads":
        """The 1x1 layer adding ``groups`` relay groups of ``n = g.c_out // ceil(groups / axons)``
        channels, ``axons`` groups at a time: output ``(g', o)`` owns inputs ``(j, o)``, ``j // axons == g'``."""
        out_groups = -(-groups // axons)
        n = g.c_out // out_groups
        j, o = np.divmod(np.arange(g.c_in), n)
        owner = np.full((out_groups, g.c_in), -1, np.int64)
        owner[j // axons, np.arange(g.c_in)] = (j // axons) * n + o
        owned = np.where(owner >= 0, 0, -1)
        return cls(g, out_groups, np.ones((1, 1, 1), bool), np.full((out_groups, g.c_in), -1, np.int64), owner, owned)

    @classmethod
    def from_mask(cls, g: ConvGeometry, mask: np.ndarray, segments: int) -> "ConvReads":
        """From a synapse mask ``(c_out, c_in, kh, kw)`` whose channels form ``segments`` equal runs;
        raises ``ValueError`` for connectivity that is neither shared nor owned."""
        n = g.c_out // segments
        keys: Dict[bytes, int] = {}
        patterns: List[np.ndarray] = []

        def index(p: np.ndarray) -> int:
            key = np.packbits(p).tobytes()
            if key not in keys:
                keys[key] = len(patterns)
                patterns.append(p.copy())
            return keys[key]

        shared = np.full((segments, g.c_in), -1, np.int64)
        owner, owned = shared.copy(), shared.copy()
        for s in range(segments):
            m = mask[s * n:(s + 1) * n].astype(bool)          # (n, c_in, kh, kw)
            readers = m.any((2, 3))                          # (n, c_in)
            count = readers.sum(0)
            same = (m == m[:1]).all((0, 2, 3))
            for ci in np.flatnonzero(count):
                if count[ci] == n and same[ci]:
                    shared[s, ci] = index(m[0, ci])
                elif count[ci] == 1:
                    o = int(np.argmax(readers[:, ci]))
                    owner[s, ci], owned[s, ci] = s * n + o, index(m[o, ci])
                else:
                    raise ValueError(f"input channel {ci} is read by {count[ci]} of {n} output channels of a segment "
                                     "with different taps: not a conv, relay or summing layer")
        if not patterns:
            patterns.append(np.ones((g.kh, g.kw), bool))
        return cls(g, segments, np.stack(patterns), shared, owner, owned)

    # ------------------------------------------------------------------ figures
    def blocks(self, k: int) -> ChannelBlocks:
        """Every segment cut into ``k`` channel blocks (cached)."""
        if k not in self._blocks:
            n = self.segment_size
            local = block_bounds(n, k)
            bounds = np.concatenate([s * n + local[:-1] for s in range(self.segments)] + [[self.geometry.c_out]])
            segment = np.repeat(np.arange(self.segments), k)
            own = self.own_prefix[bounds[1:]] - self.own_prefix[bounds[:-1]]
            shared = self.shared_count[segment]
            self._blocks[k] = ChannelBlocks(k, bounds, segment, shared + own,
                                            np.diff(bounds)[:, None] * shared + own)
        return self._blocks[k]

    def figures(self, rows: ConvAxis, cols: ConvAxis) -> PatternFigures:
        """:class:`PatternFigures` of every pattern on the ``rows`` x ``cols`` cut."""
        P = len(self.patterns)
        kr, kk = len(rows.bounds) - 1, len(cols.bounds) - 1
        area = np.zeros((P, kr, kk), np.int64)
        unions = {}
        r_reads, c_reads = rows.tap_reads.astype(np.int32), cols.tap_reads.astype(np.int32)
        for p, pattern in enumerate(self.patterns):
            if self.full[p]:
                area[p] = np.outer(rows.reads.sum(1), cols.reads.sum(1))
            elif pattern.any():
                half = np.einsum("rah,ab->rbh", r_reads, pattern.astype(np.int32))     # (kr, kw, h)
                unions[p] = np.einsum("rbh,cbw->rchw", half, c_reads) > 0
                area[p] = unions[p].sum((2, 3))
        taps = np.einsum("pab,ra,cb->prc", self.patterns.astype(np.int64), rows.tap_counts, cols.tap_counts)
        return PatternFigures(rows, cols, area, taps, self.patterns.reshape(P, -1).sum(1), unions)

    def finest(self) -> PatternFigures:
        g = self.geometry
        return self.figures(g.rows(np.arange(g.h_out + 1)), g.cols(np.arange(g.w_out + 1)))

    def max_fan_in(self) -> int:
        """The most input axons one neuron needs (its in-bounds presynaptic neurons)."""
        return int((self.blocks(self.segment_size).inputs @ self.finest().area.reshape(len(self.patterns), -1)).max())

    def channel_patterns(self, lo: int, hi: int) -> np.ndarray:
        """``(c_in, P)`` bool: the patterns output channels ``[lo, hi)`` read each input channel with."""
        n = self.segment_size
        used = np.zeros((self.geometry.c_in, len(self.patterns)), bool)
        for s in range(lo // n, (hi - 1) // n + 1):
            ci = np.flatnonzero(self.shared[s] >= 0)
            used[ci, self.shared[s, ci]] = True
            ci = np.flatnonzero((self.owner[s] >= lo) & (self.owner[s] < hi))
            used[ci, self.owned[s, ci]] = True
        return used

    def input_mask(self, start: Sequence[int], stop: Sequence[int]) -> np.ndarray:
        """Bool ``(c_in, h, w)``: the presynaptic neurons of outputs ``[start, stop)`` (C, H, W)."""
        g = self.geometry
        fig = self.figures(g.rows([start[1], stop[1]]), g.cols([start[2], stop[2]]))
        union = np.zeros((len(self.patterns), g.h, g.w), bool)
        for p in range(len(self.patterns)):
            if self.full[p]:
                union[p] = np.outer(fig.rows.reads[0], fig.cols.reads[0])
            elif p in fig.unions:
                union[p] = fig.unions[p][0, 0]
        used = self.channel_patterns(int(start[0]), int(stop[0]))
        return (used.astype(np.int64) @ union.reshape(len(union), -1) > 0).reshape(g.c_in, g.h, g.w)


@dataclass
class ConvReaders:
    """How the tiles of a conv layer (``blocks`` x rows x columns) read its input neurons."""

    reads: ConvReads
    blocks: ChannelBlocks
    fig: PatternFigures

    @property
    def n_tiles(self) -> int:
        return len(self.blocks.segment) * self.fig.area.shape[1] * self.fig.area.shape[2]

    def per_neuron(self) -> np.ndarray:
        """Tiles reading each input neuron (flattened C-order, int64)."""
        g, reads = self.reads.geometry, self.reads
        P = len(reads.patterns)
        Q = np.zeros((P, g.h, g.w), np.int64)
        for p in range(P):
            if reads.full[p]:
                Q[p] = np.outer(self.fig.rows.reads.sum(0), self.fig.cols.reads.sum(0))
            elif p in self.fig.unions:
                Q[p] = self.fig.unions[p].sum((0, 1))
        K = np.zeros((g.c_in, P), np.int64)
        for s in range(reads.segments):
            ci = np.flatnonzero(reads.shared[s] >= 0)
            np.add.at(K, (ci, reads.shared[s, ci]), self.blocks.k)
            ci = np.flatnonzero(reads.owner[s] >= 0)
            np.add.at(K, (ci, reads.owned[s, ci]), 1)
        return (K @ Q.reshape(P, -1)).ravel()

    def dest_tiles(self, start: Sequence[int], stop: Sequence[int]) -> int:
        """Tiles reading any input neuron of the block ``[start, stop)`` (C, H, W)."""
        reads, fig = self.reads, self.fig
        (c0, y0, x0), (c1, y1, x1) = start, stop
        P = len(reads.patterns)
        hit = np.zeros((P,) + fig.area.shape[1:], bool)
        for p in range(P):
            if reads.full[p]:
                hit[p] = np.outer(fig.rows.reads[:, y0:y1].any(1), fig.cols.reads[:, x0:x1].any(1))
            elif p in fig.unions:
                hit[p] = fig.unions[p][:, :, y0:y1, x0:x1].any((2, 3))
        total = 0
        bounds = self.blocks.bounds
        for s in range(reads.segments):
            base = np.zeros(P, bool)
            base[reads.shared[s, c0:c1][reads.shared[s, c0:c1] >= 0]] = True
            owners = reads.owner[s, c0:c1]
            which = owners >= 0
            block = np.searchsorted(bounds, owners[which], side="right") - 1
            used = np.zeros((self.blocks.k * reads.segments, P), bool)
            used[block, reads.owned[s, c0:c1][which]] = True
            owning = np.unique(block)
            plain = self.blocks.k - len(owning)
            if plain and base.any():
                total += plain * int(hit[base].any(0).sum())
            for b in owning:
                total += int(hit[base | used[b]].any(0).sum())
        return total
