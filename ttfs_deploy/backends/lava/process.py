"""``FireOnceIF``: a Lava LIF process whose neurons fire at most once per sample.

Lava's stock ``LIF`` resets ``v`` to 0 after a spike and keeps integrating, so it fires again.
A TTFS neuron must fire at most once (Loihi's hardware refractory delay set to cover the whole
sample does the same). ``FireOnceIF`` adds a fired latch and a time window to ``LIF``.

Time and units (all Vars are integers in the ``fixed_pt`` model):

* ``step`` (shape ``(1,)``): the *local* step counter of this process, counted from 0 at the
  first step of a sample. During the Lava time step that is the ``k``-th step of the sample
  (``k = 0, 1, ...``) the models see ``step == k`` and increment it at the end of the step. When a
  step starts with ``step == 0`` the models clear ``u``, ``v``, ``fired``, ``first_spike`` and
  ``v_spike``, so resetting a process for the next sample only needs ``step.set([0])``.
* ``t_start``, ``t_stop`` (shape ``(1,)``): the window, in local steps. The bias is added to ``v``
  and spikes are allowed only while ``t_start <= step < t_stop``; synaptic input is integrated
  in every step (as the reference semantics does).
* ``fired`` (per neuron, 0/1): the latch; a neuron with ``fired == 1`` never spikes again.
* ``first_spike`` (per neuron): the local step of the neuron's one spike, ``-1`` until it fires.
* ``v_spike`` (per neuron): ``v`` at that spike, before the reset (same units as ``v``); 0 until
  the neuron fires. Decoders use it to break ties between outputs spiking in the same step.
* ``u``, ``v``, ``du``, ``dv``, ``bias_mant``, ``bias_exp``, ``vth``: as in Lava's ``LIF``. With
  ``du = 4095`` and ``dv = 0`` (the configuration ttfs-deploy uses) synapses are delta synapses
  and there is no leak. In ``fixed_pt``, ``v`` is in membrane units (1/64 of a weight unit), the
  per-step bias is ``bias_mant << bias_exp`` membrane units and a neuron spikes when
  ``v > semantics.threshold(vth)`` (strict).
"""

from __future__ import annotations

import typing as ty


from ttfs_deploy.backends.lava.py311 import ensure_lava

ensure_lava()

from lava.magma.core.process.variable import Var  # noqa: E402
from lava.proc.lif.process import LIF  # noqa: E402

from ttfs_deploy.semantics import NEVER  # noqa: E402  (``first_spike`` of a neuron that has not fired)


class FireOnceIF(LIF):
    """Fire-once integrate-and-fire neurons with a bias/spike window.

    Args:
        shape: neuron layout (Lava order, e.g. ``(X, Y, C)`` for conv layers).
        t_start: first local step (inclusive) of the window in which the bias is applied and
            spikes are allowed.
        t_stop: end of that window (exclusive), local steps.
        **kwargs: passed to :class:`lava.proc.lif.process.LIF` (``du``, ``dv``, ``vth``,
            ``bias_mant``, ``bias_exp``, ``u``, ``v``, ``name``, ...).
    """

    def __init__(self, *, shape: ty.Tuple[int, ...], t_start: int = 0, t_stop: int = 2 ** 30,
                 **kwargs: ty.Any) -> None:
        super().__init__(shape=shape, t_start=t_start, t_stop=t_stop, **kwargs)
        self.fired = Var(shape=shape, init=0)
        self.first_spike = Var(shape=shape, init=NEVER)
        self.v_spike = Var(shape=shape, init=0)
        self.step = Var(shape=(1,), init=0)
        self.t_start = Var(shape=(1,), init=int(t_start))
        self.t_stop = Var(shape=(1,), init=int(t_stop))
