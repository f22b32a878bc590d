"""Pass 2: per-layer quantization to Lava's fixed-point fields, with membrane-range analysis.

Spike times are invariant to scaling a layer's weights, bias and threshold by the same
``alpha > 0`` (between spikes the dynamics are linear), so each layer gets its own scale:

* weights: ``W_int = mant << weight_exp`` with ``mant`` on Lava's 8-bit grid (even values in
  [-256, 254] for mixed signs, which lose one LSB; [0, 255] or [-255, 0] otherwise);
* threshold: the trainer fires on ``V >= theta``, Lava on ``v > vth << 6``; with
  ``Theta = round(alpha theta)`` the compiler sets ``vth = Theta - 1``, which reproduces ``>=``
  exactly whenever the bias is a multiple of 64 membrane units (and is off by < 1 weight unit
  otherwise);
* bias: ``bias_mant << bias_exp ~= 64 alpha b`` (membrane units; finest exponent that fits);
* ``weight_exp`` (dense only; Lava's fixed-point Conv ignores it, so conv keeps 0) is the
  largest that keeps every bound below.

Range analysis (per layer, worst case over any input pattern, each input spiking once):
the synaptic input of one step ``|sum W_int|`` fits ``synaptic_input`` bits, and the membrane
``64 * sum|W_int| + total_steps * |bias|`` stays below ``2**(state-1) - 1``, so ``u`` never wraps
and ``v`` never saturates: the integer network is then exactly the scaled float network up to
rounding. When full-scale 8-bit weights cannot meet the bounds, ``alpha`` shrinks (fewer
effective weight bits), and the report says so.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Tuple

import numpy as np

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.network import FloatLayer, FloatNetwork, IntLayer, IntNetwork
from ttfs_deploy import semantics


def weight_grid(weight: np.ndarray, bits: int) -> Tuple[int, int, int]:
    """``(lo, hi, step)`` of Lava's mantissa grid for a matrix with ``weight``'s signs."""
    full = 2 ** bits - 1
    if weight.min(initial=0) >= 0:
        return 0, full, 1
    if weight.max(initial=0) <= 0:
        return -full, 0, 1
    return -(full + 1), full - 1, 2


def weight_bits_used(mant: np.ndarray, grid: Tuple[int, int, int]) -> int:
    """Bits Lava stores per weight: two's complement of ``mant / 2`` for mixed signs (the LSB is
    dropped), plain magnitude bits for single-sign matrices."""
    lo, _, step = grid
    if step == 2:
        q = mant // 2
        return int(max(int(q.max(initial=0)), -int(q.min(initial=0)) - 1)).bit_length() + 1
    return int(np.abs(mant).max(initial=0)).bit_length()


def quantize_mantissa(scaled: np.ndarray, grid: Tuple[int, int, int]) -> np.ndarray:
    """Round to the nearest grid value (int64)."""
    lo, hi, step = grid
    return np.clip(np.rint(scaled / step) * step, lo, hi).astype(np.int64)


def _per_neuron_sums(layer_kind: str, w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(sum of positive, sum of |negative|) incoming weights per output channel/neuron."""
    flat = w.reshape(len(w), -1)
    return np.clip(flat, 0, None).sum(1), np.clip(-flat, 0, None).sum(1)


def _bias_fields(bias_mem: np.ndarray, mant_bits: int, exp_max: int) -> Tuple[np.ndarray, np.ndarray]:
    """Mantissa/exponent per entry: the smallest exponent whose mantissa fits ``mant_bits`` signed."""
    mant_max = 2 ** (mant_bits - 1) - 1
    exp = np.full(bias_mem.shape, exp_max, dtype=np.int64)
    for e in range(exp_max, -1, -1):
        exp = np.where(np.abs(np.rint(bias_mem / 2 ** e)) <= mant_max, e, exp)
    mant = np.rint(bias_mem / 2.0 ** exp).astype(np.int64)
    return mant, exp


def quantize_layer(layer: FloatLayer, profile: HardwareProfile, total_steps: int, hop_delay: int) -> IntLayer:
    """Quantize one folded layer for ``profile``; raises :class:`TTFSError` when it cannot fit."""
    bits = profile.bits
    w, b, theta = layer.weight, layer.bias, float(layer.threshold)
    grid = weight_grid(w, int(bits["weight_mantissa"]))
    w_max = float(np.abs(w).max(initial=0.0))
    # full scale at weight_exp 0: the largest alpha keeping the extreme weights of both signs on the grid
    candidates = []
    if w.max(initial=0.0) > 0:
        candidates.append(grid[1] / w.max())
    if w.min(initial=0.0) < 0:
        candidates.append(grid[0] / w.min())
    full_scale = min(candidates, default=math.inf)
    vth_max = 2 ** int(bits["threshold"]) - 1
    input_max = 2 ** (int(bits["synaptic_input"]) - 1) - 1
    v_max = 2 ** (int(bits["state"]) - 1) - 1
    bias_mant_max = 2 ** (int(bits["bias_mantissa"]) - 1) - 1
    bias_exp_max = int(bits["bias_exp_max"])
    exp_max = 0 if layer.kind == "conv" else max(0, int(bits.get("weight_exp_max", 0)))
    pos, neg = _per_neuron_sums(layer.kind, w)
    # largest alpha allowed by each bound (in integer weight units per float unit)
    step_in = max(pos.max(initial=0.0), neg.max(initial=0.0))
    limits = {"threshold": (vth_max + 1) / theta if theta > 0 else math.inf,
              "synaptic input": input_max / step_in if step_in > 0 else math.inf,
              "membrane": float((v_max / (64 * np.maximum(pos, neg) + total_steps * 64 * np.abs(b)
                                          + 1e-30)).min()),
              "bias": bias_mant_max * 2 ** bias_exp_max / (64 * np.abs(b).max(initial=0.0))
              if np.abs(b).max(initial=0.0) > 0 else math.inf}
    alpha_cap = min(limits.values())
    if w_max == 0:
        raise TTFSError(f"layer {layer.name} has only zero weights", "retrain the model")
    exp = 0
    for e in range(exp_max, -1, -1):
        if full_scale * 2 ** e <= alpha_cap:
            exp = e
            break
    alpha = min(full_scale * 2 ** exp, alpha_cap)
    binding = "weight range" if alpha == full_scale * 2 ** exp else min(limits, key=limits.get)
    for _ in range(64):  # rounding can push a bound just past its limit: shrink alpha until it fits
        int_layer = _layer_at(layer, alpha, exp, grid, hop_delay, int(bits["bias_mantissa"]), bias_exp_max)
        analysis = membrane_bounds(int_layer, total_steps)
        if analysis["max_step_input"] <= input_max and analysis["max_abs_v"] <= v_max:
            break
        alpha *= 0.995
    else:
        raise TTFSError(f"layer {layer.name} can overflow the {bits['state']}-bit membrane "
                        f"(worst case {analysis['max_abs_v']} > {v_max})", "retrain with smaller weights or biases")
    if int_layer.vth + 1 < 1:
        raise TTFSError(f"layer {layer.name}: threshold rounds to 0 at scale {alpha:.3g}",
                        "retrain with a smaller weight range or use a profile with more weight bits")
    if np.abs(int_layer.bias_mant).max(initial=0) > bias_mant_max:
        raise TTFSError(f"layer {layer.name}: bias needs more than {bits['bias_mantissa']} bits",
                        "retrain with weight decay or use a profile with a wider bias")
    eff = int_layer.weight.astype(np.float64) * 2 ** exp
    err = float(np.linalg.norm(eff / alpha - w) / max(np.linalg.norm(w), 1e-30))
    int_layer.info = {"provenance": layer.provenance, "quant_error": err, "binding_constraint": binding,
                      "weight_bits_used": weight_bits_used(int_layer.weight, grid),
                      **analysis}
    return int_layer


def _layer_at(layer: FloatLayer, alpha: float, exp: int, grid: Tuple[int, int, int], hop_delay: int,
              bias_bits: int, bias_exp_max: int) -> IntLayer:
    """The integer layer at scale ``alpha`` (weight units per float unit) and weight exponent ``exp``."""
    mant = quantize_mantissa(alpha * layer.weight / 2 ** exp, grid)
    bias_mant, bias_exp = _bias_fields(64 * alpha * layer.bias, bias_bits, bias_exp_max)
    vth = int(round(alpha * layer.threshold)) - 1  # v > (Theta - 1) << 6  <=>  V >= Theta for whole weights
    return IntLayer(layer.name, layer.kind, mant, exp, bias_mant, bias_exp, vth, layer.input_shape, hop_delay,
                    float(alpha), layer.stride, layer.padding)


def membrane_bounds(layer: IntLayer, total_steps: int) -> Dict[str, Any]:
    """Worst-case synaptic input per step and |v| (membrane units) over any input pattern."""
    eff = layer.weight.astype(np.int64) << layer.weight_exp
    pos, neg = _per_neuron_sums(layer.kind, eff)
    bias = np.abs(layer.bias_mant.astype(np.int64) << layer.bias_exp.astype(np.int64))
    return {"max_step_input": int(max(pos.max(initial=0), neg.max(initial=0))),
            "max_abs_v": int((64 * np.maximum(pos, neg) + total_steps * bias).max(initial=0)),
            "v_limit": semantics.V_LIMIT}


def quantize_network(net: FloatNetwork, profile: HardwareProfile) -> IntNetwork:
    """Quantize every layer; layer l (1-based) lags the reference frame by l hops on the target."""
    profile.require_target()
    total_steps = IntNetwork.steps_on_target(net.T, len(net.layers))
    layers = [quantize_layer(layer, profile, total_steps, hop_delay=IntNetwork.hop_delay(i))
              for i, layer in enumerate(net.layers)]
    return IntNetwork(net.input_shape, net.T, net.encoder, layers, target=profile.name,
                      metadata=dict(net.metadata, time_convention="hop_delay_1"))
