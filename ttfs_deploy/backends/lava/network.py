"""Build one Lava process graph for an :class:`~ttfs_deploy.ir.network.IntNetwork`.

Graph: ``RingBuffer`` (input spikes) -> for each layer ``Dense`` or ``Conv`` -> ``FireOnceIF``.

Layouts. ttfs-deploy stores tensors channel-first in C-order ``(C, H, W)``; Lava's ``Conv``
works on ``(X, Y, C)`` = ``(W, H, C)`` tensors with kernels ``(C_out, kW, kH, C_in)`` and computes
a true convolution (scipy ``convolve2d``), whereas our kernels are cross-correlation kernels
(PyTorch/NIR). Every tensor that crosses a Lava port therefore has a *Lava layout*: a Lava shape
and a permutation ``perm`` with ``lava_flat[j] == ours_flat[perm[j]]``:

* conv inputs/outputs: shape ``(W, H, C)``, ``perm`` = :func:`whc_perm`;
* a dense layer feeding a conv layer: shape ``(n,)`` with the conv's ``(W, H, C)`` order (its
  ``s_out`` is reshaped to ``(W, H, C)``); any other dense layer: ``(n,)``, identity.

Relay layers (fan-in splitting) are the same synapses followed by Lava's ``GradedVec`` with
``vth = 0`` instead of ``FireOnceIF``: it sends its input ``a_in`` every step as a graded spike
(nothing when ``a_in == 0``), which is :func:`ttfs_deploy.semantics.relay_step`; the synapses
after a relay layer take graded spikes (``num_message_bits = 24``: ``a = W @ payload``), see
:func:`build_relay` and :func:`message_bits`. A relay is one more hop like any layer.

``Dense`` weights are permuted to ``W[out_perm][:, in_perm]``; conv kernels become
``w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)`` (flip for convolution, then ``(C_out, kW, kH,
C_in)``); padding and stride are given to Lava as ``(x, y) = (w, h)``.

Timing. The ``RingBuffer`` sends its data column ``k`` at local step ``k`` of a sample (Lava's
``time_step`` counts from 1 and the buffer index is ``(time_step - 1) % K``, with ``K`` the
buffer length = the steps run per sample). Each ``Dense``/``Conv`` hop delays by one step
(``a_out(t) = a_buff(t - 1)``), so layer ``l`` (1-based) integrates the input of reference step
``t`` at local step ``t + l``: its hop delay is ``l``, and its window (bias on, spikes allowed) is
local steps ``[l, l + T)``. A sample runs ``K = T + L`` steps (``IntNetwork.total_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ttfs_deploy import semantics
from ttfs_deploy.backends.lava.py311 import ensure_lava
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import IntLayer, IntNetwork
from ttfs_deploy.semantics import NEVER

ensure_lava()

from lava.proc.conv.process import Conv  # noqa: E402
from lava.proc.dense.process import Dense  # noqa: E402
from lava.proc.graded.process import GradedVec  # noqa: E402
from lava.proc.io.source import RingBuffer  # noqa: E402

from ttfs_deploy.backends.lava.process import FireOnceIF  # noqa: E402

SELECT_TAGS = ("fixed_pt", "floating_pt")
DU_DELTA = 4095  #: current decay 4096/4096: delta synapses
DV_NO_LEAK = 0   #: no voltage leak


def whc_perm(shape: Tuple[int, int, int]) -> np.ndarray:
    """``perm``: ``lava_flat[j] = ours_flat[perm[j]]``, ours ``(C, H, W)``, Lava ``(W, H, C)``."""
    c, h, w = shape
    return np.arange(c * h * w).reshape(c, h, w).transpose(2, 1, 0).ravel()


def whc_shape(shape: Tuple[int, int, int]) -> Tuple[int, int, int]:
    """``(C, H, W)`` -> ``(W, H, C)``."""
    c, h, w = shape
    return (w, h, c)


def conv_kernel_to_lava(weight: np.ndarray) -> np.ndarray:
    """Cross-correlation kernel ``(C_out, C_in, kH, kW)`` -> Lava convolution kernel
    ``(C_out, kW, kH, C_in)`` (spatially flipped)."""
    return np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))


@dataclass
class Layout:
    """How a tensor of ours is laid out on a Lava port (see the module docstring)."""

    shape: Tuple[int, ...]      #: Lava shape of the port / process
    perm: np.ndarray            #: lava_flat[j] == ours_flat[perm[j]]

    @property
    def size(self) -> int:
        return int(self.perm.size)

    def to_ours(self, lava_values: np.ndarray) -> np.ndarray:
        """Lava-shaped values (any leading batch dims allowed) -> our flat C-order."""
        lava_flat = np.asarray(lava_values).reshape(-1, self.size)
        ours = np.empty_like(lava_flat)
        ours[:, self.perm] = lava_flat
        return ours


def _identity(n: int) -> Layout:
    return Layout((n,), np.arange(n))


def _conv_layout(shape: Tuple[int, ...]) -> Layout:
    shape3 = tuple(int(s) for s in shape)
    if len(shape3) != 3:
        raise TTFSError(f"a conv layer needs a (C, H, W) input, got shape {shape}",
                        "check the network's input_shape")
    return Layout(whc_shape(shape3), whc_perm(shape3))  # type: ignore[arg-type]


def validate_network(net: IntNetwork) -> None:
    """Reject networks the Lava graph cannot run exactly: :meth:`IntNetwork.validate` (again, in
    case the network was edited after construction)."""
    net.validate()


@dataclass
class LavaGraph:
    """The Lava processes of one network, and how our tensors map onto them."""

    net: IntNetwork
    select_tag: str
    source: Any                          #: RingBuffer
    synapses: List[Any]                  #: Dense / Conv per layer
    neurons: List[Any]                   #: FireOnceIF per layer
    input_layout: Layout
    layouts: List[Layout]                #: per layer, its neurons' layout
    hop_delays: List[int] = field(default_factory=list)

    @property
    def fire_once(self) -> List[Tuple[int, Any]]:
        """``(layer index, FireOnceIF)`` of every layer that is not a relay layer."""
        return [(index, neuron) for index, neuron in enumerate(self.neurons)
                if isinstance(neuron, FireOnceIF)]

    @property
    def steps_per_sample(self) -> int:
        """Lava steps per sample (:attr:`IntNetwork.total_steps`)."""
        return self.net.total_steps

    def input_data(self, input_times: np.ndarray) -> np.ndarray:
        """One sample's spike times (ours, flat, NEVER = -1) -> RingBuffer data
        ``lava_shape + (K,)``: column ``t`` holds the spikes of reference step ``t``."""
        k = self.steps_per_sample
        times = np.asarray(input_times, dtype=np.int64).reshape(-1)[self.input_layout.perm]
        data = np.zeros((times.size, k), dtype=np.int32)
        fired = times != NEVER
        data[np.nonzero(fired)[0], times[fired]] = 1
        if self.select_tag == "floating_pt":
            data = data.astype(float)
        return data.reshape(self.input_layout.shape + (k,))


def _layer_layout(layer: IntLayer, next_layer: Optional[IntLayer]) -> Layout:
    if layer.kind == "conv":
        return _conv_layout(layer.output_shape)
    if next_layer is not None and next_layer.kind == "conv":
        inner = _conv_layout(next_layer.input_shape)
        return Layout((layer.n_neurons,), inner.perm)
    return _identity(layer.n_neurons)


def _dense_synapses(layer: IntLayer, layout: Layout, prev_port: Any, prev_layout: Layout, floating: bool,
                    bits: int = 0) -> Any:
    """``Dense`` with weights permuted to the Lava layouts, ``bits`` message bits (graded input
    from relays, else 0); connected from ``prev_port``."""
    w = np.asarray(layer.weight, dtype=np.int64)[layout.perm][:, prev_layout.perm]
    if floating:
        syn = Dense(weights=w.astype(float) * 2.0 ** layer.weight_exp, weight_exp=0, name=f"{layer.name}.dense")
    else:
        syn = Dense(weights=w.astype(np.int32), weight_exp=int(layer.weight_exp), num_message_bits=bits,
                    name=f"{layer.name}.dense")
    in_port = prev_port if len(prev_layout.shape) == 1 else prev_port.flatten()
    in_port.connect(syn.s_in)
    return syn


def _conv_synapses(layer: IntLayer, layout: Layout, prev_port: Any, prev_layout: Layout, floating: bool,
                   bits: int = 0) -> Any:
    """``Conv`` with the flipped ``(C_out, kW, kH, C_in)`` kernel and ``bits`` message bits;
    connected from ``prev_port``."""
    kernel = conv_kernel_to_lava(np.asarray(layer.weight, dtype=np.int64))
    in_shape = whc_shape(tuple(layer.input_shape))  # type: ignore[arg-type]
    syn = Conv(weight=kernel.astype(float if floating else np.int32), weight_exp=0, input_shape=in_shape,
               padding=(int(layer.padding[1]), int(layer.padding[0])),
               stride=(int(layer.stride[1]), int(layer.stride[0])), num_message_bits=bits, name=f"{layer.name}.conv")
    if tuple(syn.output_shape) != tuple(layout.shape):
        raise TTFSError(f"layer {layer.name!r}: Lava conv output {syn.output_shape} differs from {layout.shape}",
                        "recompile the model")
    in_port = prev_port if tuple(prev_layout.shape) == in_shape else prev_port.reshape(in_shape)
    in_port.connect(syn.s_in)
    return syn


#: one builder per layer kind: ``(layer, its neurons' layout, previous port, its layout, floating, message
#: bits) -> process``
SYNAPSE_BUILDERS: Dict[str, Callable[..., Any]] = {"dense": _dense_synapses, "conv": _conv_synapses}


def _fire_once_neurons(layer: IntLayer, layout: Layout, T: int, floating: bool) -> Any:
    """The layer's ``FireOnceIF`` in ``layout``: biases per neuron, window ``[hop_delay, hop_delay + T)``."""
    n_channels = layer.output_shape[0]
    bias_mant = np.broadcast_to(np.asarray(layer.bias_mant, dtype=np.int64).reshape(-1), (n_channels,))
    bias_exp = np.broadcast_to(np.asarray(layer.bias_exp, dtype=np.int64).reshape(-1), (n_channels,))
    if layer.kind == "conv":   # per channel -> per neuron, (W, H, C): channel is last
        mant, bexp = np.broadcast_to(bias_mant, layout.shape), np.broadcast_to(bias_exp, layout.shape)
    else:
        mant, bexp = bias_mant[layout.perm], bias_exp[layout.perm]
    dtype = float if floating else np.int32
    d = int(layer.hop_delay)
    return FireOnceIF(shape=tuple(layout.shape), du=DU_DELTA, dv=DV_NO_LEAK, vth=int(layer.vth),
                      bias_mant=np.array(mant, dtype=dtype), bias_exp=np.array(bexp, dtype=dtype),
                      t_start=d, t_stop=d + T, name=layer.name)


def _output_port(neuron: Any, layer: IntLayer, layout: Layout, next_layer: Optional[IntLayer]) -> Tuple[Any, Layout]:
    """The port the next layer reads, and its layout (a dense layer feeding a conv is reshaped)."""
    if next_layer is not None and next_layer.kind == "conv" and layer.kind == "dense":
        port = neuron.s_out.reshape(whc_shape(tuple(next_layer.input_shape)))  # type: ignore[arg-type]
        return port, Layout(tuple(port.shape), layout.perm)
    return neuron.s_out, layout


def message_bits(prev: Optional[IntLayer]) -> int:
    """``num_message_bits`` of the synapses fed by layer ``prev``: graded spikes
    (:data:`semantics.GRADED_BITS`) after a relay layer, binary (0) otherwise."""
    return semantics.GRADED_BITS if prev is not None and prev.neuron == "relay" else 0


def build_relay(layer: IntLayer, layout: Layout, select_tag: str) -> Any:
    """Relay neurons of a split layer: ``GradedVec(vth=0)``, whose fixed-point model sends
    ``v = a_in`` when ``|v| > 0`` and then clears ``v`` (an exact pass-through of this step's
    synaptic input, as :func:`ttfs_deploy.semantics.relay_step`). Lava has only a ``fixed_pt``
    model for it."""
    if select_tag != "fixed_pt":
        raise TTFSError(f"layer {layer.name!r} is a relay layer, which Lava runs only in fixed_pt "
                        "(GradedVec has no floating_pt model)", "run with select_tag='fixed_pt'")
    return GradedVec(shape=tuple(layout.shape), vth=0)


def build_graph(net: IntNetwork, select_tag: str = "fixed_pt") -> LavaGraph:
    """Create (not compile) the Lava processes for ``net``: a ``RingBuffer``, then per layer the
    builder of its kind (:data:`SYNAPSE_BUILDERS`) and its ``FireOnceIF`` neurons.

    Args:
        net: the deployable network (validated with :func:`validate_network`).
        select_tag: ``"fixed_pt"`` (bit-accurate integer models) or ``"floating_pt"``.
    """
    if select_tag not in SELECT_TAGS:
        raise TTFSError(f"unknown Lava select_tag {select_tag!r}", f"use one of {SELECT_TAGS}")
    validate_network(net)
    floating = select_tag == "floating_pt"
    layers = net.layers
    input_layout = _conv_layout(tuple(layers[0].input_shape)) if layers[0].kind == "conv" else _identity(net.n_inputs)
    source = RingBuffer(data=np.zeros(input_layout.shape + (net.total_steps,), dtype=float if floating else np.int32))
    prev_port, prev_layout = source.s_out, input_layout
    synapses, neurons, layouts = [], [], []
    for index, layer in enumerate(layers):
        next_layer = layers[index + 1] if index + 1 < len(layers) else None
        layout = _layer_layout(layer, next_layer)
        syn = SYNAPSE_BUILDERS[layer.kind](layer, layout, prev_port, prev_layout, floating,
                                           message_bits(layers[index - 1] if index else None))
        neuron = (build_relay(layer, layout, select_tag) if layer.neuron == "relay"
                  else _fire_once_neurons(layer, layout, net.T, floating))
        syn.a_out.connect(neuron.a_in)
        synapses.append(syn)
        neurons.append(neuron)
        layouts.append(layout)
        prev_port, prev_layout = _output_port(neuron, layer, layout, next_layer)
    return LavaGraph(net=net, select_tag=select_tag, source=source, synapses=synapses,
                     neurons=neurons, input_layout=input_layout, layouts=layouts,
                     hop_delays=[int(layer.hop_delay) for layer in layers])
