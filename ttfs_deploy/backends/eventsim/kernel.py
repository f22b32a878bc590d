"""The event simulator's compiled inner loop (numba), one sample per thread.

The network arrives flattened (:class:`FlatNetwork`). Per sample and step, each input spike adds
its synapses into the layer's accumulator: a weight row for a dense layer, the kernel taps it
reaches for a conv layer (weights shared, never expanded), so synaptic work is spikes x fan-out.
Then every neuron of the layer takes one step of :func:`ttfs_deploy.semantics.integrate` and
:func:`ttfs_deploy.semantics.fire`, compiled from the very same functions the torch baseline runs
on tensors. Time steps are in the reference frame (all layers see step ``t`` at step ``t``).

Relay layers (fan-in splitting) step with :func:`ttfs_deploy.semantics.relay_step` instead: every
relay with a non-zero input sends it on as a graded spike, and every spike carries a payload
(1 for binary spikes) that multiplies the synapses it adds. Relays have no first-spike time
(their ``times`` stay :data:`NEVER`); their graded spikes are counted in ``spikes``.

Hot loops index slices (``row[i]``, not ``weights[start + i]``): an index known to be
non-negative spares numba's negative-index check, and the loops then vectorize (3x measured).
Runs of one or a few weights (the summing layers after relays) are indexed instead: a slice of
an array shared by the threads updates its reference count atomically, which costs more than
the adds (measured: 2x on the Fashion-MNIST 64-axon network's summing conv).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
from numba.extending import overload

from ttfs_deploy import semantics
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntLayer, IntNetwork
from ttfs_deploy.ir.synops import fan_out as layer_fan_out
from ttfs_deploy.semantics import NEVER

#: count columns of the kernel's output, in order (NeuroBench definitions, see docs/energy.md)
COUNT_KEYS = ("syn_ops", "dense_ops", "spikes", "updates_active", "updates_inactive")


@overload(semantics.wrap_state)
def _wrap_state_scalar(x):
    """Scalar form of :func:`semantics.wrap_state`: the branch-free formula itself."""
    wrap = numba.njit(semantics.wrap_formula, inline="always")
    return lambda x: wrap(x)


@overload(semantics.clip_state)
def _clip_state_scalar(v):
    """Scalar form of :func:`semantics.clip_state`."""
    limit = semantics.V_LIMIT
    return lambda v: min(max(v, -limit), limit)


_integrate = numba.njit(semantics.integrate, inline="always")
_fire = numba.njit(semantics.fire, inline="always")
_relay_step = numba.njit(semantics.relay_step, inline="always")


DENSE, CONV = 0, 1
#: columns of :attr:`FlatNetwork.geometry`
GEOMETRY = ("kind", "c_in", "h_in", "w_in", "c_out", "h_out", "w_out", "kh", "kw", "sh", "sw", "ph", "pw")


@dataclass
class FlatNetwork:
    """All layers of an integer network in flat arrays; layer ``l`` owns a slice of each.

    Weights are in integer weight units (``<< weight_exp``), laid out so that one input spike
    adds contiguous runs: dense layers as rows ``(n_in, n_out)``, conv layers as
    ``(c_in, kh, kw, c_out)`` into a channel-last accumulator ``(h_out, w_out, c_out)``.
    Neuron state is kept in that same order: ``order[neuron_start[l] + p]`` is the C-order
    neuron index of state slot ``p`` (the identity for dense layers), and ``bias``/``vth``
    (membrane units) are stored per slot. ``fan_out`` (non-zero synapses per input, at
    ``input_start[l]``) is what the synaptic-op count adds per spike. ``relay[l]`` is True for a
    relay layer. ``span_lo``/``span_hi`` (at ``span_start[l]``, one per weight run: a dense
    input, a conv ``(ci, ky, kx)`` tap) bound the run's non-zero weights, so a spike adds only
    ``[lo, hi)`` of it: a relay group's channels, a summing neuron's one input, never the zero
    blocks of a split layer (the sums are the same; the op counts come from ``fan_out``). Conv
    layers use them only when ``spanned[l]`` (layers made by the fan-in split), so that an
    ordinary conv's inner loop stays as it was.
    """

    geometry: np.ndarray
    weights: np.ndarray
    weight_start: np.ndarray
    neuron_start: np.ndarray
    order: np.ndarray
    bias: np.ndarray
    vth: np.ndarray
    fan_out: np.ndarray
    input_start: np.ndarray
    connections: np.ndarray
    relay: np.ndarray
    spanned: np.ndarray
    span_lo: np.ndarray
    span_hi: np.ndarray
    span_start: np.ndarray

    @classmethod
    def pack(cls, net: IntNetwork) -> "FlatNetwork":
        """Lay out ``net`` for :func:`_run`."""
        geometry, weights, orders, bias, vth, fan_out, spans = [], [], [], [], [], [], []
        for layer in net.layers:
            w = semantics.effective_weight(np.asarray(layer.weight).astype(np.int64), layer.weight_exp)
            slot_bias = layer.bias_per_neuron()
            if layer.kind == "dense":
                n_out, n_in = w.shape
                geometry.append([DENSE, n_in, 1, 1, n_out, 1, 1] + [0] * 6)
                weights.append(w.T.ravel())
                order = np.arange(n_out)
            else:
                c_out, c_in, kh, kw = w.shape
                _, h_out, w_out = layer.output_shape
                _, h_in, w_in = layer.input_shape
                geometry.append([CONV, c_in, h_in, w_in, c_out, h_out, w_out, kh, kw,
                                 *layer.stride, *layer.padding])
                weights.append(w.transpose(1, 2, 3, 0).ravel())
                order = np.arange(c_out * h_out * w_out).reshape(c_out, h_out, w_out).transpose(1, 2, 0).ravel()
            orders.append(order)
            spans.append(_nonzero_spans(weights[-1].reshape(-1, w.shape[0])))
            bias.append(slot_bias[order])
            vth.append(np.full(len(order), semantics.threshold(int(layer.vth)), np.int64))
            fan_out.append(layer_fan_out(layer))
        sizes = [len(o) for o in orders]
        return cls(
            geometry=np.asarray(geometry, dtype=np.int64),
            weights=_narrowest(np.concatenate(weights)),
            weight_start=np.cumsum([0] + [len(w) for w in weights])[:-1].astype(np.int64),
            neuron_start=np.cumsum([0] + sizes).astype(np.int64),
            order=np.concatenate(orders).astype(np.int64),
            bias=np.concatenate(bias).astype(np.int64),
            vth=np.concatenate(vth),
            fan_out=np.concatenate(fan_out).astype(np.int64),
            input_start=np.cumsum([0] + [len(f) for f in fan_out])[:-1].astype(np.int64),
            connections=np.asarray([connections(layer) for layer in net.layers], dtype=np.int64),
            relay=np.asarray([layer.neuron == "relay" for layer in net.layers], dtype=np.bool_),
            spanned=np.asarray([layer.split is not None for layer in net.layers], dtype=np.bool_),
            span_lo=np.concatenate([s[0] for s in spans]).astype(np.int64),
            span_hi=np.concatenate([s[1] for s in spans]).astype(np.int64),
            span_start=np.cumsum([0] + [len(s[0]) for s in spans])[:-1].astype(np.int64),
        )

    def run(self, input_times: np.ndarray, T: int, early_exit: bool, times: np.ndarray,
            v_final: np.ndarray, v_spike: np.ndarray, counts: np.ndarray) -> None:
        """Simulate ``input_times`` ((B, n_inputs) steps, -1 silent) for ``T`` steps, writing
        ``times`` (B, n_neurons) int32 first-spike steps (C-order per layer, -1 never), ``v_final`` and
        ``v_spike`` (B, n_out) and ``counts`` (B, n_layers, len(COUNT_KEYS)) in place."""
        _run(np.ascontiguousarray(input_times, dtype=np.int64), T, early_exit,
             self.geometry, self.weights, self.weight_start, self.neuron_start, self.order,
             self.bias, self.vth, self.fan_out, self.input_start, self.connections, self.relay,
             self.spanned, self.span_lo, self.span_hi, self.span_start, times, v_final, v_spike, counts)


    def compile(self, n_inputs: int) -> float:
        """Compile :func:`_run` for this network's array types, or load it from numba's on-disk
        cache (``cache=True``: ``__pycache__`` beside this file, or ``NUMBA_CACHE_DIR``), by
        running it on zero samples. Returns the seconds it took (about 10 s to compile, well
        under 1 s from the cache, 0 once loaded in this process), which callers report apart
        from simulation time."""
        start = time.perf_counter()
        n, L = int(self.neuron_start[-1]), len(self.geometry)
        n_out = int(self.neuron_start[-1] - self.neuron_start[-2]) if L else 0
        self.run(np.zeros((0, n_inputs), np.int64), 1, False, np.empty((0, n), np.int32),
                 np.empty((0, n_out), np.int64), np.empty((0, n_out), np.int64),
                 np.empty((0, L, len(COUNT_KEYS)), np.int64))
        return time.perf_counter() - start


def warm_up() -> float:
    """Compile (or load) the kernel for the weight type every Loihi network uses (int32), so a
    fresh install pays numba's compile once (``make install`` calls this); returns seconds."""
    layer = IntLayer("warm_up", "dense", np.ones((1, 1), np.int64), 0, np.zeros(1, np.int64),
                     np.zeros(1, np.int64), 1, (1,), hop_delay=1)
    return FlatNetwork.pack(IntNetwork((1,), 1, "latency", [layer])).compile(1)


def _nonzero_spans(runs: np.ndarray) -> tuple:
    """``(lo, hi)`` per row of ``runs``: the smallest range holding the row's non-zero entries
    (``lo == hi`` for a row of zeros)."""
    nz = runs != 0
    any_nz = nz.any(1)
    lo = np.where(any_nz, nz.argmax(1), 0)
    hi = np.where(any_nz, runs.shape[1] - nz[:, ::-1].argmax(1), 0)
    return lo, hi


def _narrowest(weights: np.ndarray) -> np.ndarray:
    """int32 when every weight fits (it does for Loihi's 8-bit mantissas), else int64."""
    fits = weights.size == 0 or np.abs(weights).max() < 2 ** 31
    return weights.astype(np.int32 if fits else np.int64)


@numba.njit(inline="always")
def _add_dense_row(acc, weights, start, lo, hi, payload):
    """One input spike into a dense layer: its weight row's non-zero span ``[lo, hi)`` times the
    spike's payload (binary spikes skip the multiply: 64-bit vector multiplies are slow without
    AVX-512)."""
    if hi - lo <= 4:  # a summing input's one weight: indexed, as a slice of the shared weights costs more
        for i in range(lo, hi):
            acc[i] += weights[start + i] * payload
        return
    row, acc_at = weights[start + lo:start + hi], acc[lo:hi]
    if payload == 1:
        for i in range(hi - lo):
            acc_at[i] += row[i]
    else:
        for i in range(hi - lo):
            acc_at[i] += row[i] * payload


@numba.njit(inline="always")
def _add_conv_taps(acc, weights, start, g, j, payload, spanned, span_lo, span_hi, spans):
    """One input spike ``j`` (C-order ``(ci, y, x)``) into a conv layer: for every output
    position its kernel tap reaches, the tap's ``c_out`` weights (contiguous in both arrays),
    or with ``spanned`` their non-zero span (``span_lo``/``span_hi`` per tap, from ``spans``),
    times the spike's payload."""
    c_in, h_in, w_in, c_out, h_out, w_out, kh, kw, sh, sw, ph, pw = g[1:]
    if kh == 1 and kw == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0:  # 1x1: one position
        hw = h_in * w_in
        ci = j // hw
        lo, hi = (span_lo[spans + ci], span_hi[spans + ci]) if spanned else (0, c_out)
        a, wi = (j - ci * hw) * c_out, start + ci * c_out
        for c in range(lo, hi):  # indexed, not sliced: a summing input's span is one weight
            acc[a + c] += weights[wi + c] * payload
        return
    ci, y, x = j // (h_in * w_in), (j // w_in) % h_in, j % w_in
    # output rows reached: oy * sh = y + ph - ky for some tap 0 <= ky < kh (likewise columns)
    for oy in range(max(0, (y + ph - kh + sh) // sh), min(h_out - 1, (y + ph) // sh) + 1):
        ky = y + ph - oy * sh
        for ox in range(max(0, (x + pw - kw + sw) // sw), min(w_out - 1, (x + pw) // sw) + 1):
            kx = x + pw - ox * sw
            tap = (ci * kh + ky) * kw + kx
            lo, hi = (span_lo[spans + tap], span_hi[spans + tap]) if spanned else (0, c_out)
            a = (oy * w_out + ox) * c_out + lo
            wi = start + tap * c_out + lo
            acc_at, taps = acc[a:a + hi - lo], weights[wi:wi + hi - lo]
            if payload == 1:
                for c in range(hi - lo):
                    acc_at[c] += taps[c]
            else:
                for c in range(hi - lo):
                    acc_at[c] += taps[c] * payload


def semantics_digest() -> str:
    """SHA-256 of ``semantics.py``'s source. numba's on-disk cache is keyed on this file's
    timestamp and the kernel's own bytecode, not on the functions it inlines from
    ``semantics.py``; :func:`_make_run` closes over this digest, which numba hashes into the
    cache key, so editing the integer semantics recompiles the kernel instead of loading a stale one."""
    return hashlib.sha256(Path(semantics.__file__).read_bytes()).hexdigest()


def _make_run(semantics_source: str):
    """The event-driven kernel, cached by numba per ``semantics_source`` (:func:`semantics_digest`)."""

    @numba.njit(parallel=True, cache=True)
    def _run(input_times, T, early_exit, geometry, weights, weight_start, neuron_start, order,
             bias, vth, fan_out, input_start, connections, relay, spanned, span_lo, span_hi, span_start,
             times, v_final, v_spike, counts):
        _cache_key = semantics_source  # a closure variable, so part of numba's cache key
        B, n_inputs = input_times.shape
        L = len(geometry)
        N = neuron_start[L]
        out0 = neuron_start[L - 1]
        widest = n_inputs
        for l in range(L):
            widest = max(widest, neuron_start[l + 1] - neuron_start[l])
        for b in numba.prange(B):
            times[b, :] = NEVER
            v_spike[b, :] = 0
            counts[b, :, :] = 0
            v = np.zeros(N, np.int64)
            fired = np.zeros(N, np.bool_)
            acc = np.zeros(widest, np.int64)
            spikes_in = np.empty(widest, np.int64)
            spikes_out = np.empty(widest, np.int64)
            payload_in = np.ones(widest, np.int64)    # binary spikes carry 1
            payload_out = np.ones(widest, np.int64)
            spiked = np.zeros(widest, np.bool_)
            v_pre = np.zeros(widest, np.int64)
            for t in range(T):
                n_in = 0
                for j in range(n_inputs):
                    if input_times[b, j] == t:
                        spikes_in[n_in] = j
                        payload_in[n_in] = 1
                        n_in += 1
                for l in range(L):
                    g = geometry[l]
                    first, n = neuron_start[l], neuron_start[l + 1] - neuron_start[l]
                    syn_ops = 0
                    spans = span_start[l]
                    for s in range(n_in):  # event-driven synaptic work: spikes x fan-out
                        j, p = spikes_in[s], payload_in[s]
                        syn_ops += fan_out[input_start[l] + j]
                        if g[0] == DENSE:
                            q = span_start[l] + j
                            _add_dense_row(acc, weights, weight_start[l] + j * n, span_lo[q], span_hi[q], p)
                        else:
                            _add_conv_taps(acc, weights, weight_start[l], g, j, p, spanned[l], span_lo, span_hi,
                                           spans)
                    n_spikes, active = 0, 0
                    v_l, fired_l = v[first:first + n], fired[first:first + n]
                    bias_l, vth_l = bias[first:first + n], vth[first:first + n]
                    if relay[l]:  # relays: this step's input goes on as a graded spike
                        k = 0
                        for q in range(n):
                            payload, sent = _relay_step(acc[q])
                            acc[q] = 0
                            if sent:
                                spikes_out[k] = order[first + q]
                                payload_out[k] = payload
                                k += 1
                        n_spikes = active = k
                    else:
                        for q in range(n):  # every neuron steps; branch-free so that it vectorizes
                            a_in = acc[q]
                            acc[q] = 0
                            v_pre[q] = _integrate(v_l[q], a_in, bias_l[q])
                            v_l[q], fired_l[q], spiked[q] = _fire(v_pre[q], fired_l[q], vth_l[q])
                            n_spikes += spiked[q]
                            active += (a_in != 0) | (bias_l[q] != 0) | spiked[q]
                    if n_spikes > 0 and not relay[l]:
                        k = 0
                        for q in range(n):
                            if spiked[q]:
                                i = order[first + q]
                                times[b, first + i] = t
                                spikes_out[k] = i
                                payload_out[k] = 1
                                k += 1
                                if l == L - 1:
                                    v_spike[b, i] = v_pre[q]
                    counts[b, l, 0] += syn_ops
                    counts[b, l, 1] += connections[l]
                    counts[b, l, 2] += n_spikes
                    counts[b, l, 3] += active
                    counts[b, l, 4] += n - active
                    spikes_in, spikes_out = spikes_out, spikes_in
                    payload_in, payload_out = payload_out, payload_in
                    n_in = n_spikes
                if early_exit and n_in > 0:  # the output layer spiked: the decision is made
                    break
            for p in range(out0, N):
                v_final[b, order[p]] = v[p]

    return _run


_run = _make_run(semantics_digest())
