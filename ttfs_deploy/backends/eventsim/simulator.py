"""The integer event-driven simulator: the reference every other backend must match.

Execution is time-major in the reference frame (all layers advance one step, zero delay):
at each step, the spikes a layer emitted are gathered as a sparse matrix and multiplied by the
next layer's sparse weights, so synaptic work is spikes x fan-out; the neuron update is
:func:`ttfs_deploy.semantics.neuron_step`, vectorized over samples. With ``early_exit`` a sample
stops at the step its first output spike appears (the decision): later work is not done and not
counted.

Counts per layer and per sample (NeuroBench definitions, see ``docs/energy.md``):
``syn_ops`` (effective accumulates = input spikes x non-zero fan-out), ``dense_ops``
(all connections x steps simulated), ``spikes``, ``updates_active`` (neuron-steps whose state
changed or that spiked), ``updates_inactive`` (the other neuron-steps), ``steps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from ttfs_deploy import semantics
from ttfs_deploy.compile.quantize import membrane_bounds
from ttfs_deploy.ir.connectivity import connections, layer_matrix
from ttfs_deploy.ir.network import NEVER, IntNetwork
from ttfs_deploy.model.decoder import decision_step, decode_prediction

DENSE_FRACTION = 0.25  #: layers with more non-zero synapses than this use a dense weight matrix
COUNT_KEYS = ("syn_ops", "dense_ops", "spikes", "updates_active", "updates_inactive")


@dataclass
class SimResult:
    """Outputs of a run over B samples.

    ``spike_times[l]``: (B, n_l) int64 first-spike step per neuron (reference frame, -1 never);
    ``v_final`` / ``v_spike``: (B, n_out) output membrane after the last step / at its spike
    (membrane units); ``decision``: (B,) step of the first output spike (-1 silent);
    ``counts[l][key]``: (B,) int64 per layer.
    """

    spike_times: List[np.ndarray]
    v_final: np.ndarray
    v_spike: np.ndarray
    decision: np.ndarray
    counts: List[Dict[str, np.ndarray]] = field(default_factory=list)

    @property
    def predictions(self) -> np.ndarray:
        return decode_prediction(self.spike_times[-1], self.v_spike, self.v_final)


class EventSim:
    """A network prepared for repeated runs (sparse matrices built once)."""

    def __init__(self, net: IntNetwork) -> None:
        self.net = net
        # transposed (n_in, n_out) CSR, effective weights in integer weight units; int32 state
        # where no input pattern can leave int32 (|v| < 2**30), else int64: exact either way
        matrices = [(layer_matrix(layer).astype(np.int64) * (1 << layer.weight_exp)).T.tocsr()
                    for layer in net.layers]
        self.dtypes = [np.int32 if membrane_bounds(layer, net.T)["max_abs_v"] < 2 ** 30 else np.int64
                       for layer in net.layers]
        self.weights_t = [w.astype(dt) for w, dt in zip(matrices, self.dtypes)]
        self.fan_out = [np.diff(w.indptr).astype(np.int64) for w in self.weights_t]
        # where most synapses exist (dense layers) a dense matrix is the cheaper right operand:
        # spikes x fan-out either way, without the sparse-product bookkeeping
        self.weights_dense = [w.toarray() if w.nnz > DENSE_FRACTION * w.shape[0] * w.shape[1] else None
                              for w in self.weights_t]
        self.connections = [connections(layer) for layer in net.layers]
        self.bias = [layer.bias_per_neuron().astype(dt) for layer, dt in zip(net.layers, self.dtypes)]
        self.bias_everywhere = [bool((b != 0).all()) for b in self.bias]
        self.vth = [semantics.threshold(dt(layer.vth)) for layer, dt in zip(net.layers, self.dtypes)]

    def run(self, input_times: np.ndarray, early_exit: bool = False, batch_size: int = 256,
            progress: bool = False) -> SimResult:
        """Simulate ``input_times`` ((B, n_inputs) steps, -1 silent) in batches of ``batch_size``."""
        input_times = np.asarray(input_times, dtype=np.int64)
        if input_times.ndim != 2 or input_times.shape[1] != self.net.n_inputs:
            raise ValueError(f"input_times must be (B, {self.net.n_inputs}), got {input_times.shape}")
        starts = range(0, len(input_times), batch_size)
        parts = [self._run_batch(input_times[i:i + batch_size], early_exit)
                 for i in tqdm(starts, desc="eventsim", unit="batch", disable=None if progress else True, leave=False)]
        return SimResult(
            spike_times=[np.concatenate([p.spike_times[l] for p in parts]) for l in range(len(self.net.layers))],
            v_final=np.concatenate([p.v_final for p in parts]),
            v_spike=np.concatenate([p.v_spike for p in parts]),
            decision=np.concatenate([p.decision for p in parts]),
            counts=[{k: np.concatenate([p.counts[l][k] for p in parts]) for k in COUNT_KEYS}
                    for l in range(len(self.net.layers))])

    def _synaptic_input(self, l: int, rows: np.ndarray, cols: np.ndarray, B: int) -> np.ndarray:
        """Sum of the weights of this step's input spikes ``(rows = sample, cols = input)``:
        (B, n_out) in integer weight units. A sparse spike matrix times the sparse weights does
        spikes x fan-out work; dense layers use a dense right operand (spikes x n_out)."""
        w, dt = self.weights_t[l], self.dtypes[l]
        s_in = sp.csr_matrix((np.ones(len(rows), dt), (rows, cols)), shape=(B, w.shape[0]))
        if self.weights_dense[l] is not None:
            return s_in @ self.weights_dense[l]
        return (s_in @ w).toarray()

    def _run_batch(self, input_times: np.ndarray, early_exit: bool) -> SimResult:
        net, B = self.net, len(input_times)
        sizes = [layer.n_neurons for layer in net.layers]
        v = [np.zeros((B, n), dt) for n, dt in zip(sizes, self.dtypes)]
        fired = [np.zeros((B, n), bool) for n in sizes]
        times = [np.full((B, n), NEVER, np.int64) for n in sizes]
        v_spike = np.zeros((B, sizes[-1]), np.int64)
        counts = [{k: np.zeros(B, np.int64) for k in COUNT_KEYS} for _ in sizes]
        running = np.ones(B, bool)
        for t in range(net.T):
            live = running.astype(np.int64)
            rows, cols = np.nonzero((input_times == t) & running[:, None])
            for l in range(len(sizes)):
                a_in = self._synaptic_input(l, rows, cols, B)
                v_pre = semantics.integrate(v[l], a_in, self.bias[l])
                v[l], fired[l], spikes = semantics.fire(v_pre, fired[l], self.vth[l])
                spikes &= running[:, None]
                c = counts[l]
                c["syn_ops"] += np.bincount(rows, weights=self.fan_out[l][cols], minlength=B).astype(np.int64)
                c["dense_ops"] += self.connections[l] * live
                active = (sizes[l] if self.bias_everywhere[l]
                          else ((a_in != 0) | (self.bias[l] != 0) | spikes).sum(1))
                c["updates_active"] += active * live
                c["updates_inactive"] += (sizes[l] - active) * live
                rows, cols = np.nonzero(spikes)
                times[l][rows, cols] = t
                c["spikes"] += np.bincount(rows, minlength=B)
                if l == len(sizes) - 1:
                    v_spike[rows, cols] = v_pre[rows, cols]
            if early_exit:
                running &= ~fired[-1].any(1)
                if not running.any():
                    break
        return SimResult(times, v[-1], v_spike, decision_step(times[-1]), counts)


def simulate(net: IntNetwork, input_times: np.ndarray, early_exit: bool = False) -> SimResult:
    """Run ``net`` on ``input_times`` ((B, n_inputs) steps, -1 silent)."""
    return EventSim(net).run(input_times, early_exit=early_exit)
