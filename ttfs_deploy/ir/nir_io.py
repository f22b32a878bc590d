"""Write and read TTFS networks as NIR files (``nir.write`` / ``nir.read``).

Both graphs are chains ``input -> [flatten] -> <layer> -> <layer>_if -> ... -> output`` of standard
nodes (``Affine`` or ``Conv2d`` then ``IF``), so other NIR tools can load them. Conventions:

* ``dt = 1``, ``r = 1``: one unit of current adds one unit of ``v`` per step (forward Euler);
  synapses are delta synapses (``Affine``/``Conv2d`` straight into ``IF``), zero delay between
  nodes (the reference frame); the bias is a current applied every step;
* fire-once is native: ``IF.v_reset`` is very negative (:data:`FIRE_ONCE_RESET`), far below
  anything the inputs can reach, so a neuron cannot fire twice;
* float graph: ``threshold_compare: ">="`` in metadata (the trainer's rule);
* a ``direct``-input deployable graph starts with its float first layer, whose two nodes carry
  ``runs_on: "host"``: it turns the analog image into the chip's input spikes;
* deployable graph: every value in membrane units (1/64 weight unit), integer dtypes, NIR's own
  strict ``>``: ``v_threshold = vth << 6``; weights ``(mant << weight_exp) << 6``; biases
  ``bias_mant << bias_exp``. Node metadata carries the Lava fields (``weight_exp``,
  ``bias_mant``, ``bias_exp``, ``vth``, ``hop_delay``, ``scale``), checked against the node
  parameters on read;
* relay layers (fan-in splitting) are an ``Affine``/``Conv2d`` with ``neuron: "relay"`` in its
  metadata and no ``IF``: it feeds the next layer's synapse node directly, with weights in
  weight units ``mant << weight_exp`` (no ``<< 6``) and zero bias. The ``Affine``/``Conv2d``
  chain composes linearly, so plain NIR semantics (zero delay) give the final ``IF`` exactly the
  unsplit layer's input: partial sums added with weight ``1 << 6``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import nir
import numpy as np

from ttfs_deploy import __version__
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import atomic_path
from ttfs_deploy.ir.network import FloatLayer, FloatNetwork, IntLayer, IntNetwork

FIRE_ONCE_RESET = -(2 ** 40)  #: v_reset of fire-once neurons (membrane units)
FLOAT_RESET = -1e9


def _graph_metadata(kind: str, T: int, encoder: str, extra: Dict[str, Any]) -> Dict[str, Any]:
    meta = {"producer": f"ttfs-deploy {__version__}", "graph_kind": kind, "coding": "ttfs", "dt": 1.0,
            "T": int(T), "r_convention": "r=1, dt=1: one unit of current adds one unit of v per step",
            "synapse": "delta", "reset": "fire_once", "threshold_compare": ">=" if kind == "float" else ">",
            "time_convention": "step_by_step_zero_delay", "input_encoding": encoder,
            "decoder": "first_spike_wins; ties: larger v at spike, then lower index; silent: larger final v"}
    meta.update(extra)
    return meta


def _chain(input_shape: Tuple[int, ...], layers: List[Tuple[str, Any, Any, Tuple[int, ...]]],
           n_out: int, metadata: Dict[str, Any]) -> nir.NIRGraph:
    nodes: Dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(input_shape)})}
    edges, prev, shape = [], "input", tuple(input_shape)
    for name, synapse, neuron, in_shape in layers:
        if isinstance(synapse, nir.Affine) and len(shape) > 1:
            nodes[f"{name}_flatten"] = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0)
            edges.append((prev, f"{name}_flatten"))
            prev = f"{name}_flatten"
        nodes[name] = synapse
        edges.append((prev, name))
        if neuron is None:  # a relay layer: its graded output feeds the next synapse node
            prev, shape = name, tuple(int(s) for s in synapse.metadata["output_shape"])
            continue
        nodes[f"{name}_if"] = neuron
        edges.append((name, f"{name}_if"))
        prev, shape = f"{name}_if", tuple(neuron.v_threshold.shape)
    nodes["output"] = nir.Output(output_type={"output": np.array([n_out])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def _synapse(kind: str, weight: np.ndarray, bias: np.ndarray, layer) -> Any:
    if kind == "dense":
        return nir.Affine(weight=weight, bias=bias)
    return nir.Conv2d(input_shape=tuple(layer.input_shape[1:]), weight=weight, stride=tuple(layer.stride),
                      padding=tuple(layer.padding), dilation=(1, 1), groups=1, bias=bias)


def _float_nodes(layer: FloatLayer, **metadata: Any) -> Tuple[str, Any, Any, Tuple[int, ...]]:
    """(name, synapse, IF, input shape) of a float layer; ``metadata`` goes on both nodes."""
    shape = layer.output_shape
    synapse = _synapse(layer.kind, layer.weight.astype(np.float32), layer.bias.astype(np.float32), layer)
    synapse.metadata = {"kind": layer.kind, "provenance": layer.provenance, **metadata}
    neuron = nir.IF(r=np.ones(shape, np.float32), v_threshold=np.full(shape, layer.threshold, np.float32),
                    v_reset=np.full(shape, FLOAT_RESET, np.float32))
    neuron.metadata = {"fire_once": True, **metadata}
    return layer.name, synapse, neuron, layer.input_shape


def _float_layer(name: str, synapse: Any, neuron: Any, in_shape: Tuple[int, ...]) -> FloatLayer:
    geo = _geometry(synapse, in_shape)
    return FloatLayer(name, geo["kind"], np.asarray(synapse.weight, np.float64), np.asarray(synapse.bias, np.float64),
                      float(np.asarray(neuron.v_threshold).ravel()[0]), geo["input_shape"],
                      geo.get("stride", (1, 1)), geo.get("padding", (0, 0)),
                      str(synapse.metadata.get("provenance", "")))


def float_to_nir(net: FloatNetwork) -> nir.NIRGraph:
    """The folded float network as a NIR graph (threshold rule ``>=`` recorded in metadata)."""
    layers = [_float_nodes(layer) for layer in net.layers]
    meta = _graph_metadata("float", net.T, net.encoder, {k: v for k, v in net.metadata.items()
                                                          if isinstance(v, (int, float, str))})
    return _chain(net.input_shape, layers, net.layers[-1].output_shape[0], meta)


def int_to_nir(net: IntNetwork) -> nir.NIRGraph:
    """The deployable network as a NIR graph in membrane units with integer dtypes."""
    layers = []
    for layer in net.layers:
        if layer.neuron == "relay":
            layers.append(_relay_nodes(layer))
            continue
        shape = layer.output_shape
        weight = (layer.weight.astype(np.int64) << layer.weight_exp) << 6
        bias = layer.bias_mant.astype(np.int64) << layer.bias_exp.astype(np.int64)
        synapse = _synapse(layer.kind, weight, bias, layer)
        synapse.metadata = {"kind": layer.kind, "weight_exp": int(layer.weight_exp),
                            "bias_mant": layer.bias_mant.astype(np.int64),
                            "bias_exp": layer.bias_exp.astype(np.int64), "vth": int(layer.vth),
                            "hop_delay": int(layer.hop_delay), "scale": float(layer.scale),
                            "info": json.dumps(layer.info)}
        neuron = nir.IF(r=np.ones(shape, np.float32), v_threshold=np.full(shape, layer.vth << 6, np.int64),
                        v_reset=np.full(shape, FIRE_ONCE_RESET, np.int64))
        neuron.metadata = {"fire_once": True, "hop_delay": int(layer.hop_delay)}
        layers.append((layer.name, synapse, neuron, layer.input_shape))
    extra = {"target": net.target, "total_steps": int(net.total_steps),
             "placement": json.dumps(net.placement), "time_convention_target": "hop_delay_1",
             "extra": json.dumps({k: v for k, v in net.metadata.items() if isinstance(v, (int, float, str))})}
    input_shape = net.input_shape
    if net.host is not None:  # the float first layer of a direct-input network, run on the host
        layers.insert(0, _float_nodes(net.host, runs_on="host", threshold_compare=">="))
        input_shape = net.host.input_shape
    return _chain(input_shape, layers, net.n_classes, _graph_metadata("deployable", net.T, net.encoder, extra))


def _relay_nodes(layer: IntLayer) -> Tuple[str, Any, None, Tuple[int, ...]]:
    """(name, synapse, no IF, input shape) of a relay layer: weights in weight units."""
    weight = layer.weight.astype(np.int64) << layer.weight_exp
    synapse = _synapse(layer.kind, weight, np.zeros(layer.output_shape[0], np.int64), layer)
    synapse.metadata = {"kind": layer.kind, "neuron": "relay", "graded": True,
                        "weight_exp": int(layer.weight_exp), "hop_delay": int(layer.hop_delay),
                        "scale": float(layer.scale), "output_shape": np.asarray(layer.output_shape),
                        "info": json.dumps(layer.info)}
    return layer.name, synapse, None, layer.input_shape


def write_graph(graph: nir.NIRGraph, path: str) -> None:
    """Write atomically: a temp file renamed into place, so a failure leaves no half file."""
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)


def read_graph(path: str) -> nir.NIRGraph:
    """``nir.read`` with one-line errors for missing or unreadable files."""
    if not Path(path).is_file():
        raise TTFSError(f"NIR file {path} not found", "compile one with `ttfs-deploy compile MODEL.pt`")
    try:
        return nir.read(path)
    except Exception as err:  # nir raises KeyError/OSError/ValueError on bad files
        raise TTFSError(f"{path} is not a readable NIR file ({type(err).__name__}: {str(err)[:100]})",
                        "re-create it with `ttfs-deploy compile`") from None


def _layers_of(graph: nir.NIRGraph) -> List[Tuple[str, Any, Any]]:
    """(name, synapse, IF) in chain order, following edges from ``input``; the IF is ``None``
    for a relay layer (a synapse node with ``neuron: "relay"`` feeding the next synapse)."""
    nxt = {src: dst for src, dst in graph.edges}
    out, node = [], nxt.get("input")
    while node is not None and node != "output":
        obj = graph.nodes[node]
        if isinstance(obj, (nir.Affine, nir.Conv2d)) and (obj.metadata or {}).get("neuron") == "relay":
            out.append((node, obj, None))
            node = nxt.get(node)
        elif isinstance(obj, (nir.Affine, nir.Conv2d)):
            neuron_name = nxt.get(node)
            neuron = graph.nodes.get(neuron_name)
            if not isinstance(neuron, nir.IF):
                raise TTFSError(f"node {node} is not followed by an IF node", "use graphs written by ttfs-deploy")
            out.append((node, obj, neuron))
            node = nxt.get(neuron_name)
        elif isinstance(obj, nir.Flatten):
            node = nxt.get(node)
        else:
            raise TTFSError(f"unsupported NIR node {node} ({type(obj).__name__})",
                            "ttfs-deploy reads chains of Affine/Conv2d + IF (pooling folded)")
    return out


def _common(graph: nir.NIRGraph, kind: str, path: str) -> Tuple[Tuple[int, ...], int, str]:
    meta = graph.metadata or {}
    if meta.get("coding") != "ttfs" or meta.get("graph_kind") != kind:
        raise TTFSError(f"{path} is not a ttfs-deploy {kind} graph", "compile it with `ttfs-deploy compile`")
    input_shape = tuple(int(v) for v in np.asarray(graph.nodes["input"].input_type["input"]).ravel())
    return input_shape, int(meta["T"]), str(meta["input_encoding"])


def _geometry(synapse: Any, in_shape: Tuple[int, ...]) -> Dict[str, Any]:
    if isinstance(synapse, nir.Affine):
        return {"kind": "dense", "input_shape": (int(np.prod(in_shape)),)}
    two = lambda v: tuple(int(x) for x in np.broadcast_to(np.asarray(v), (2,)))  # noqa: E731
    return {"kind": "conv", "input_shape": tuple(in_shape), "stride": two(synapse.stride),
            "padding": two(synapse.padding)}


def read_float(path: str) -> FloatNetwork:
    """Read a float graph written by :func:`float_to_nir`."""
    graph = read_graph(path)
    input_shape, T, encoder = _common(graph, "float", path)
    layers, shape = [], input_shape
    for name, synapse, neuron in _layers_of(graph):
        layers.append(_float_layer(name, synapse, neuron, shape))
        shape = layers[-1].output_shape
    meta = {k: v for k, v in graph.metadata.items() if k in ("arch", "n_classes")}
    return FloatNetwork(input_shape, T, encoder, layers, meta)


def read_int(path: str) -> IntNetwork:
    """Read a deployable graph written by :func:`int_to_nir`, checking metadata against parameters."""
    graph = read_graph(path)
    input_shape, T, encoder = _common(graph, "deployable", path)
    layers, shape, host = [], input_shape, None
    for name, synapse, neuron in _layers_of(graph):
        if synapse.metadata.get("runs_on") == "host":
            if layers or host is not None:
                raise TTFSError(f"{path}: host layer {name} is not the first layer", "re-compile the model")
            host = _float_layer(name, synapse, neuron, shape)
            shape = host.output_shape
            continue
        md = synapse.metadata
        geo = _geometry(synapse, shape)
        exp = int(md["weight_exp"])
        weight = np.asarray(synapse.weight).astype(np.int64)
        relay = neuron is None
        unit = 0 if relay else 6   # relay synapses are in weight units, the others in membrane units
        mant = (weight >> unit) >> exp
        channels = int(weight.shape[0])
        bias_mant = np.zeros(channels, np.int64) if relay else np.asarray(md["bias_mant"], np.int64)
        bias_exp = np.zeros(channels, np.int64) if relay else np.asarray(md["bias_exp"], np.int64)
        vth = 0 if relay else int(md["vth"])
        consistent = (np.array_equal((mant << exp) << unit, weight)
                      and np.array_equal(bias_mant << bias_exp, np.asarray(synapse.bias).astype(np.int64))
                      and (relay or np.all(np.asarray(neuron.v_threshold) == vth << 6)))
        if not consistent:
            raise TTFSError(f"{path}: layer {name}'s metadata disagrees with its parameters",
                            "re-compile the model instead of editing the file")
        layer = IntLayer(name, geo["kind"], mant, exp, bias_mant, bias_exp, vth, geo["input_shape"],
                         int(md["hop_delay"]), float(md["scale"]), geo.get("stride", (1, 1)),
                         geo.get("padding", (0, 0)), json.loads(str(md.get("info", "{}"))),
                         neuron="relay" if relay else "fire_once")
        layers.append(layer)
        shape = layer.output_shape
    meta = graph.metadata
    return IntNetwork(host.output_shape if host else input_shape, T, encoder, layers,
                      target=str(meta.get("target", "")), placement=json.loads(str(meta.get("placement", "[]"))),
                      metadata=json.loads(str(meta.get("extra", "{}"))), host=host)
