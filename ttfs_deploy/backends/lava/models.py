"""Process models of :class:`~ttfs_deploy.backends.lava.process.FireOnceIF`.

``fixed_pt`` (:class:`PyFireOnceIFModelFixed`) keeps Lava's own fixed-point LIF arithmetic
(``AbstractPyLifModelFixed.subthr_dynamics``: ``u`` = decayed ``u`` + ``a_in`` in membrane units wrapped to
24 bits, ``v`` = decayed ``v`` + ``u`` + bias clipped to +-(2**23 - 1)) and changes only three
hooks:

* ``scale_bias``: the bias ``bias_mant << bias_exp`` (membrane units) is applied only while
  ``t_start <= step < t_stop``, and is 0 outside the window;
* ``scale_threshold``: ``semantics.threshold(vth)`` (membrane units), as in ``PyLifModelBitAcc``;
* ``spiking_activation``: spike iff ``v > semantics.threshold(vth)`` (strict), the neuron has not fired yet and
  ``step`` is inside the window; sets the ``fired`` latch and records ``first_spike = step``
  and ``v_spike = v`` (before the reset).

Spiking neurons get ``v = 0`` (Lava's ``reset_voltage``). The ``step`` counter (local steps of the
sample) advances by one at the end of every Lava time step; a time step that starts with
``step == 0`` first clears ``u``, ``v``, ``fired``, ``first_spike`` and ``v_spike`` (start of a
new sample).

With ``du = 4095, dv = 0`` this is exactly :func:`ttfs_deploy.semantics.neuron_step` (with the
window as ``active``); the ``floating_pt`` model (:class:`PyFireOnceIFModelFloat`) is the same
recurrence in floating point and in weight units (``v_float = v_fixed / 64``).
"""

from __future__ import annotations

import numpy as np

from ttfs_deploy.backends.lava.py311 import ensure_lava
from ttfs_deploy.semantics import MEMBRANE_PER_WEIGHT, NEVER

ensure_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.ports import PyOutPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402
from lava.proc.lif.models import AbstractPyLifModelFixed, AbstractPyLifModelFloat  # noqa: E402

from ttfs_deploy.backends.lava.process import FireOnceIF  # noqa: E402


class _WindowMixin:
    """Local step counter, window test and start-of-sample clearing shared by both models."""

    step: np.ndarray
    t_start: np.ndarray
    t_stop: np.ndarray
    u: np.ndarray
    v: np.ndarray
    fired: np.ndarray
    first_spike: np.ndarray
    v_spike: np.ndarray

    def in_window(self) -> bool:
        """True while the current local step is inside ``[t_start, t_stop)``."""
        k = int(self.step[0])
        return int(self.t_start[0]) <= k < int(self.t_stop[0])

    def clear_if_sample_start(self) -> None:
        """At local step 0 (a new sample) clear the neuron state and the latch."""
        if int(self.step[0]) == 0:
            self.u[...] = 0
            self.v[...] = 0
            self.fired[...] = 0
            self.first_spike[...] = NEVER
            self.v_spike[...] = 0

    def latch(self, candidates: np.ndarray) -> np.ndarray:
        """Spikes = candidates that are in the window and not yet fired; sets the latch and
        records the step and the (pre-reset) ``v`` of each spike."""
        if not self.in_window():
            return np.zeros(self.v.shape, dtype=bool)
        spikes = candidates & (self.fired == 0)   # int Var: compare, do not use bitwise ~
        self.fired[spikes] = 1
        self.first_spike[spikes] = self.step[0]
        self.v_spike[spikes] = self.v[spikes]
        return spikes


@implements(proc=FireOnceIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFireOnceIFModelFixed(_WindowMixin, AbstractPyLifModelFixed):
    """Bit-accurate fixed-point fire-once IF (Lava's LIF arithmetic + window + latch).

    Units: ``a_in`` integer weight units per step; ``u``, ``v`` membrane units (24-bit signed);
    bias per step ``bias_mant << bias_exp`` membrane units; threshold ``semantics.threshold(vth)``.
    """

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: int = LavaPyType(int, np.int32, precision=17)
    fired: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    first_spike: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v_spike: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    t_start: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    t_stop: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def __init__(self, proc_params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(proc_params)
        self.effective_vth = 0

    def scale_bias(self) -> None:
        """Lava's ``bias_mant << bias_exp``, gated to the window (0 outside it)."""
        super().scale_bias()
        if not self.in_window():
            self.effective_bias = np.zeros_like(self.effective_bias)

    def scale_threshold(self) -> None:
        """Threshold in membrane units: ``semantics.threshold(vth)`` (computed once)."""
        self.effective_vth = np.left_shift(np.int32(self.vth), self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self) -> np.ndarray:
        """Strict ``v > semantics.threshold(vth)``, once per neuron, only inside the window."""
        return self.latch(self.v > self.effective_vth)

    def run_spk(self) -> None:
        self.clear_if_sample_start()
        super().run_spk()  # recv a_in, dynamics, spike, reset v, send s_out
        self.step[0] += 1


@implements(proc=FireOnceIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFireOnceIFModelFloat(_WindowMixin, AbstractPyLifModelFloat):
    """Floating-point fire-once IF, in weight units.

    The parameters keep their fixed-point meaning so one process runs under both tags: the
    current decays by ``(du + 1) / 4096`` (``du = 4095``: delta synapse), the voltage by
    ``dv / 4096``, the per-step bias is ``bias_mant * 2**bias_exp / 64`` and the neuron spikes
    when ``v > vth`` (strict). ``a_in`` comes from float ``Dense``/``Conv`` models, which ignore
    ``weight_exp``: scale the weights by ``2**weight_exp`` yourself. ``v`` is in weight units
    (the fixed-point ``v`` divided by 64); no 24-bit wrap or saturation.
    """

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    vth: float = LavaPyType(float, float)
    fired: np.ndarray = LavaPyType(np.ndarray, np.int32)
    first_spike: np.ndarray = LavaPyType(np.ndarray, np.int32)
    v_spike: np.ndarray = LavaPyType(np.ndarray, float)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32)
    t_start: np.ndarray = LavaPyType(np.ndarray, np.int32)
    t_stop: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """``u = u (1 - (du+1)/4096) + a_in``; ``v = v (1 - dv/4096) + u + bias`` (windowed)."""
        bias = self.bias_mant * np.exp2(self.bias_exp) / MEMBRANE_PER_WEIGHT if self.in_window() else 0.0
        self.u[:] = self.u * (1.0 - (self.du + 1.0) / 4096.0) + activation_in
        self.v[:] = self.v * (1.0 - self.dv / 4096.0) + self.u + bias

    def spiking_activation(self) -> np.ndarray:
        """Strict ``v > vth``, once per neuron, only inside the window."""
        return self.latch(self.v > self.vth)

    def run_spk(self) -> None:
        self.clear_if_sample_start()
        super().run_spk()
        self.step[0] += 1
