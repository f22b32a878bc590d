"""Plain dataclasses for TTFS networks: the float graph (after folding) and the deployable one.

Conventions shared by every module:

* time is counted in integer steps ``t = 0 .. T-1`` of the *reference frame*: all layers advance
  together and a spike reaches the next layer in the same step (zero synaptic delay);
* on Loihi/Lava each synaptic hop adds one step; layer ``l`` therefore runs ``hop_delay`` steps
  later there, and the target runs ``total_steps = T + hop_delay(last layer)`` steps;
* spike times are integer arrays (the event simulator returns int32), :data:`ttfs_deploy.semantics.NEVER` (-1) for a
  neuron that never fired;
* shapes exclude the batch dimension; conv tensors are channel-first ``(C, H, W)`` and a dense
  layer after a conv flattens in C-order;
* neurons are non-leaky integrate-and-fire, fire at most once, and receive a constant bias every
  step of their window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple

import numpy as np

from ttfs_deploy import semantics
from ttfs_deploy.errors import TTFSError

MAX_LAYER_NEURONS = 2 ** 22    #: toolchain bound on neurons per layer (memory of every backend)
MAX_LAYER_SYNAPSES = 2 ** 26   #: toolchain bound on stored weights per layer (a conv's kernel, a dense matrix)

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

    def validate(self) -> None:
        """Raise a one-line :class:`TTFSError` unless shapes agree and all values are finite."""
        where = f"layer {self.name!r}"
        _check_geometry(self, where)
        _check(isinstance(self.weight, np.ndarray) and isinstance(self.bias, np.ndarray), f"{where}: arrays expected")
        _check(self.bias.shape == (int(self.weight.shape[0]),), f"{where}: one bias per output channel expected")
        _check(bool(np.isfinite(self.weight).all() and np.isfinite(self.bias).all()
                    and np.isfinite(self.threshold) and self.threshold > 0),
               f"{where}: weights, biases and threshold must be finite (threshold > 0)")


@dataclass
class FloatNetwork:
    """A trained TTFS network after folding normalization and pooling, in float."""

    input_shape: Tuple[int, ...]
    T: int
    encoder: str
    layers: List[FloatLayer]
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitInfo:
    """Where a layer made by the fan-in split (``compile/split.py``) comes from; stored in
    ``IntLayer.info["split"]`` (and so in the NIR metadata) as a plain dict.

    * ``of``: the name of the layer that was split;
    * ``level``: 1 for the relays reading that layer's inputs, 2, 3, ... for relays adding
      relay payloads, 0 for the final (fire-once) layer adding the last level;
    * ``groups``: groups of inputs per output neuron at this level (``len(weight) // groups``
      neurons per group for level 1);
    * ``group_size``: inputs per group (level 1: consecutive entries of the flattened weight
      row, inputs or ``(c_in, ky, kx)`` taps; other levels: relay payloads).
    """

    of: str
    level: int
    groups: int
    group_size: int

    @classmethod
    def of_info(cls, info: Mapping[str, Any], where: str = "layer") -> Optional["SplitInfo"]:
        """``info["split"]`` checked and typed; ``None`` for a layer the split did not make."""
        raw = info.get("split")
        if raw is None:
            return None
        fields_ok = isinstance(raw, dict) and set(raw) == {"of", "level", "groups", "group_size"}
        ints = fields_ok and all(isinstance(raw[k], (int, np.integer)) and not isinstance(raw[k], bool)
                                for k in ("level", "groups", "group_size"))
        _check(ints and isinstance(raw["of"], str) and raw["level"] >= 0 and raw["groups"] >= 1
               and raw["group_size"] >= 1,
               f"{where}: info.split must be {{of: name, level >= 0, groups >= 1, group_size >= 1}}")
        return cls(raw["of"], int(raw["level"]), int(raw["groups"]), int(raw["group_size"]))

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


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
    * ``vth``: the neuron spikes when ``v > semantics.threshold(vth)`` (membrane units).
    * ``hop_delay``: steps by which this layer lags the reference frame on the target.
    * ``scale``: integer weight units per float unit (``alpha``), for reports only.
    * ``neuron``: ``"fire_once"`` (the TTFS neurons above) or ``"relay"``: partial-sum relays
      made by fan-in splitting (``compile/split.py``), which send their exact synaptic input
      every step as a graded spike (:func:`ttfs_deploy.semantics.relay_step`; bias, ``vth``
      unused). A layer after a relay layer receives graded spikes. Layers made by the split
      carry ``info["split"]``, read as :attr:`split` (:class:`SplitInfo`).
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
    def split(self) -> Optional[SplitInfo]:
        """What the fan-in split made this layer from (``None`` for an ordinary layer)."""
        return SplitInfo.of_info(self.info, f"layer {self.name!r}")

    @property
    def fan_in(self) -> int:
        """Presynaptic neurons of one neuron (the input axons it needs), the largest over the
        layer's neurons: the weight row or kernel size, zeros included, or for a layer made by
        the fan-in split its block structure (:meth:`synapse_mask`)."""
        if self.split is None:
            return int(self.weight[0].size)
        return int(self.synapse_mask().reshape(len(self.weight), -1).sum(1).max(initial=0))

    def synapse_mask(self) -> np.ndarray:
        """1 where a synapse exists (int8, the shape of ``weight``): every weight, zeros included,
        except in layers made by the fan-in split, whose zero blocks connect nothing. Level-1
        relays (``split.level == 1``) connect only entries ``[g * group_size,
        (g + 1) * group_size)`` of the flattened weight row (inputs, or ``(c_in, ky, kx)`` taps)
        in group ``g``; the summing layers their weight-1 entries."""
        split = self.split
        if split is None:
            return np.ones(self.weight.shape, np.int8)
        if split.level != 1:
            return (self.weight != 0).astype(np.int8)
        mask = np.zeros(self.weight.shape, np.int8)
        flat = mask.reshape(len(mask), -1)   # a view
        groups, per = split.groups, split.group_size
        rows = len(self.weight) // groups
        for g in range(groups):
            flat[g * rows:(g + 1) * rows, g * per:(g + 1) * per] = 1
        return mask

    def validate(self) -> None:
        """Raise a one-line :class:`TTFSError` unless shapes agree and every integer field lies in
        the range of :mod:`ttfs_deploy.semantics` (weights unchanged by Lava's 8-bit preparation,
        ``0 <= vth <= VTH_MAX``, 13-bit bias mantissa, bias exponent ``0..BIAS_EXP_MAX``)."""
        where = f"layer {self.name!r}"
        _check_geometry(self, where)
        _check(isinstance(self.weight_exp, (int, np.integer)) and 0 <= self.weight_exp <= semantics.WEIGHT_EXP_MAX,
               f"{where}: weight_exp {self.weight_exp!r} outside 0..{semantics.WEIGHT_EXP_MAX}")
        for label, values in (("weights", self.weight), ("bias mantissas", self.bias_mant),
                              ("bias exponents", self.bias_exp)):
            _check(isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.integer),
                   f"{where}: {label} must be an integer array")
        if self.kind == "dense":
            _check(semantics.is_representable(self.weight),
                   f"{where}: weights change under Lava's 8-bit weight preparation "
                   f"(mixed-sign weights must be even, in [{semantics.WEIGHT_MIN}, {semantics.WEIGHT_MAX - 1}])")
        else:
            _check(self.weight_exp == 0, f"{where}: conv weight_exp is {self.weight_exp}, but Lava's fixed-point "
                   "Conv ignores weight_exp")
            _check(_within(self.weight, semantics.WEIGHT_MIN, semantics.WEIGHT_MAX),
                   f"{where}: conv weights outside the 8-bit range [{semantics.WEIGHT_MIN}, {semantics.WEIGHT_MAX}]")
        _check(isinstance(self.vth, (int, np.integer)) and 0 <= self.vth <= semantics.VTH_MAX,
               f"{where}: vth {self.vth!r} outside 0..{semantics.VTH_MAX}")
        channels = int(self.weight.shape[0])
        _check(self.bias_mant.shape == (channels,) and self.bias_exp.shape == (channels,),
               f"{where}: bias fields need one value per output channel ({channels})")
        _check(_within(self.bias_mant, -(semantics.BIAS_MANT_MAX + 1), semantics.BIAS_MANT_MAX),
               f"{where}: bias mantissa outside the 13-bit range")
        _check(_within(self.bias_exp, 0, semantics.BIAS_EXP_MAX),
               f"{where}: bias exponent outside 0..{semantics.BIAS_EXP_MAX}")
        _check(isinstance(self.hop_delay, (int, np.integer)) and self.hop_delay >= 0,
               f"{where}: hop_delay {self.hop_delay!r} must be an integer >= 0")
        split = self.split
        if split is not None and split.level == 1:
            _check(len(self.weight) % split.groups == 0 and split.group_size * split.groups >= self.weight[0].size,
                   f"{where}: {split.groups} relay groups of {split.group_size} do not cover its "
                   f"{len(self.weight)} x {self.weight[0].size} weights")

    def bias_per_neuron(self) -> np.ndarray:
        """Per-step bias in membrane units, one value per neuron, flattened C-order (int64)."""
        bias = semantics.effective_bias(self.bias_mant.astype(np.int64), self.bias_exp.astype(np.int64))
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

    def __post_init__(self) -> None:
        self.validate()

    @staticmethod
    def hop_delay(index: int) -> int:
        """Steps by which layer ``index`` (0-based) lags the reference frame on the target: one
        per synaptic hop (each Dense/Conv delays by one step)."""
        return index + 1

    @classmethod
    def steps_on_target(cls, T: int, n_layers: int) -> int:
        """Steps the target runs per sample: the window ``T`` plus the last layer's hop delay."""
        return T + (cls.hop_delay(n_layers - 1) if n_layers else 0)

    def check_input_times(self, input_times: np.ndarray) -> np.ndarray:
        """The one check of input spike times every backend applies: ``(B, n_inputs)`` (or
        ``(B,) + input_shape``) integer steps in ``0..T-1`` or ``NEVER``; returns an int64 copy."""
        times = np.asarray(input_times)
        if times.ndim >= 2 and times.shape[1:] == tuple(self.input_shape):
            times = times.reshape(times.shape[0], self.n_inputs)
        _check(times.ndim == 2 and times.shape[1] == self.n_inputs,
               f"input spike times have shape {times.shape}, expected (samples, {self.n_inputs})",
               "pass one row of spike times per sample (encode the data set the model was trained on)")
        if times.size and not np.issubdtype(times.dtype, np.integer):
            _check(np.array_equal(times, np.round(times)), "input spike times must be integer steps",
                   "encode the data first")
        times = times.astype(np.int64)
        bad = (times != semantics.NEVER) & ((times < 0) | (times >= self.T))
        _check(not bad.any(), f"input spike times must be in 0..{self.T - 1} or {semantics.NEVER} (never), found "
               f"{int(times[bad][0]) if bad.any() else 0}", f"encode the data with T={self.T}")
        return times

    @property
    def total_steps(self) -> int:
        return self.steps_on_target(self.T, len(self.layers))

    def validate(self) -> None:
        """Raise a one-line :class:`TTFSError` unless every backend can run this network exactly:
        shapes chain from ``input_shape`` through the layers, every integer field lies in the range
        of :mod:`ttfs_deploy.semantics`, ``1 <= T <= T_MAX`` and layer ``l`` has hop delay ``l + 1``.
        Called on construction; call it again after editing a network in place."""
        _check(isinstance(self.T, (int, np.integer)) and 1 <= self.T <= semantics.T_MAX,
               f"T must be an integer in 1..{semantics.T_MAX}, got {self.T!r}")
        _check(bool(self.layers), "the network has no layers", "compile a model with at least one layer")
        shape = _shape(self.input_shape, "the network's input shape")
        if self.host is not None:
            self.host.validate()
            _check(self.host.output_shape == shape,
                   f"host layer {self.host.name!r} gives {self.host.output_shape}, the chip expects {shape}")
        for index, layer in enumerate(self.layers):
            layer.validate()
            where = f"layer {layer.name!r}"
            _check(layer.n_inputs == int(np.prod(shape)), f"{where} expects {layer.input_shape} inputs but receives {shape}")
            _check(layer.kind == "dense" or len(shape) != 3 or tuple(layer.input_shape) == shape,
                   f"{where} expects input {layer.input_shape}, the previous layer gives {shape}")
            _check(layer.hop_delay == self.hop_delay(index),
                   f"{where} has hop_delay {layer.hop_delay} but the target delays layer {index + 1} by exactly "
                   f"{self.hop_delay(index)} steps (one per Dense/Conv hop)")
            shape = layer.output_shape

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_classes(self) -> int:
        return self.layers[-1].n_neurons


def _check(ok: bool, problem: str, fix: str = "recompile the model with `ttfs-deploy compile`") -> None:
    if not ok:
        raise TTFSError(problem, fix)


def _within(values: np.ndarray, lo: int, hi: int) -> bool:
    return bool(values.size == 0 or (values.min() >= lo and values.max() <= hi))


def _shape(shape: Any, what: str) -> Tuple[int, ...]:
    """``shape`` as a tuple of 1 or 3 positive ints, or a one-line error."""
    try:
        dims = tuple(int(d) for d in shape)
        ok = len(dims) in (1, 3) and all(d >= 1 and d == s for d, s in zip(dims, shape))
    except (TypeError, ValueError, OverflowError):
        ok = False
    _check(ok, f"{what} must be (n,) or (C, H, W) with positive integers, got {shape!r}")
    _check(int(np.prod(dims, dtype=object)) <= MAX_LAYER_NEURONS,
           f"{what} {dims} exceeds {MAX_LAYER_NEURONS:,} neurons", "use a smaller network")
    return dims


def _check_geometry(layer: "LayerGeometry", where: str) -> None:
    """Kind, weight rank, input shape, stride and padding agree; sizes within the toolchain bounds."""
    _check(layer.kind in ("dense", "conv"), f"{where}: unknown layer kind {layer.kind!r}", "use dense or conv")
    _check(isinstance(layer.weight, np.ndarray), f"{where}: weights must be an array")
    shape = _shape(layer.input_shape, f"{where}'s input shape")
    if layer.kind == "dense":
        _check(layer.weight.ndim == 2 and layer.weight.shape[1] == int(np.prod(shape)) and layer.weight.shape[0] >= 1,
               f"{where}: dense weight shape {layer.weight.shape} does not match {int(np.prod(shape))} inputs")
    else:
        _check(len(shape) == 3 and layer.weight.ndim == 4 and layer.weight.shape[1] == shape[0]
               and min(layer.weight.shape) >= 1,
               f"{where}: conv weight shape {layer.weight.shape} does not match input {shape}")
        pairs = (tuple(layer.stride), tuple(layer.padding))
        _check(all(len(p) == 2 and all(isinstance(v, (int, np.integer)) for v in p) for p in pairs)
               and min(layer.stride) >= 1 and min(layer.padding) >= 0,
               f"{where}: stride {layer.stride} must be >= 1 and padding {layer.padding} >= 0 (two integers each)")
        _check(min(layer.output_shape) >= 1, f"{where}: the kernel does not fit its {shape} input")
    _check(layer.n_neurons <= MAX_LAYER_NEURONS, f"{where} has {layer.n_neurons:,} neurons, more than "
           f"{MAX_LAYER_NEURONS:,}", "use a smaller network")
    _check(int(layer.weight.size) <= MAX_LAYER_SYNAPSES,  # stored weights: a conv shares its kernel
           f"{where} has more than {MAX_LAYER_SYNAPSES:,} weights", "use a smaller network")
