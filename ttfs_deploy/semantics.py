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

from typing import Any, Tuple

import numpy as np

STATE_BITS = 24                      #: width of u and v
STATE_MAX = 2 ** (STATE_BITS - 1)    #: 2**23
V_LIMIT = STATE_MAX - 1              #: v saturates at +-(2**23 - 1)
ACT_SHIFT = 6                        #: synaptic input and threshold are shifted left by 6
VTH_MAX = 2 ** 17 - 1                #: 17-bit threshold mantissa
BIAS_MANT_MAX = 2 ** 12 - 1          #: 13-bit signed bias mantissa
BIAS_EXP_MAX = 7                     #: 3-bit bias exponent
INPUT_MAX = 2 ** 17 - 1              #: per-step synaptic input: a << 6 must fit the 24-bit u
WEIGHT_MIN, WEIGHT_MAX = -256, 255   #: 8-bit weight mantissa with sign (Lava clip range)
GRADED_BITS = 24                     #: graded-spike payload width (Lava GradedVec s_out precision=24)
PAYLOAD_MAX = 2 ** (GRADED_BITS - 1) - 1  #: largest |payload| a relay may send (signed 24-bit)

Array = Any  # numpy.ndarray or torch.Tensor of integers


def prepare_dense_weights(weights: np.ndarray, num_weight_bits: int = 8) -> np.ndarray:
    """Lava's ``Dense`` weight preparation: clip to the sign mode's range, drop LSBs.

    Mixed-sign matrices lose one LSB (``51 -> 50``, ``-21 -> -22``); single-sign ones keep all
    8 magnitude bits.
    """
    w = np.asarray(weights).astype(np.int64)
    if w.min(initial=0) >= 0:
        w = np.clip(w, 0, WEIGHT_MAX)
        drop = 8 - num_weight_bits
    elif w.max(initial=0) <= 0:
        w = np.clip(w, -WEIGHT_MAX, 0)
        drop = 8 - num_weight_bits
    else:
        w = np.clip(w, WEIGHT_MIN, WEIGHT_MAX)
        drop = 8 - num_weight_bits + 1
    return ((w >> drop) << drop).astype(np.int64)


def is_representable(weights: np.ndarray) -> bool:
    """True when Lava's weight preparation leaves ``weights`` unchanged."""
    w = np.asarray(weights)
    return bool(np.array_equal(prepare_dense_weights(w), w))


def effective_bias(bias_mant: Array, bias_exp: Array) -> Array:
    """Per-step bias in membrane units: ``bias_mant << bias_exp`` (exponent 0..7)."""
    return bias_mant << bias_exp


def threshold(vth: Array) -> Array:
    """Threshold in membrane units: ``vth << 6``."""
    return vth << ACT_SHIFT


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
