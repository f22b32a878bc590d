"""The ANN baseline: the chip's layers run once as the conventional network they came from, on 45 nm CMOS.

"The conventional network" is the layers as trained: an average pool the compiler folded into the
next layer (``compile/fold.py``: a ``kK`` kernel at stride ``ks``, or a dense layer over the
unpooled map) is a pooling layer again (one accumulate per input, counted as a MAC) followed by
the layer's own ``K x K`` kernel or pooled-input weights. The folded form is how the chip computes
it, and its synaptic operations count it so; an ANN would not pay for it.

Two figures per precision (``fp32``, ``int8``), both named in every report:

* **compute only**: one MAC per connection of the ANN layer (zero weights included) x
  ``<precision>_mac``; no memory access at all (what SNN papers usually compare against);
* **with memory**: compute plus the memory traffic of the *minimum-traffic* dataflow: every
  weight and every input activation is read once and every output activation written once per
  inference (perfect on-chip reuse, the ANN's best case). Operands are packed into 64-bit
  words at the precision's width; a word costs one 64-bit access of a memory of the size the
  layer needs: weights in an SRAM holding the layer's parameters, activations in an SRAM holding
  its inputs and outputs. The price interpolates Horowitz's 45 nm table log-log between its
  sizes (8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; the 8 KB price below 8 KB); data larger than
  the largest SRAM live in DRAM (1.3 nJ per 64-bit access, range 1.3-2.6 nJ).

The table is the ``[energy.memory]`` table of the ANN profile (``hardware_profiles/cmos45.toml``).

A layer made by the fan-in split (``compile/split.py``) is one ANN layer: its level-1 relay layer
carries the original layer's MACs, weights and inputs (and its outputs, the original layer's
neurons); the summing layers above it are the chip's way of adding partial sums and have no ANN
counterpart (zero MACs, parameters and memory).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from ttfs_deploy.energy.figures import Joules, price
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.connectivity import tap_counts

#: precision name -> operand width in bits
PRECISIONS = {"fp32": 32, "int8": 8}
WORD_BITS = 64
MEMORY_MODEL = ("minimum traffic: every weight and input activation read once, every output written once "
                "per inference, packed in 64-bit words, from an SRAM of the size the layer needs (DRAM above "
                "the largest SRAM of the table)")
MEMORY_KEYS = ("sram_bytes", "sram_read_64bit", "dram_read_64bit")


@dataclass(frozen=True)
class MemoryTable:
    """Horowitz's 64-bit access energies: SRAM by size (bytes, ascending) and DRAM."""

    sram_bytes: tuple
    sram_read: tuple
    dram: Joules
    write_per_read: float
    source: str

    @classmethod
    def of(cls, profile: HardwareProfile) -> "MemoryTable":
        table = profile.energy.get("memory")
        missing = [k for k in MEMORY_KEYS if not isinstance(table, Mapping) or k not in table]
        if missing:
            raise TTFSError(f"profile {profile.name} has no [energy.memory] {', '.join(missing)}",
                            "use the cmos45 ANN baseline profile or add the table (docs/profiles.md)")
        sizes, reads = [float(x) for x in table["sram_bytes"]], [float(x) for x in table["sram_read_64bit"]]
        if len(sizes) != len(reads) or not sizes or sizes != sorted(sizes) or min(sizes + reads) <= 0:
            raise TTFSError(f"profile {profile.name} [energy.memory] needs ascending positive sram_bytes with one "
                            "sram_read_64bit each", "fix the profile (see docs/profiles.md)")
        return cls(tuple(sizes), tuple(reads), price(table, "dram_read_64bit", "[energy.memory]"),
                   float(table.get("write_per_read", 1.0)), str(table.get("source", "")))

    def access(self, size_bytes: float) -> Joules:
        """Energy of one 64-bit access to a memory holding ``size_bytes``."""
        if size_bytes > self.sram_bytes[-1]:
            return self.dram
        size = max(size_bytes, self.sram_bytes[0])
        return Joules.exact(float(np.exp(np.interp(np.log(size), np.log(self.sram_bytes), np.log(self.sram_read)))))


def words(values: int, bits: int) -> int:
    """64-bit words holding ``values`` operands of ``bits`` each."""
    return math.ceil(values * bits / WORD_BITS)


@dataclass(frozen=True)
class AnnLayer:
    """One layer as an ANN at one precision: counts and energies (joules per inference)."""

    name: str
    precision: str
    macs: int
    parameters: int
    inputs: int
    outputs: int
    weight_memory_bytes: int
    activation_memory_bytes: int
    weight_words: int
    activation_words: int
    compute: Joules
    memory: Joules

    @property
    def with_memory(self) -> Joules:
        return self.compute + self.memory

    def to_dict(self) -> Dict[str, Any]:
        return {"macs": self.macs, "parameters": self.parameters, "weight_memory_bytes": self.weight_memory_bytes,
                "activation_memory_bytes": self.activation_memory_bytes, "weight_reads_64bit": self.weight_words,
                "activation_accesses_64bit": self.activation_words, "compute_j": self.compute.point,
                "memory_j": self.memory.point, "memory_j_range": self.memory.range,
                "energy_j": self.with_memory.point, "energy_j_range": self.with_memory.range}


def _biases(layer) -> int:
    return int(np.asarray(getattr(layer, "bias_mant", [])).size)


_FOLDED_POOL = re.compile(r"avgpool(\d+)\+")


def folded_pool(layer) -> int:
    """The side ``k`` of the ``AvgPool2d(k)`` the compiler folded into ``layer`` (its
    ``avgpool<k>+...`` provenance, ``compile/fold.py``); 1 when none was folded."""
    info = getattr(layer, "info", None) or {}
    match = _FOLDED_POOL.match(str(info.get("provenance", getattr(layer, "provenance", ""))))
    return int(match.group(1)) if match else 1


def ann_shape(layer, pool: int = 1, pool_input: Optional[Tuple[int, ...]] = None) -> Tuple[int, int, int, int]:
    """``(macs, parameters, inputs, outputs)`` of ``layer`` as the conventional ANN layer it came
    from (the fan-in split's layers as in the module docstring).

    ``pool`` > 1: the compiler folded an ``AvgPool2d(pool)`` into ``layer`` (a ``pool * K`` kernel
    at stride ``pool * s``, or a dense layer over the unpooled map). The ANN runs the pool as its
    own layer, one accumulate per input counted as a MAC, then the layer as trained: a ``K x K``
    kernel over the pooled map, or a dense layer over the pooled ``pool_input`` (``(C, H, W)``
    before pooling). ``inputs`` are the unpooled activations the pool reads."""
    split = getattr(layer, "split", None)
    if split and split.level != 1:
        return 0, 0, 0, 0
    groups = split.groups if split else 1   # a level-1 relay stacks its groups along the outputs
    n_out = len(layer.weight) // groups
    inputs = int(np.prod(layer.input_shape))
    if layer.kind == "conv":
        _, c_in, kh, kw = layer.weight.shape
        _, h, w = layer.input_shape
        _, h_out, w_out = layer.output_shape
        kh, kw, (sy, sx), (py, px) = kh // pool, kw // pool, layer.stride, layer.padding
        rows, cols = tap_counts((h // pool, w // pool), (h_out, w_out), (kh, kw), (sy // pool, sx // pool),
                                (py // pool, px // pool))
        macs = n_out * int(c_in) * int(rows.sum()) * int(cols.sum())
        weights, outputs = n_out * int(c_in) * kh * kw, n_out * h_out * w_out
    else:
        n_in = int(layer.weight.shape[1])
        if pool > 1:
            if pool_input is None or len(pool_input) != 3:
                raise TTFSError(f"layer {layer.name} has a folded AP{pool} but no (C, H, W) input map",
                                "recompile the model with this version")
            c, h, w = pool_input
            n_in = int(c) * (int(h) // pool) * (int(w) // pool)
        macs = weights = n_out * n_in
        outputs = n_out
    if pool > 1:
        macs += inputs
    return int(macs), int(weights) + _biases(layer) // groups, inputs, int(outputs)


def ann_layer(layer, precision: str, mac: float, memory: MemoryTable, pool: int = 1,
              pool_input: Optional[Tuple[int, ...]] = None) -> AnnLayer:
    """``layer`` (dense or conv, integer or float) as an ANN layer at ``precision`` (``pool``,
    ``pool_input``: :func:`ann_shape`)."""
    bits = PRECISIONS[precision]
    macs, parameters, inputs, outputs = ann_shape(layer, pool, pool_input)
    weight_bytes = math.ceil(parameters * bits / 8)
    act_bytes = math.ceil((inputs + outputs) * bits / 8)
    w_words = words(parameters, bits)
    in_words, out_words = words(inputs, bits), words(outputs, bits)
    act = memory.access(act_bytes)
    mem = memory.access(weight_bytes) * w_words + act * (in_words + out_words * memory.write_per_read)
    return AnnLayer(layer.name, precision, macs, parameters, inputs, outputs, weight_bytes, act_bytes, w_words,
                    in_words + out_words, Joules.exact(macs * mac), mem)


def ann_layers(layers: Sequence, profile: HardwareProfile, input_shape: Tuple[int, ...] = ()) -> Dict[str, list]:
    """``{precision: [AnnLayer per layer]}`` on the ANN ``profile`` (``<precision>_mac`` and
    ``[energy.memory]``). ``layers`` chain from ``input_shape``; a level-1 relay takes the pool
    folded into the layer it splits."""
    missing = [f"{p}_mac" for p in PRECISIONS if f"{p}_mac" not in profile.energy]
    if missing:
        raise TTFSError(f"profile {profile.name} has no [energy] {', '.join(missing)}",
                        "use the cmos45 ANN baseline profile or add them to yours")
    memory = MemoryTable.of(profile)
    by_name = {layer.name: layer for layer in layers}
    shapes = []
    for i, layer in enumerate(layers):
        split = getattr(layer, "split", None)
        origin = by_name.get(split.of, layer) if split and split.level == 1 else layer
        pool_input = tuple(layers[i - 1].output_shape) if i else tuple(input_shape)
        shapes.append((folded_pool(origin), pool_input))
    return {p: [ann_layer(layer, p, float(profile.energy[f"{p}_mac"]), memory, *shape)
                for layer, shape in zip(layers, shapes)] for p in PRECISIONS}
