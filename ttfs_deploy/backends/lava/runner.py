"""Run an :class:`~ttfs_deploy.ir.network.IntNetwork` in Lava, sample by sample, on one graph.

:class:`LavaNetwork` builds the process graph once (:func:`~.network.build_graph`); :meth:`run`
compiles it on the first sample and reuses it for every further sample: between samples it sets
the ``RingBuffer`` data and each layer's local ``step`` counter back to 0 (a ``FireOnceIF`` step
that starts at ``step == 0`` clears ``u``, ``v``, ``fired``, ``first_spike`` and ``v_spike``
itself; the synapse buffers are already empty at the end of a sample, because nothing spikes in
its last step). Each sample runs ``RunSteps(T + L)`` with ``Loihi2SimCfg(select_tag=...)``
(:func:`run_config`). The runtime is always stopped at the end of :meth:`run`; Lava cannot
restart a stopped runtime (it crashes), so the next :meth:`run` builds a fresh graph.

Why not ``Var.set`` every state Var: Lava's ``Var.set``/``Var.get`` move one element per message
(about 25 us each), so resetting ``u``, ``v``, ``fired``, ``first_spike`` of every neuron would
cost ``4 x neurons`` messages per sample; clearing at ``step == 0`` costs one message per layer.

Times: spike times come back in the *reference frame* (layer ``l``'s hop delay ``l`` removed),
``NEVER`` (-1) for neurons that did not fire, flattened in our C-order ``(C, H, W)``. Relay
layers (fan-in splitting, Lava ``GradedVec``) have no first-spike times: their rows stay ``NEVER``.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Iterable, List, Optional

import numpy as np

from ttfs_deploy import semantics
from ttfs_deploy.backends.lava.py311 import ensure_lava
from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.semantics import NEVER

ensure_lava()

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402

from ttfs_deploy.backends.lava.models import (PyFireOnceIFModelFixed,  # noqa: E402
                                              PyFireOnceIFModelFloat)
from ttfs_deploy.backends.lava.network import LavaGraph, build_graph  # noqa: E402
from ttfs_deploy.backends.lava.process import FireOnceIF  # noqa: E402

#: the FireOnceIF process model used for each Lava select tag
PROCESS_MODELS = {"fixed_pt": PyFireOnceIFModelFixed, "floating_pt": PyFireOnceIFModelFloat}


def run_config(graph: LavaGraph) -> Loihi2SimCfg:
    """``Loihi2SimCfg(select_tag=graph.select_tag)`` naming the FireOnceIF model explicitly.

    Lava looks an exception up by Process *instance* while building the graph (which skips its
    directory scan for models) and by Process *class* when selecting; both keys are given.
    """
    model = PROCESS_MODELS[graph.select_tag]
    exceptions: Dict[Any, Any] = {FireOnceIF: model}
    exceptions.update({neuron: model for _, neuron in graph.fire_once})
    return Loihi2SimCfg(select_tag=graph.select_tag, exception_proc_model_map=exceptions)


def _progress(iterable: Iterable[int], total: int, enabled: bool) -> Iterable[int]:
    if not enabled:
        return iterable
    try:
        from rich.progress import track
    except ImportError:  # pragma: no cover - rich is a dependency
        return iterable
    return track(iterable, total=total, description="lava")


class LavaNetwork:
    """An :class:`IntNetwork` as one Lava graph: ``RingBuffer -> [Dense|Conv -> FireOnceIF]*``.

    Args:
        net: the deployable network.
        select_tag: ``"fixed_pt"`` (default; bit-accurate, must match
            :mod:`ttfs_deploy.semantics`) or ``"floating_pt"``.
    """

    def __init__(self, net: IntNetwork, *, select_tag: str = "fixed_pt") -> None:
        self.net = net
        self.select_tag = select_tag
        self._graph: Optional[LavaGraph] = build_graph(net, select_tag)

    @property
    def hop_delays(self) -> List[int]:
        """Steps by which each layer lags the reference frame in Lava (layer ``l``: ``l``)."""
        return [int(layer.hop_delay) for layer in self.net.layers]

    @property
    def total_steps(self) -> int:
        """Lava steps per sample: ``T + hop_delay(last layer)``."""
        return self.net.total_steps

    def run(self, input_times: np.ndarray, *, progress: bool = False) -> BackendResult:
        """Run every sample through the one compiled graph.

        Args:
            input_times: ``(B, n_inputs)`` int64 input spike times, reference-frame steps
                ``0..T-1``, ``NEVER`` (-1) = no spike.
            progress: show a progress bar (rich).

        Returns:
            :class:`~ttfs_deploy.backends.result.BackendResult` (backend ``lava``) with
            reference-frame spike times of every layer; ``v_final`` and ``v_spike`` read from the
            last layer's ``v`` and ``v_spike`` Vars (membrane units).
        """
        times = self.net.check_input_times(input_times)
        n_samples = times.shape[0]
        spike_times = [np.full((n_samples, layer.n_neurons), NEVER, dtype=np.int64)
                       for layer in self.net.layers]
        v_final = np.zeros((n_samples, self.net.n_classes), dtype=np.int64)
        v_spike = np.zeros_like(v_final)
        if n_samples == 0:
            return BackendResult("lava", spike_times, v_final, v_spike)
        graph = self._graph if self._graph is not None else build_graph(self.net, self.select_tag)
        self._graph = None  # consumed: a stopped Lava runtime cannot be started again
        steps = graph.steps_per_sample
        anchor: Any = graph.neurons[-1]
        compile_seconds = 0.0
        loop_start = time.perf_counter()
        try:
            for b in _progress(range(n_samples), n_samples, progress):
                data = graph.input_data(times[b])
                if anchor.runtime is None:
                    graph.source.data.init = data   # first sample: initial value, then compile
                    start = time.perf_counter()
                    anchor.create_runtime(run_cfg=run_config(graph))
                    compile_seconds = time.perf_counter() - start
                else:
                    graph.source.data.set(data)
                    for _, neuron in graph.fire_once:   # relays (GradedVec) keep no state
                        neuron.step.set(np.zeros(1))
                anchor.run(condition=RunSteps(num_steps=steps))
                self._read_back(graph, b, spike_times, v_final, v_spike)
        finally:
            # Runtime.stop() on a runtime that was initialized but never started blocks forever
            # (lava-nc 0.10.0), so only a started runtime is stopped.
            runtime = anchor.runtime
            if runtime is not None and getattr(runtime, "_is_started", True):
                anchor.stop()
        seconds = (time.perf_counter() - loop_start - compile_seconds) / n_samples
        return BackendResult("lava", spike_times, v_final, v_spike, seconds_per_sample=seconds,
                             compile_seconds=compile_seconds)

    def _read_back(self, graph: LavaGraph, b: int, spike_times: List[np.ndarray],
                   v_final: np.ndarray, v_spike: np.ndarray) -> None:
        for index, neuron in graph.fire_once:   # relay layers have no first-spike times
            local = np.rint(neuron.first_spike.get()).astype(np.int64)
            ours = graph.layouts[index].to_ours(local)[0]
            spike_times[index][b] = np.where(ours == NEVER, NEVER, ours - graph.hop_delays[index])
        last, layout = graph.neurons[-1], graph.layouts[-1]
        v_final[b] = layout.to_ours(self._membrane_units(last.v.get()))[0]
        v_spike[b] = layout.to_ours(self._membrane_units(last.v_spike.get()))[0]

    def _membrane_units(self, values: Any) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if self.select_tag == "floating_pt":
            v = v * 2.0 ** semantics.ACT_SHIFT   # weight units -> membrane units
        return np.rint(v).astype(np.int64)


def run_lava(net: IntNetwork, input_times: np.ndarray, *, select_tag: str = "fixed_pt",
             progress: bool = False) -> BackendResult:
    """Build a :class:`LavaNetwork` for ``net`` and run ``input_times`` through it."""
    return LavaNetwork(net, select_tag=select_tag).run(input_times, progress=progress)
