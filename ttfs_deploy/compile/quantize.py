"""Pass 2: per-layer quantization to Lava's fixed-point fields, with membrane-range analysis.

Spike times are invariant to scaling a layer's weights, bias and threshold by the same
``alpha > 0`` (between spikes the dynamics are linear), so each layer gets its own scale:

* weights: ``W_int = mant << weight_exp`` with ``mant`` on Lava's 8-bit grid
  (:func:`ttfs_deploy.semantics.weight_grid`: mixed signs lose one LSB);
* threshold: the trainer fires on ``V >= theta``, Lava on ``v > semantics.threshold(vth)``; with
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


def _bias_fields(bias_mem: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mantissa/exponent per entry: the smallest exponent whose mantissa fits the signed bias
    mantissa of :mod:`ttfs_deploy.semantics`."""
    exp = np.full(bias_mem.shape, semantics.BIAS_EXP_MAX, dtype=np.int64)
    for e in range(semantics.BIAS_EXP_MAX, -1, -1):
        exp = np.where(np.abs(np.rint(bias_mem / 2 ** e)) <= semantics.BIAS_MANT_MAX, e, exp)
    mant = np.rint(bias_mem / 2.0 ** exp).astype(np.int64)
    return mant, exp


def full_scale(w: np.ndarray, grid: Tuple[int, int, int]) -> float:
    """The largest ``alpha`` at ``weight_exp`` 0 keeping the extreme weights of both signs on the grid."""
    candidates = []
    if w.max(initial=0.0) > 0:
        candidates.append(grid[1] / w.max())
    if w.min(initial=0.0) < 0:
        candidates.append(grid[0] / w.min())
    return min(candidates, default=math.inf)


def scale_limits(layer: FloatLayer, total_steps: int) -> Dict[str, float]:
    """Largest ``alpha`` (integer weight units per float unit) each bound of the arithmetic allows."""
    w, b, theta = layer.weight, layer.bias, float(layer.threshold)
    pos, neg = _per_neuron_sums(layer.kind, w)
    step_in = max(pos.max(initial=0.0), neg.max(initial=0.0))
    per_weight = semantics.MEMBRANE_PER_WEIGHT
    b_max = np.abs(b).max(initial=0.0)
    return {"threshold": (semantics.VTH_MAX + 1) / theta if theta > 0 else math.inf,
            "synaptic input": semantics.INPUT_MAX / step_in if step_in > 0 else math.inf,
            "membrane": float((semantics.V_LIMIT / (per_weight * np.maximum(pos, neg)
                                                    + total_steps * per_weight * np.abs(b) + 1e-30)).min()),
            "bias": semantics.BIAS_MANT_MAX * 2 ** semantics.BIAS_EXP_MAX / (per_weight * b_max)
            if b_max > 0 else math.inf}


def choose_scale(layer: FloatLayer, grid: Tuple[int, int, int], total_steps: int) -> Tuple[float, int, str]:
    """``(alpha, weight_exp, binding constraint)``: full 8-bit weights at the largest exponent the
    bounds allow (conv keeps exponent 0), else the largest alpha the binding bound allows."""
    exp_max = 0 if layer.kind == "conv" else max(0, semantics.WEIGHT_EXP_MAX)
    full, limits = full_scale(layer.weight, grid), scale_limits(layer, total_steps)
    alpha_cap = min(limits.values())
    exp = next((e for e in range(exp_max, -1, -1) if full * 2 ** e <= alpha_cap), 0)
    alpha = min(full * 2 ** exp, alpha_cap)
    binding = "weight range" if alpha == full * 2 ** exp else min(limits, key=limits.get)
    return alpha, exp, binding


def fit_layer(layer: FloatLayer, alpha: float, exp: int, grid: Tuple[int, int, int], total_steps: int,
              hop_delay: int) -> Tuple[IntLayer, Dict[str, Any]]:
    """The integer layer at ``alpha``, shrunk until rounding keeps it within the input and membrane
    bounds; returns it with its :func:`membrane_bounds`."""
    for _ in range(64):  # rounding can push a bound just past its limit: shrink alpha until it fits
        int_layer = _layer_at(layer, alpha, exp, grid, hop_delay)
        analysis = membrane_bounds(int_layer, total_steps)
        if analysis["max_step_input"] <= semantics.INPUT_MAX and analysis["max_abs_v"] <= semantics.V_LIMIT:
            return int_layer, analysis
        alpha *= 0.995
    raise TTFSError(f"layer {layer.name} can overflow the {semantics.STATE_BITS}-bit membrane "
                    f"(worst case {analysis['max_abs_v']} > {semantics.V_LIMIT})",
                    "retrain with smaller weights or biases")


def quantize_layer(layer: FloatLayer, total_steps: int, hop_delay: int) -> IntLayer:
    """Quantize one folded layer to the integer semantics; raises :class:`TTFSError` when it cannot fit."""
    if float(np.abs(layer.weight).max(initial=0.0)) == 0:
        raise TTFSError(f"layer {layer.name} has only zero weights", "retrain the model")
    grid = semantics.weight_grid_for(layer.weight)
    alpha, exp, binding = choose_scale(layer, grid, total_steps)
    int_layer, analysis = fit_layer(layer, alpha, exp, grid, total_steps, hop_delay)
    if int_layer.vth + 1 < 1:
        raise TTFSError(f"layer {layer.name}: threshold rounds to 0 at scale {int_layer.scale:.3g}",
                        "retrain with a smaller weight range or use a profile with more weight bits")
    if np.abs(int_layer.bias_mant).max(initial=0) > semantics.BIAS_MANT_MAX:
        raise TTFSError(f"layer {layer.name}: bias needs more than {semantics.BITS['bias_mantissa']} bits",
                        "retrain with weight decay or use a profile with a wider bias")
    eff = int_layer.weight.astype(np.float64) * 2 ** exp
    err = float(np.linalg.norm(eff / int_layer.scale - layer.weight) / max(np.linalg.norm(layer.weight), 1e-30))
    int_layer.info = {"provenance": layer.provenance, "quant_error": err, "binding_constraint": binding,
                      "weight_bits_used": weight_bits_used(int_layer.weight, grid),
                      **analysis}
    return int_layer


def _layer_at(layer: FloatLayer, alpha: float, exp: int, grid: Tuple[int, int, int], hop_delay: int) -> IntLayer:
    """The integer layer at scale ``alpha`` (weight units per float unit) and weight exponent ``exp``."""
    mant = quantize_mantissa(alpha * layer.weight / 2 ** exp, grid)
    bias_mant, bias_exp = _bias_fields(semantics.MEMBRANE_PER_WEIGHT * alpha * layer.bias)
    vth = int(round(alpha * layer.threshold)) - 1  # v > threshold(Theta - 1)  <=>  V >= Theta for whole weights
    return IntLayer(layer.name, layer.kind, mant, exp, bias_mant, bias_exp, vth, layer.input_shape, hop_delay,
                    float(alpha), layer.stride, layer.padding)


def membrane_bounds(layer: IntLayer, total_steps: int) -> Dict[str, Any]:
    """Worst-case synaptic input per step and |v| (membrane units) over any input pattern."""
    eff = semantics.effective_weight(layer.weight.astype(np.int64), layer.weight_exp)
    pos, neg = _per_neuron_sums(layer.kind, eff)
    bias = np.abs(semantics.effective_bias(layer.bias_mant.astype(np.int64), layer.bias_exp.astype(np.int64)))
    return {"max_step_input": int(max(pos.max(initial=0), neg.max(initial=0))),
            "max_abs_v": int((semantics.weight_to_membrane(np.maximum(pos, neg)) + total_steps * bias).max(initial=0)),
            "v_limit": semantics.V_LIMIT}


def quantize_network(net: FloatNetwork, profile: HardwareProfile) -> IntNetwork:
    """Quantize every layer; layer l (1-based) lags the reference frame by l hops on the target."""
    profile.require_target()
    total_steps = IntNetwork.steps_on_target(net.T, len(net.layers))
    layers = [quantize_layer(layer, total_steps, hop_delay=IntNetwork.hop_delay(i))
              for i, layer in enumerate(net.layers)]
    return IntNetwork(net.input_shape, net.T, net.encoder, layers, target=profile.name,
                      metadata=dict(net.metadata, time_convention="hop_delay_1"))
