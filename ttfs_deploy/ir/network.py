"""Plain dataclasses for TTFS networks: the float graph (after folding) and the deployable one.

Conventions shared by every module:

* time is counted in integer steps ``t = 0 .. T-1`` of the *reference frame*: all layers advance
  together and a spike reaches the next layer in the same step (zero synaptic delay);
* on Loihi/Lava each synaptic hop adds one step; layer ``l`` therefore runs ``hop_delay`` steps
  later there, and the target runs ``total_steps = T + hop_delay(last layer)`` steps;
* spike times are integer arrays (the event simulator returns int32), :data:`NEVER` (-1) for a
  neuron that never fired;
* shapes exclude the batch dimension; conv tensors are channel-first ``(C, H, W)`` and a dense
  layer after a conv flattens in C-order;
* neurons are non-leaky integrate-and-fire, fire at most once, and receive a constant bias every
  step of their window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Tuple

import numpy as np

NEVER = -1  #: spike time of a neuron that did not fire

LayerKind = Literal["dense", "conv"]
NeuronKind = Literal["fire_once", "relay"]


def conv_output_shape(input_shape: Tuple[int, ...], c_out: int, kernel: Tuple[int, int],
                      stride: Tuple[int, int], padding: Tuple[int, int]) -> Tuple[int, int, int]:
    """(C_out, H_out, W_out) of a 2-D convolution without dilation."""
    _, h, w = input_shape
    h_out = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    w_out = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    return (c_out, h_out, w_out)


class LayerGeometry:
    """Shapes shared by float and integer layers (``kind``, ``weight``, ``input_shape``,
    ``stride``, ``padding`` are fields of the dataclasses below)."""

    @property
    def output_shape(self) -> Tuple[int, ...]:
        if self.kind == "dense":
            return (int(self.weight.shape[0]),)
        return conv_output_shape(self.input_shape, int(self.weight.shape[0]),
                                 tuple(self.weight.shape[2:]), self.stride, self.padding)

    @property
    def n_neurons(self) -> int:
        return int(np.prod(self.output_shape))

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.input_shape))


@dataclass
class FloatLayer(LayerGeometry):
    """A folded float layer: ``I[t] = W x[t] + b``; spike when ``V >= threshold`` (trainer rule).

    ``weight`` is ``(n_out, n_in)`` for dense and ``(C_out, C_in, kh, kw)`` for conv; ``bias`` is
    per output channel (per neuron for dense), in the same units as the threshold, applied every
    step.
    """

    name: str
    kind: LayerKind
    weight: np.ndarray
    bias: np.ndarray
    threshold: float
    input_shape: Tuple[int, ...]
    stride: Tuple[int, int] = (1, 1)
    padding: Tuple[int, int] = (0, 0)
    provenance: str = ""



@dataclass
class FloatNetwork:
    """A trained TTFS network after folding normalization and pooling, in float."""

    input_shape: Tuple[int, ...]
    T: int
    encoder: str
    layers: List[FloatLayer]
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass
class IntLayer(LayerGeometry):
    """One deployable layer, in the units of Lava's fixed-point models.

    * ``weight``: int64 weight mantissas, each unchanged by Lava's weight preparation
      (:func:`ttfs_deploy.semantics.prepare_dense_weights`); dense ``(n_out, n_in)``, conv
      ``(C_out, C_in, kh, kw)``.
    * ``weight_exp``: >= 0; the synaptic input is ``(sum of weights) << weight_exp`` (integer
      weight units). Always 0 for conv, whose Lava fixed-point model ignores it.
    * ``bias_mant``, ``bias_exp``: per output channel; the per-step bias in membrane units
      (1/64 weight unit) is ``bias_mant << bias_exp``.
    * ``vth``: the neuron spikes when ``v > vth << 6`` (membrane units).
    * ``hop_delay``: steps by which this layer lags the reference frame on the target.
    * ``scale``: integer weight units per float unit (``alpha``), for reports only.
    * ``neuron``: ``"fire_once"`` (the TTFS neurons above) or ``"relay"``: partial-sum relays
      made by fan-in splitting (``compile/split.py``), which send their exact synaptic input
      every step as a graded spike (:func:`ttfs_deploy.semantics.relay_step`; bias, ``vth``
      unused). A layer after a relay layer receives graded spikes. Layers made by the split
      carry ``info["split"]`` (the layer they come from, level, groups).
    """

    name: str
    kind: LayerKind
    weight: np.ndarray
    weight_exp: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    vth: int
    input_shape: Tuple[int, ...]
    hop_delay: int
    scale: float = 1.0
    stride: Tuple[int, int] = (1, 1)
    padding: Tuple[int, int] = (0, 0)
    info: Dict[str, Any] = field(default_factory=dict)
    neuron: NeuronKind = "fire_once"

    @property
    def fan_in(self) -> int:
        """Presynaptic neurons of one neuron (the input axons it needs), the largest over the
        layer's neurons: the weight row or kernel size, zeros included, or for a layer made by
        the fan-in split its block structure (:meth:`synapse_mask`)."""
        if "split" not in self.info:
            return int(self.weight[0].size)
        return int(self.synapse_mask().reshape(len(self.weight), -1).sum(1).max(initial=0))

    def synapse_mask(self) -> np.ndarray:
        """1 where a synapse exists (int8, the shape of ``weight``): every weight, zeros included,
        except in layers made by the fan-in split, whose zero blocks connect nothing. Level-1
        relays (``info["split"]["level"] == 1``) connect only entries ``[g * group_size,
        (g + 1) * group_size)`` of the flattened weight row (inputs, or ``(c_in, ky, kx)`` taps)
        in group ``g``; the summing layers their weight-1 entries."""
        split = self.info.get("split")
        if not split:
            return np.ones(self.weight.shape, np.int8)
        if split["level"] != 1:
            return (self.weight != 0).astype(np.int8)
        mask = np.zeros(self.weight.shape, np.int8)
        flat = mask.reshape(len(mask), -1)   # a view
        groups, per = int(split["groups"]), int(split["group_size"])
        rows = len(self.weight) // groups
        for g in range(groups):
            flat[g * rows:(g + 1) * rows, g * per:(g + 1) * per] = 1
        return mask

    def bias_per_neuron(self) -> np.ndarray:
        """Per-step bias in membrane units, one value per neuron, flattened C-order (int64)."""
        bias = self.bias_mant.astype(np.int64) << self.bias_exp.astype(np.int64)
        if self.kind == "conv":
            c, h, w = self.output_shape
            bias = np.repeat(bias, h * w)
        return bias


@dataclass
class IntNetwork:
    """A deployable TTFS network: integer layers, time-step mapping and target facts.

    ``T`` is the reference window in steps; ``total_steps`` the steps the target runs.
    ``placement`` lists, per layer, the cores it occupies (filled by the compiler).
    ``host``: with the ``direct`` encoder, the trained first layer, kept in float and run on the
    host: the analog image drives it as a constant current, and its first-spike times are the
    chip's input spikes (``input_shape`` is then its output shape). ``None`` for spike codes.
    """

    input_shape: Tuple[int, ...]
    T: int
    encoder: str
    layers: List[IntLayer]
    target: str = ""
    placement: List[Dict[str, Any]] = field(default_factory=list)
    metadata: Dict[str, Any] = field(default_factory=dict)
    host: Optional[FloatLayer] = None

    @property
    def total_steps(self) -> int:
        return self.T + (self.layers[-1].hop_delay if self.layers else 0)

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_classes(self) -> int:
        return self.layers[-1].n_neurons

    def layer(self, name: str) -> Optional[IntLayer]:
        return next((layer for layer in self.layers if layer.name == name), None)
