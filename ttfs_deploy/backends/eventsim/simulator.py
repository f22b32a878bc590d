"""The integer event-driven simulator: the reference every other backend must match.

Execution is time-major in the reference frame (all layers advance one step, zero delay). Each
input spike adds its synapses into the next layer (a weight row for dense layers, the kernel taps
it reaches for conv layers: spikes x fan-out synaptic work) and the neurons step with
:mod:`ttfs_deploy.semantics`; the loop is compiled with numba and runs one sample per thread
(:mod:`.kernel`). With ``early_exit`` a sample stops at the step its first
output spike appears (the decision): later work is not done and not counted.

Counts per layer and per sample (NeuroBench definitions, see ``docs/energy.md``):
``syn_ops`` (effective accumulates = input spikes x non-zero fan-out), ``dense_ops``
(all connections x steps simulated), ``spikes``, ``updates_active`` (neuron-steps whose state
changed or that spiked), ``updates_inactive`` (the other neuron-steps).
"""

from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

from ttfs_deploy.backends.eventsim.kernel import COUNT_KEYS, FlatNetwork
from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.ir.network import IntNetwork


class EventSim:
    """A network prepared for repeated runs (flat weights built once)."""

    def __init__(self, net: IntNetwork) -> None:
        self.net = net
        start = time.perf_counter()
        self.flat = FlatNetwork.pack(net)
        self.pack_seconds = time.perf_counter() - start
        #: seconds numba took to compile (or load from its cache) the kernel for this network,
        #: paid here so that :meth:`run` times only simulation
        self.compile_seconds = self.flat.compile(net.n_inputs)

    def run(self, input_times: np.ndarray, early_exit: bool = False, batch_size: int = 1024,
            progress: bool = False) -> BackendResult:
        """Simulate ``input_times`` ((B, n_inputs) steps, -1 silent) in batches of ``batch_size``
        (the batches only pace the progress bar; samples run in parallel within a batch)."""
        input_times = self.net.check_input_times(input_times)
        B, flat, start = len(input_times), self.flat, time.perf_counter()
        times = np.empty((B, flat.neuron_start[-1]), np.int32)
        v_final = np.empty((B, self.net.layers[-1].n_neurons), np.int64)
        v_spike = np.empty_like(v_final)
        counts = np.empty((B, len(self.net.layers), len(COUNT_KEYS)), np.int64)
        for i in tqdm(range(0, B, batch_size), desc="eventsim", unit="batch", disable=None if progress else True,
                      leave=False):
            part = slice(i, i + batch_size)
            flat.run(input_times[part], self.net.T, early_exit, times[part], v_final[part], v_spike[part], counts[part])
        bounds = flat.neuron_start
        spike_times = [times[:, bounds[l]:bounds[l + 1]] for l in range(len(self.net.layers))]
        result = BackendResult("eventsim", spike_times, v_final, v_spike,
                               counts=[dict(zip(COUNT_KEYS, np.ascontiguousarray(counts[:, l].T)))
                                       for l in range(len(self.net.layers))],
                               seconds_per_sample=(time.perf_counter() - start) / max(1, B),
                               compile_seconds=self.pack_seconds + self.compile_seconds)
        if early_exit:
            result.stopped_at = result.decision
        return result


def simulate(net: IntNetwork, input_times: np.ndarray, early_exit: bool = False) -> BackendResult:
    """Run ``net`` on ``input_times`` ((B, n_inputs) steps, -1 silent)."""
    return EventSim(net).run(input_times, early_exit=early_exit)
