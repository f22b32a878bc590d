"""Read an ONNX file into a plain chain of float layers a TTFS network can take.

The file is loaded with :func:`onnx.load`, checked with :func:`onnx.checker.check_model`, its
default-domain opset is checked against :data:`MIN_OPSET` and the installed ``onnx``, and its
shapes come from :func:`onnx.shape_inference.infer_shapes` (strict). The graph input must have a
static ``(C, H, W)`` (or flat ``(F,)``) shape; only the batch dimension may be dynamic.

Supported on the data path, as one feed-forward chain: ``Conv``, ``Gemm``, ``MatMul`` (+ ``Add``
of a constant bias), ``Relu``, ``AveragePool``, ``GlobalAveragePool``, ``Flatten``, ``Reshape``
(to ``(N, features)``), ``BatchNormalization`` (folded into the preceding Conv/Gemm/MatMul),
``Dropout``, ``Identity``, and a ``Softmax`` / ``LogSoftmax`` as the graph's last node (argmax is
unchanged without it). Nodes that do not depend on the graph input (weight preprocessing, the
``Shape -> Gather -> Concat`` chains of ``x.view(x.size(0), -1)``) are evaluated once with
:class:`onnx.reference.ReferenceEvaluator`. Everything else is refused with the op type, the
node's name and what to do instead (:class:`~ttfs_deploy.errors.TTFSError`).

Weights are kept as float64 copies of the file's tensors (exact for float32 files); a
BatchNormalization ``y = gamma (x - mean) / sqrt(var + eps) + beta`` folds as
``W' = W * s``, ``b' = (b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)`` per output
channel, in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ttfs_deploy.errors import TTFSError

MIN_OPSET = 9  #: BatchNormalization and Dropout have their current inference form from opset 9
SUPPORTED = ("Conv, Gemm, MatMul(+Add), Relu, AveragePool, GlobalAveragePool, Flatten, Reshape, "
             "BatchNormalization, Dropout, Identity")
_FIXES = {
    "MaxPool": "TTFS neurons fire once and max pooling breaks that: retrain with average pooling "
               "(nn.AvgPool2d) and export again",
    "GlobalMaxPool": "retrain with GlobalAveragePool (nn.AdaptiveAvgPool2d(1)) and export again",
    "Sigmoid": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "Tanh": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "LeakyRelu": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "PRelu": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "Elu": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "Selu": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "Gelu": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "HardSigmoid": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "HardSwish": "first-spike times code ReLU activations only: retrain with nn.ReLU",
    "Clip": "ReLU6 / clipping is not a TTFS activation: retrain with plain nn.ReLU",
    "Softmax": "only a final Softmax is allowed (it does not change the argmax): remove it from the middle",
    "LogSoftmax": "only a final LogSoftmax is allowed: remove it from the middle",
    "LSTM": "recurrent layers have no fire-once equivalent: use a feed-forward CNN or MLP",
    "GRU": "recurrent layers have no fire-once equivalent: use a feed-forward CNN or MLP",
    "RNN": "recurrent layers have no fire-once equivalent: use a feed-forward CNN or MLP",
    "Concat": "only a single feed-forward chain is supported: remove the branches",
    "Mul": "only a single feed-forward chain of supported layers is supported: fold the scaling "
           "into the weights before export",
    "ConvTranspose": "use Conv layers only",
    "Upsample": "use Conv layers only",
    "Resize": "use Conv layers only",
}


@dataclass
class AnnLayer:
    """One layer of the imported ReLU network.

    ``kind``: ``conv`` (weight ``(C_out, C_in, k, k)``, zero padding ``k // 2``, stride ``stride``),
    ``fc`` (weight ``(out, in)``, the input flattened in C-order) or ``avgpool`` (window and stride
    ``kernel``). Weight layers are followed by ReLU, except the last (its outputs are the logits).
    """

    kind: str
    weight: Optional[np.ndarray] = None
    bias: Optional[np.ndarray] = None
    kernel: int = 0
    stride: int = 1
    nodes: List[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        """This layer's architecture-spec token (:mod:`ttfs_deploy.model.arch`)."""
        if self.kind == "conv":
            return f"{self.weight.shape[0]}C{self.kernel}" + (f"S{self.stride}" if self.stride != 1 else "")
        if self.kind == "fc":
            return f"FC{self.weight.shape[0]}"
        return f"AP{self.kernel}"


@dataclass
class AnnGraph:
    """The imported network: its input shape (without batch) and its layers, in order."""

    input_shape: Tuple[int, ...]
    layers: List[AnnLayer]
    opset: int
    producer: str

    @property
    def arch(self) -> str:
        """The architecture spec string of the same network, e.g. ``16C5-AP2-FC10``."""
        return "-".join(layer.token for layer in self.layers)

    @property
    def n_outputs(self) -> int:
        return int(self.layers[-1].weight.shape[0])

    @property
    def weight_layers(self) -> List[AnnLayer]:
        return [layer for layer in self.layers if layer.kind != "avgpool"]


def read_onnx(path: str) -> AnnGraph:
    """Load, check and walk ``path``; one-line :class:`TTFSError` for anything unsupported."""
    import onnx

    model = _load(path)
    opset = _opset(model, path)
    try:
        model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as err:  # onnx raises InferenceError, ValidationError or RuntimeError
        raise TTFSError(f"{path}: ONNX shape inference failed ({_first_line(err)})",
                        "re-export the network with static input shapes") from None
    return _Walker(model, path, opset).run()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:160]


def _load(path: str):
    import onnx

    p = Path(path)
    if not p.is_file():
        raise TTFSError(f"ONNX file {path} not found", "check the path")
    fix = "export the network with torch.onnx.export (or your framework's ONNX exporter)"
    try:
        model = onnx.load(str(p), load_external_data=False)  # a model file never makes us read other files
    except Exception as err:  # protobuf DecodeError, ...
        raise TTFSError(f"{path} is not an ONNX model ({_first_line(err)})", fix) from None
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        raise TTFSError(f"{path} keeps its weights in external data files, refused",
                        "export the network as one self-contained .onnx file (weights inside)")
    if not model.graph.node:
        raise TTFSError(f"{path} is not an ONNX model (no graph nodes)", fix)
    try:
        onnx.checker.check_model(model)
    except Exception as err:
        raise TTFSError(f"{path} is not a valid ONNX model ({_first_line(err)})", fix) from None
    return model


def _opset(model, path: str) -> int:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise TTFSError(f"{path} imports no default-domain ONNX opset", "re-export with a standard opset")
    version = int(versions[0])
    if not MIN_OPSET <= version <= newest:
        raise TTFSError(f"{path} uses ONNX opset {version}; this onnx {onnx.__version__} reads opsets "
                        f"{MIN_OPSET}..{newest}", f"re-export with opset_version between {MIN_OPSET} and {newest}")
    return version


def _static_shape(value_info) -> Optional[Tuple[int, ...]]:
    """Dims of a value (dim_value or None per dim), None when no shape is known."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim)


class _Walker:
    """Walks the nodes in order (ONNX stores them topologically), keeping one data tensor."""

    def __init__(self, model, path: str, opset: int) -> None:
        from onnx import numpy_helper

        self.graph, self.path, self.opset = model.graph, path, opset
        self.producer = f"{model.producer_name} {model.producer_version}".strip()
        self.consts: Dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise TTFSError(f"{path} has {len(inputs)} graph inputs", "export a network with exactly one input image")
        dims = _static_shape(inputs[0]) or ()
        if len(dims) not in (2, 4):
            raise TTFSError(f"{path}: input {inputs[0].name!r} has rank {len(dims)}",
                            "export with an (N, C, H, W) image or (N, features) input")
        if any(d is None for d in dims[1:]):
            names = [d.dim_param or "?" for d in inputs[0].type.tensor_type.shape.dim][1:]
            raise TTFSError(f"{path}: input {inputs[0].name!r} has dynamic non-batch dimensions "
                            f"({', '.join(str(d) if d else names[i] for i, d in enumerate(dims[1:]))})",
                            "re-export with a fixed image size (dynamic_axes on the batch dimension only)")
        self.input_shape: Tuple[int, ...] = tuple(int(d) for d in dims[1:])
        self.act = inputs[0].name
        self.shape: Tuple[int, ...] = self.input_shape  # the data tensor's shape without batch
        self.layers: List[AnnLayer] = []
        self.open: Optional[AnnLayer] = None  # last weight layer, its ReLU not seen yet
        outputs = [o.name for o in self.graph.output]
        if len(outputs) != 1:
            raise TTFSError(f"{path} has {len(outputs)} graph outputs", "export a network with one output (the logits)")
        self.output = outputs[0]
        self.finished = False

    # -- helpers ---------------------------------------------------------------------------
    def refuse(self, node, problem: str, fix: str) -> None:
        raise TTFSError(f"{self.path}: {node.op_type} node {node.name or '(unnamed)'!r} {problem}", fix)

    def const(self, name: str, node) -> np.ndarray:
        if name not in self.consts:
            self.refuse(node, f"takes {name!r} as a weight, but it is computed from the input",
                        "export weights as constants (initializers)")
        return np.asarray(self.consts[name], dtype=np.float64)

    def fold_constant(self, node) -> None:
        """Evaluate a node that does not depend on the input image (its outputs become constants)."""
        from onnx.reference import ReferenceEvaluator

        try:
            feeds = {name: self.consts[name] for name in node.input if name}
            outputs = ReferenceEvaluator(node).run(None, feeds)
        except Exception as err:
            self.refuse(node, f"(input-independent) could not be evaluated ({_first_line(err)})",
                        "simplify the exported graph (e.g. onnxsim) or export with constant folding")
        for name, value in zip(node.output, outputs):
            self.consts[name] = np.asarray(value)

    # -- the walk --------------------------------------------------------------------------
    def run(self) -> AnnGraph:
        for node in self.graph.node:
            data = [name for name in node.input if name and name not in self.consts]
            if node.domain not in ("", "ai.onnx"):
                self.refuse(node, f"is from the custom domain {node.domain!r}", f"use standard ops ({SUPPORTED})")
            if not data:
                self.fold_constant(node)
                continue
            if node.op_type == "Shape" and data == [self.act]:  # batch 1 stands for any batch size
                self.consts[node.output[0]] = np.array([1, *self.shape], dtype=np.int64)
                continue
            if self.finished:
                self.refuse(node, "follows the final Softmax", "end the network at its logits (or one Softmax)")
            if len(data) > 1 or data[0] != self.act:
                what = "joins two branches (a residual or skip connection)" if len(data) > 1 else \
                    "reads a tensor off the main chain (a branch)"
                fix = _FIXES.get(node.op_type, "") or "only plain feed-forward chains are supported: remove the branch"
                self.refuse(node, what, fix if node.op_type not in ("Add", "Sum") else
                            "residual connections have no TTFS equivalent here: use a plain feed-forward chain")
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None:
                self.refuse(node, "is not supported",
                            _FIXES.get(node.op_type, f"use only {SUPPORTED}"))
            handler(node)
            self.act = node.output[0]
        return self.finish()

    def finish(self) -> AnnGraph:
        if self.act != self.output:
            raise TTFSError(f"{self.path}: the graph output {self.output!r} is not the end of the layer chain",
                            "export a network whose only output is the logits")
        if not self.layers or self.layers[-1].kind != "fc":
            raise TTFSError(f"{self.path}: the network does not end in a Gemm/MatMul (fully connected) layer",
                            "end the network with nn.Linear producing one output per class")
        return AnnGraph(self.input_shape, self.layers, self.opset, self.producer)

    def new_layer(self, node, layer: AnnLayer) -> None:
        if self.open is not None:
            self.refuse(node, f"follows {self.open.nodes[0]!r} without a Relu in between",
                        "put a Relu between weight layers (or merge the two linear layers before export)")
        layer.nodes.append(node.name)
        self.layers.append(layer)
        self.open = layer

    # -- weight layers -----------------------------------------------------------------------
    def op_Conv(self, node) -> None:
        attrs = _attrs(node)
        w = self.const(node.input[1], node)
        b = self.const(node.input[2], node) if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
        shape = self.shape
        if len(shape) != 3 or w.ndim != 4:
            self.refuse(node, "is not a 2-D convolution", "use nn.Conv2d")
        k = w.shape[2]
        strides = list(attrs.get("strides", [1, 1]))
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        auto_pad = attrs.get("auto_pad", b"NOTSET").decode()
        if auto_pad in ("SAME_UPPER", "SAME_LOWER") and k % 2 == 1 and strides == [1, 1]:
            pads = [k // 2] * 4
        elif auto_pad not in ("NOTSET", "VALID"):
            pads = None
        problems = []
        if w.shape[2] != w.shape[3]:
            problems.append(f"a {w.shape[2]}x{w.shape[3]} kernel")
        if int(attrs.get("group", 1)) != 1:
            problems.append(f"group={attrs['group']}")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            problems.append(f"dilations={list(attrs['dilations'])}")
        if strides[0] != strides[1]:
            problems.append(f"strides={strides}")
        if pads != [k // 2] * 4:
            problems.append(f"padding {pads if pads is not None else auto_pad}")
        if problems:
            self.refuse(node, f"has {', '.join(problems)} (TTFS conv layers are square, ungrouped, undilated, "
                        f"with zero padding kernel//2 = {k // 2} on every side)",
                        f"re-train with nn.Conv2d(..., kernel_size={k}, padding={k // 2}, stride=s)")
        self.new_layer(node, AnnLayer("conv", w, b.reshape(-1), kernel=k, stride=int(strides[0])))
        side = [(n + 2 * (k // 2) - k) // int(strides[0]) + 1 for n in shape[1:]]
        self.shape = (int(w.shape[0]), *side)

    def op_Gemm(self, node) -> None:
        attrs = _attrs(node)
        if int(attrs.get("transA", 0)):
            self.refuse(node, "has transA=1", "export nn.Linear on a (batch, features) input")
        w = self.const(node.input[1], node)
        w = w if int(attrs.get("transB", 0)) else w.T
        w = w * float(attrs.get("alpha", 1.0))
        b = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            b = np.broadcast_to(self.const(node.input[2], node) * float(attrs.get("beta", 1.0)), (1, w.shape[0]))[0]
        self.check_fc_input(node, w.shape[1])
        self.new_layer(node, AnnLayer("fc", w, np.array(b, dtype=np.float64)))
        self.shape = (int(w.shape[0]),)

    def op_MatMul(self, node) -> None:
        if node.input[0] != self.act:
            self.refuse(node, "multiplies a constant by the activation", "export x @ W (nn.Linear)")
        w = self.const(node.input[1], node)
        if w.ndim != 2:
            self.refuse(node, f"has a rank-{w.ndim} weight", "use a 2-D weight (nn.Linear)")
        self.check_fc_input(node, w.shape[0])
        self.new_layer(node, AnnLayer("fc", w.T.copy(), np.zeros(w.shape[1])))
        self.shape = (int(w.shape[1]),)

    def check_fc_input(self, node, n_in: int) -> None:
        if len(self.shape) != 1 or self.shape[0] != n_in:
            self.refuse(node, f"gets an input of shape {self.shape}, not (batch, {n_in})",
                        "flatten (nn.Flatten / x.view(N, -1)) before the linear layer")

    def op_Add(self, node) -> None:
        other = [name for name in node.input if name != self.act]
        layer = self.open
        if len(other) != 1 or layer is None:
            self.refuse(node, "is not the bias of the preceding Conv/Gemm/MatMul",
                        "only a constant bias may be added, right after its weight layer")
        n_out = layer.weight.shape[0]
        value = self.const(other[0], node)
        if value.size not in (1, n_out):
            self.refuse(node, f"adds a constant of shape {value.shape}", "add one bias per output channel")
        layer.bias = layer.bias + np.broadcast_to(value.reshape(-1), (n_out,))
        layer.nodes.append(node.name)

    def op_BatchNormalization(self, node) -> None:
        layer = self.open
        if layer is None:
            self.refuse(node, "does not directly follow a Conv, Gemm or MatMul",
                        "put BatchNormalization right after its weight layer, before the Relu")
        if int(_attrs(node).get("training_mode", 0)) or len(node.output) > 1 and any(node.output[1:]):
            self.refuse(node, "is in training mode", "export the model after model.eval()")
        gamma, beta, mean, var = (self.const(name, node) for name in node.input[1:5])
        scale = gamma / np.sqrt(var + float(_attrs(node).get("epsilon", 1e-5)))
        layer.weight = layer.weight * scale.reshape(-1, *([1] * (layer.weight.ndim - 1)))
        layer.bias = (layer.bias - mean) * scale + beta
        layer.nodes.append(node.name)

    # -- activations, pooling, shapes ------------------------------------------------------------
    def op_Relu(self, node) -> None:
        self.open = None

    def op_Identity(self, node) -> None:
        pass

    def op_Dropout(self, node) -> None:
        pass

    def require_activated(self, node) -> None:
        if self.open is not None:
            self.refuse(node, f"comes after {self.open.nodes[0]!r} before its Relu",
                        "pool after the Relu (Conv -> Relu -> AvgPool)")

    def op_AveragePool(self, node) -> None:
        self.require_activated(node)
        attrs = _attrs(node)
        kernel = list(attrs.get("kernel_shape", []))
        strides = list(attrs.get("strides", [1] * len(kernel)))
        pads = list(attrs.get("pads", [0] * 2 * len(kernel)))
        if (len(kernel) != 2 or kernel[0] != kernel[1] or strides != kernel or any(pads)
                or int(attrs.get("ceil_mode", 0))):
            self.refuse(node, f"has window {kernel}, strides {strides}, pads {pads} (TTFS average pooling "
                        "uses a square window equal to its stride, no padding, floor mode)",
                        "use nn.AvgPool2d(k) (stride = window, no padding)")
        if len(self.shape) != 3:
            self.refuse(node, "pools a flat tensor", "pool (N, C, H, W) feature maps only")
        k = int(kernel[0])
        self.layers.append(AnnLayer("avgpool", kernel=k, stride=k, nodes=[node.name]))
        self.shape = (self.shape[0], self.shape[1] // k, self.shape[2] // k)

    def op_GlobalAveragePool(self, node) -> None:
        self.require_activated(node)
        if len(self.shape) != 3 or self.shape[1] != self.shape[2]:
            self.refuse(node, f"pools a {self.shape} tensor, not a square map", "use square feature maps or nn.AvgPool2d")
        c, h, _ = self.shape
        self.layers.append(AnnLayer("avgpool", kernel=h, stride=h, nodes=[node.name]))
        self.shape = (c, 1, 1)

    def op_Flatten(self, node) -> None:
        axis = int(_attrs(node).get("axis", 1))
        if axis not in (1, -len(self.shape)):
            self.refuse(node, f"flattens at axis {axis}", "flatten everything but the batch (axis=1)")
        self.shape = (int(np.prod(self.shape)),)

    def op_Reshape(self, node) -> None:
        features = int(np.prod(self.shape))
        target = [int(v) for v in np.asarray(self.consts.get(node.input[1], [])).reshape(-1)]
        if len(target) != 2 or target[1] not in (-1, features):
            self.refuse(node, f"reshapes to {target}, not (batch, {features})",
                        "only flattening reshapes (x.view(N, -1), nn.Flatten) are supported")
        self.shape = (features,)

    def final_node(self, node) -> None:
        if node.output[0] != self.output:
            self.refuse(node, "is in the middle of the network", _FIXES[node.op_type])
        self.finished = True

    op_Softmax = final_node
    op_LogSoftmax = final_node


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}
