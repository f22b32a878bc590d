"""The integer arithmetic every backend must match bit for bit, defined once.

It is the arithmetic of Lava's ``fixed_pt`` models (``PyDenseModelBitAcc``, ``PyConvModelFixed``,
``AbstractPyLifModelFixed``) for the configuration the compiler emits, plus a fired latch:

* synapses are delta synapses: ``du = 4095`` (current decay 4096/4096, so ``u`` holds only this
  step's input) and no leak: ``dv = 0``;
* the synaptic input ``a`` (integer weight units) is MSB-aligned: ``u = a << 6``, wrapped to 24 bits;
* ``v = clip(v + u + (bias_mant << bias_exp), -(2**23 - 1), 2**23 - 1)`` (``v`` in *membrane
  units* = 1/64 weight unit; the bias is **not** shifted by 6);
* a neuron spikes when ``v > vth << 6`` (strict) and it has not fired before; then ``v = 0`` and
  the latch is set, so it never fires again;
* a *relay* neuron (fan-in splitting, ``compile/split.py``) has no state: every step it sends
  this step's exact synaptic input ``a`` (integer weight units, after its synapses' ``weight_exp``)
  as a graded spike whose payload is ``a`` (:func:`relay_step`; nothing is sent when ``a == 0``).
  A synapse fed by graded spikes adds ``weight * payload`` (then ``<< weight_exp``), so a layer
  whose input arrives as partial sums over groups of its inputs, summed with weight 1 and
  ``weight_exp = 0``, sees exactly the unsplit layer's ``a``. This is Lava's ``GradedVec`` with
  ``vth = 0`` feeding a ``Dense``/``Conv`` with ``num_message_bits > 0``.

Time: one call of :func:`neuron_step` is one time step. The functions use only operators that
numpy arrays, torch tensors and integer scalars share, so the torch integer baseline calls them
on tensors and the event simulator's kernel compiles these very functions with numba for scalars
(``backends/eventsim/kernel.py`` gives numba the scalar forms of :func:`wrap_state` and
:func:`clip_state`, which use array methods).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

#: Bit widths of Lava's fixed-point neuron and synapse models, the one definition every module
#: reads (a hardware profile's optional ``[bits]`` table must agree with it,
#: :func:`check_profile_bits`). Sources: lava/proc/lif/models.py, lava/proc/dense/models.py.
BITS = {
    "weight_mantissa": 8,    # Dense/Conv weights: 8-bit mantissa with sign
    "weight_exp_min": -8,    # Dense weight_exp range (lava/utils/weightutils.py)
    "weight_exp_max": 7,
    "threshold": 17,         # vth mantissa, used as vth << ACT_SHIFT
    "bias_mantissa": 13,     # signed
    "bias_exp_max": 7,       # 3-bit exponent
    "state": 24,             # u and v
    "synaptic_input": 18,    # per-step input a: a << ACT_SHIFT must fit the 24-bit u
}

STATE_BITS = BITS["state"]                       #: width of u and v
STATE_MAX = 2 ** (STATE_BITS - 1)                #: 2**23
V_LIMIT = STATE_MAX - 1                          #: v saturates at +-(2**23 - 1)
ACT_SHIFT = 6                                    #: synaptic input and threshold are shifted left by 6
MEMBRANE_PER_WEIGHT = 1 << ACT_SHIFT             #: membrane units per integer weight unit (64)
VTH_MAX = 2 ** BITS["threshold"] - 1             #: 17-bit threshold mantissa
BIAS_MANT_MAX = 2 ** (BITS["bias_mantissa"] - 1) - 1  #: 13-bit signed bias mantissa
BIAS_EXP_MAX = BITS["bias_exp_max"]              #: 3-bit bias exponent
WEIGHT_EXP_MAX = BITS["weight_exp_max"]          #: largest dense weight exponent the compiler uses
INPUT_MAX = 2 ** (BITS["synaptic_input"] - 1) - 1  #: per-step synaptic input: a << 6 must fit the 24-bit u
WEIGHT_FULL = 2 ** BITS["weight_mantissa"] - 1   #: 255
WEIGHT_MIN, WEIGHT_MAX = -(WEIGHT_FULL + 1), WEIGHT_FULL  #: 8-bit weight mantissa with sign (Lava clip range)
NEVER = -1                                       #: spike time of a neuron that did not fire
T_MAX = 1024                                     #: longest reference window (steps) the toolchain accepts
GRADED_BITS = 24                                 #: graded-spike payload width (Lava GradedVec s_out precision=24)
PAYLOAD_MAX = 2 ** (GRADED_BITS - 1) - 1         #: largest |payload| a relay may send (signed 24-bit)

Array = Any  # numpy.ndarray or torch.Tensor of integers


def weight_grid(mixed_signs: bool, bits: int = BITS["weight_mantissa"]) -> Tuple[int, int, int]:
    """``(lo, hi, step)`` of the weight mantissas Lava keeps unchanged.

    Mixed-sign matrices lose one LSB: even values in ``[-2**bits, 2**bits - 2]``; single-sign
    ones keep all magnitude bits: ``[0, 2**bits - 1]`` (or its negative, see
    :func:`weight_grid_for`)."""
    full = 2 ** bits - 1
    return (-(full + 1), full - 1, 2) if mixed_signs else (0, full, 1)


def weight_grid_for(weights: np.ndarray, bits: int = BITS["weight_mantissa"]) -> Tuple[int, int, int]:
    """:func:`weight_grid` for a matrix with ``weights``' signs (``[-full, 0]`` when all <= 0)."""
    w = np.asarray(weights)
    if w.min(initial=0) >= 0:
        return weight_grid(False, bits)
    if w.max(initial=0) <= 0:
        return -weight_grid(False, bits)[1], 0, 1
    return weight_grid(True, bits)


def prepare_dense_weights(weights: np.ndarray, num_weight_bits: int = BITS["weight_mantissa"]) -> np.ndarray:
    """Lava's ``Dense`` weight preparation: clip to the sign mode's range, drop LSBs.

    Mixed-sign matrices lose one LSB (``51 -> 50``, ``-21 -> -22``); single-sign ones keep all
    8 magnitude bits.
    """
    w = np.asarray(weights).astype(np.int64)
    full_bits = BITS["weight_mantissa"]
    if w.min(initial=0) >= 0:
        w = np.clip(w, 0, WEIGHT_MAX)
        drop = full_bits - num_weight_bits
    elif w.max(initial=0) <= 0:
        w = np.clip(w, -WEIGHT_MAX, 0)
        drop = full_bits - num_weight_bits
    else:
        w = np.clip(w, WEIGHT_MIN, WEIGHT_MAX)
        drop = full_bits - num_weight_bits + 1
    return ((w >> drop) << drop).astype(np.int64)


def is_representable(weights: np.ndarray) -> bool:
    """True when Lava's weight preparation leaves ``weights`` unchanged."""
    w = np.asarray(weights)
    return bool(np.array_equal(prepare_dense_weights(w), w))


def effective_weight(mant: Array, weight_exp: int) -> Array:
    """Weight in integer weight units: ``mant << weight_exp`` (``weight_exp >= 0``)."""
    return mant << weight_exp


def weight_to_membrane(weight: Array) -> Array:
    """Integer weight units -> membrane units: ``w << 6`` (the MSB alignment of ``u = a << 6``)."""
    return weight << ACT_SHIFT


def membrane_to_weight(value: Array) -> Array:
    """Membrane units -> integer weight units (exact for multiples of 64): ``value >> 6``."""
    return value >> ACT_SHIFT


def effective_bias(bias_mant: Array, bias_exp: Array) -> Array:
    """Per-step bias in membrane units: ``bias_mant << bias_exp`` (exponent 0..7)."""
    return bias_mant << bias_exp


def threshold(vth: Array) -> Array:
    """Threshold in membrane units: ``vth << 6``."""
    return vth << ACT_SHIFT


def check_profile_bits(bits: Dict[str, Any]) -> Optional[str]:
    """The first key of a profile's ``[bits]`` table that disagrees with :data:`BITS`, described
    in words (``None`` when all agree): the integer arithmetic is fixed, a profile cannot change it."""
    for key, value in bits.items():
        if key not in BITS:
            return f"unknown [bits] key {key!r}"
        if value != BITS[key]:
            return f"[bits] {key} = {value!r}, but the integer semantics use {BITS[key]}"
    return None


def wrap_formula(x: Array) -> Array:
    """Wrap to the 24-bit range (-2**23, 2**23] as Lava does for ``u``: the floor modulo by
    2**24, written as a mask (equal for two's-complement integers, and branch-free)."""
    return ((x + (STATE_MAX - 1)) & (2 * STATE_MAX - 1)) - (STATE_MAX - 1)


def wrap_state(x: Array) -> Array:
    """:func:`wrap_formula`, skipping the modulo when no element of the array is out of range."""
    if not ((x > STATE_MAX) | (x <= -STATE_MAX)).any():  # fast path: nothing to wrap
        return x
    return wrap_formula(x)


def clip_state(v: Array) -> Array:
    """Saturate the membrane at +-(2**23 - 1) as Lava does for ``v``."""
    return v.clip(-V_LIMIT, V_LIMIT)


def integrate(v: Array, a_in: Array, bias: Array, active: bool = True) -> Array:
    """Sub-threshold update of one step: ``clip(v + wrap(a_in << 6) + bias)`` (membrane units).

    ``a_in`` is this step's synaptic input in integer weight units (after ``weight_exp``);
    ``bias`` the per-step bias in membrane units (:func:`effective_bias`), gated off when
    ``active`` is False (outside the layer's window).
    """
    u = wrap_state(a_in << ACT_SHIFT)
    return clip_state(v + u + bias * int(active))


def fire(v: Array, fired: Array, vth_scaled: Array, active: bool = True) -> Tuple[Array, Array, Array]:
    """Spike where ``v > vth_scaled`` and not fired yet; reset those to 0 and latch them.

    Returns ``(v, fired, spikes)``; nothing spikes when ``active`` is False.
    """
    spikes = (v > vth_scaled) & ~fired
    if not active:
        spikes = spikes & False
    return v * ~spikes, fired | spikes, spikes


def neuron_step(v: Array, fired: Array, a_in: Array, bias: Array, vth_scaled: Array,
                active: bool = True) -> Tuple[Array, Array, Array]:
    """Advance fire-once delta-synapse IF neurons by one time step: :func:`integrate` then
    :func:`fire`. Shapes broadcast; ``v`` int64 membrane units, ``fired`` bool.

    Returns ``(v, fired, spikes)`` after this step.
    """
    return fire(integrate(v, a_in, bias, active), fired, vth_scaled, active)


def relay_step(a_in: Array) -> Tuple[Array, Array]:
    """One step of relay neurons: ``(payload, sent)`` with ``payload = a_in`` (this step's exact
    synaptic input, integer weight units after ``weight_exp``) and ``sent = a_in != 0``.

    No state, no threshold, no bias, no latch: a relay sends every step its input is non-zero.
    The compiler keeps ``|a_in| <= PAYLOAD_MAX`` (a partial sum is bounded by the layer's
    ``max_step_input``), so the payload is never clipped or wrapped.
    """
    return a_in, a_in != 0
