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
  strict ``>``: ``v_threshold = semantics.threshold(vth)``; weights
  ``semantics.weight_to_membrane(semantics.effective_weight(mant, weight_exp))``; biases
  ``semantics.effective_bias(bias_mant, bias_exp)``. Node metadata carries the Lava fields (``weight_exp``,
  ``bias_mant``, ``bias_exp``, ``vth``, ``hop_delay``, ``scale``), checked against the node
  parameters on read;
* relay layers (fan-in splitting) are an ``Affine``/``Conv2d`` with ``neuron: "relay"`` in its
  metadata and no ``IF``: it feeds the next layer's synapse node directly, with weights in
  weight units (``semantics.effective_weight``, not shifted to membrane units) and zero bias. The ``Affine``/``Conv2d``
  chain composes linearly, so plain NIR semantics (zero delay) give the final ``IF`` exactly the
  unsplit layer's input: partial sums added with weight 1 (in membrane units).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import h5py
import nir
import numpy as np

from ttfs_deploy import __version__, semantics
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import atomic_path
from ttfs_deploy.ir.network import MAX_LAYER_SYNAPSES, FloatLayer, FloatNetwork, IntLayer, IntNetwork

FIRE_ONCE_RESET = -(2 ** 40)  #: v_reset of fire-once neurons (membrane units)
FLOAT_RESET = -1e9
MAX_DATASET_VALUES = MAX_LAYER_SYNAPSES  #: no array of a deployable graph is larger than one layer's connections


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
        weight = semantics.weight_to_membrane(semantics.effective_weight(layer.weight.astype(np.int64),
                                                                          layer.weight_exp))
        bias = semantics.effective_bias(layer.bias_mant.astype(np.int64), layer.bias_exp.astype(np.int64))
        synapse = _synapse(layer.kind, weight, bias, layer)
        synapse.metadata = {"kind": layer.kind, "weight_exp": int(layer.weight_exp),
                            "bias_mant": layer.bias_mant.astype(np.int64),
                            "bias_exp": layer.bias_exp.astype(np.int64), "vth": int(layer.vth),
                            "hop_delay": int(layer.hop_delay), "scale": float(layer.scale),
                            "info": json.dumps(layer.info)}
        neuron = nir.IF(r=np.ones(shape, np.float32), v_threshold=np.full(shape, semantics.threshold(layer.vth), np.int64),
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
    weight = layer.weight.astype(np.int64, copy=False)   # shared, not copied: relays hold G kernels
    if layer.weight_exp:
        weight = weight << layer.weight_exp
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
    """``nir.read`` with one-line errors for missing, unreadable or unsafe files."""
    if not Path(path).is_file():
        raise TTFSError(f"NIR file {path} not found", "compile one with `ttfs-deploy compile MODEL.pt`")
    check_self_contained(path)
    try:
        return nir.read(path)
    except Exception as err:  # nir raises KeyError/OSError/ValueError on bad files
        raise TTFSError(f"{path} is not a readable NIR file ({type(err).__name__}: {_first_line(err)})",
                        "re-create it with `ttfs-deploy compile`") from None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [""])[0][:100]


def check_self_contained(path: str) -> None:
    """Refuse an HDF5 file that reaches outside itself (soft or external links, external or
    virtual dataset storage): reading it would make h5py open other files."""
    try:
        with h5py.File(path, "r") as fh:
            pending = [fh]
            while pending:
                group = pending.pop()
                for name in group:
                    link = group.get(name, getlink=True)
                    if not isinstance(link, h5py.HardLink):
                        raise TTFSError(f"{path} holds a {type(link).__name__} at {group.name}/{name}, refused",
                                        "NIR files written by ttfs-deploy are self-contained; re-compile the model")
                    obj = group[name]
                    if isinstance(obj, h5py.Group):
                        pending.append(obj)
                    elif isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual):
                        raise TTFSError(f"{path} stores {obj.name} outside the file (HDF5 external or virtual "
                                        "storage), refused", "re-compile the model")
                    elif isinstance(obj, h5py.Dataset) and obj.size > MAX_DATASET_VALUES:
                        raise TTFSError(f"{path}: {obj.name} holds {obj.size:,} values, more than any network "
                                        f"ttfs-deploy runs ({MAX_DATASET_VALUES:,})", "re-compile the model")
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as err:  # h5py on damaged files
        raise TTFSError(f"{path} is not a readable NIR file (not HDF5, or damaged: {_first_line(err)})",
                        "pass a .nir file written by `ttfs-deploy compile`") from None


def _layers_of(graph: nir.NIRGraph) -> List[Tuple[str, Any, Any]]:
    """(name, synapse, IF) in chain order: the edges must form one path ``input -> ... -> output``
    through every node (no cycle, branch or stray node). The IF is ``None`` for a relay layer (a
    synapse node with ``neuron: "relay"`` feeding the next synapse)."""
    edges = [tuple(edge) for edge in graph.edges]
    nodes = set(graph.nodes)
    sources = [src for src, _ in edges]
    targets = [dst for _, dst in edges]
    nxt = dict(edges)
    chain, node = ["input"], nxt.get("input")
    while node is not None and node not in chain and len(chain) <= len(nodes):
        chain.append(node)
        node = nxt.get(node)
    if ({"input", "output"} - nodes or len(set(sources)) != len(sources) or len(set(targets)) != len(targets)
            or not set(sources + targets) <= nodes or chain[-1] != "output" or set(chain) != nodes
            or len(edges) != len(nodes) - 1):
        raise TTFSError("the graph is not one chain input -> ... -> output (a cycle, branch, dangling edge or "
                        "stray node)", "ttfs-deploy reads chains of Affine/Conv2d + IF written by `ttfs-deploy compile`")
    out, rest = [], chain[1:-1]
    while rest:
        name, obj = rest[0], graph.nodes[rest[0]]
        if isinstance(obj, (nir.Affine, nir.Conv2d)) and (obj.metadata or {}).get("neuron") == "relay":
            out.append((name, obj, None))
            rest = rest[1:]
        elif isinstance(obj, (nir.Affine, nir.Conv2d)):
            neuron = graph.nodes[rest[1]] if len(rest) > 1 else None
            if not isinstance(neuron, nir.IF):
                raise TTFSError(f"node {name} is not followed by an IF node", "use graphs written by ttfs-deploy")
            out.append((name, obj, neuron))
            rest = rest[2:]
        elif isinstance(obj, nir.Flatten):
            rest = rest[1:]
        else:
            raise TTFSError(f"unsupported NIR node {name} ({type(obj).__name__})",
                            "ttfs-deploy reads chains of Affine/Conv2d + IF (pooling folded)")
    return out


def _common(graph: nir.NIRGraph, kind: str) -> Tuple[Tuple[int, ...], int, str]:
    meta = graph.metadata or {}
    if meta.get("coding") != "ttfs" or meta.get("graph_kind") != kind:
        raise TTFSError(f"not a ttfs-deploy {kind} graph", "compile it with `ttfs-deploy compile`")
    input_shape = tuple(_integer(v, "input shape") for v in np.asarray(graph.nodes["input"].input_type["input"]).ravel())
    return input_shape, _integer(meta["T"], "T"), str(meta["input_encoding"])


def _integer(value: Any, what: str) -> int:
    """``value`` as a Python int; a one-line error for fractions, strings and arrays of several."""
    array = np.asarray(value)
    if array.size != 1 or not (np.issubdtype(array.dtype, np.integer)
                               or (np.issubdtype(array.dtype, np.floating) and np.isfinite(array).all()
                                   and float(array.ravel()[0]).is_integer())):
        raise TTFSError(f"{what} must be an integer, got {str(value)[:40]!r}", "re-create the file with `ttfs-deploy compile`")
    return int(array.ravel()[0])


def _integers(value: Any, what: str) -> np.ndarray:
    """``value`` as an int64 array; a one-line error unless it is stored with an integer dtype."""
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.integer):
        raise TTFSError(f"{what} must be stored as integers, got {array.dtype}",
                        "re-create the file with `ttfs-deploy compile`")
    return array.astype(np.int64)


def _json(value: Any, default: str, kind: type, what: str) -> Any:
    loaded = json.loads(str(value if value is not None else default))
    if not isinstance(loaded, kind):
        raise TTFSError(f"{what} must be a JSON {kind.__name__}", "re-create the file with `ttfs-deploy compile`")
    return loaded


def _geometry(synapse: Any, in_shape: Tuple[int, ...]) -> Dict[str, Any]:
    if isinstance(synapse, nir.Affine):
        return {"kind": "dense", "input_shape": (int(np.prod(in_shape)),)}
    two = lambda v: tuple(int(x) for x in np.broadcast_to(np.asarray(v), (2,)))  # noqa: E731
    return {"kind": "conv", "input_shape": tuple(in_shape), "stride": two(synapse.stride),
            "padding": two(synapse.padding)}


def _read_checked(path: str, build: Callable[[nir.NIRGraph], Any]) -> Any:
    """``build(graph)`` of the NIR file ``path``; every malformed field is a one-line error
    naming the file."""
    graph = read_graph(path)
    try:
        return build(graph)
    except TTFSError as err:
        raise TTFSError(f"{path}: {err}") from None
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError) as err:
        raise TTFSError(f"{path}: malformed ttfs-deploy graph ({type(err).__name__}: {_first_line(err)})",
                        "re-create it with `ttfs-deploy compile`") from None


def read_float(path: str) -> FloatNetwork:
    """Read a float graph written by :func:`float_to_nir`."""
    return _read_checked(path, _float_network)


def _float_network(graph: nir.NIRGraph) -> FloatNetwork:
    input_shape, T, encoder = _common(graph, "float")
    layers, shape = [], input_shape
    for name, synapse, neuron in _layers_of(graph):
        layers.append(_float_layer(name, synapse, neuron, shape))
        layers[-1].validate()
        shape = layers[-1].output_shape
    meta = {k: v for k, v in graph.metadata.items() if k in ("arch", "n_classes")}
    return FloatNetwork(input_shape, T, encoder, layers, meta)


def read_int(path: str) -> IntNetwork:
    """Read a deployable graph written by :func:`int_to_nir`: every field checked for type and
    range (:meth:`IntNetwork.validate`) and the metadata against the node parameters."""
    return _read_checked(path, _int_network)


def _int_layer(name: str, synapse: Any, neuron: Any, shape: Tuple[int, ...]) -> IntLayer:
    """One deployable layer from its nodes; ``neuron`` is None for a relay layer, whose synapse is in
    weight units with zero bias (no IF: its partial sums go on as graded spikes)."""
    md = synapse.metadata
    geo = _geometry(synapse, shape)
    relay = neuron is None
    exp = _integer(md["weight_exp"], f"layer {name}'s weight_exp")
    if not 0 <= exp <= semantics.WEIGHT_EXP_MAX:
        raise TTFSError(f"layer {name}: weight_exp {exp} outside 0..{semantics.WEIGHT_EXP_MAX}", "re-compile the model")
    weight = _integers(synapse.weight, f"layer {name}'s weights")
    channels = int(weight.shape[0]) if weight.ndim else 0
    to_units = (lambda w: w) if relay else semantics.weight_to_membrane
    from_units = (lambda w: w) if relay else semantics.membrane_to_weight
    zeros = np.zeros(channels, np.int64)
    layer = IntLayer(name, geo["kind"], from_units(weight) >> exp, exp,
                     zeros if relay else _integers(md["bias_mant"], f"layer {name}'s bias_mant"),
                     zeros if relay else _integers(md["bias_exp"], f"layer {name}'s bias_exp"),
                     0 if relay else _integer(md["vth"], f"layer {name}'s vth"),
                     geo["input_shape"], _integer(md["hop_delay"], f"layer {name}'s hop_delay"), float(md["scale"]),
                     geo.get("stride", (1, 1)), geo.get("padding", (0, 0)),
                     _json(md.get("info"), "{}", dict, f"layer {name}'s info"),
                     neuron="relay" if relay else "fire_once")
    layer.validate()  # ranges first, so the shifts below cannot overflow
    consistent = (np.array_equal(to_units(semantics.effective_weight(layer.weight, exp)), weight)
                  and np.array_equal(semantics.effective_bias(layer.bias_mant, layer.bias_exp),
                                     _integers(synapse.bias, f"layer {name}'s bias"))
                  and (relay or np.all(_integers(neuron.v_threshold, f"layer {name}'s v_threshold")
                                       == semantics.threshold(layer.vth))))
    if not consistent:
        raise TTFSError(f"layer {name}'s metadata disagrees with its parameters",
                        "re-compile the model instead of editing the file")
    return layer


def _int_network(graph: nir.NIRGraph) -> IntNetwork:
    input_shape, T, encoder = _common(graph, "deployable")
    layers, shape, host = [], input_shape, None
    for name, synapse, neuron in _layers_of(graph):
        if synapse.metadata.get("runs_on") == "host":
            if layers or host is not None:
                raise TTFSError(f"host layer {name} is not the first layer", "re-compile the model")
            host = _float_layer(name, synapse, neuron, shape)
            host.validate()
            shape = host.output_shape
            continue
        layers.append(_int_layer(name, synapse, neuron, shape))
        shape = layers[-1].output_shape
    meta = graph.metadata
    placement = _json(meta.get("placement"), "[]", list, "placement")
    if not all(isinstance(p, dict) and isinstance(p.get("layer"), str) and type(p.get("cores")) is int
               and p["cores"] >= 1 for p in placement):
        raise TTFSError("placement must list, per layer, a table with its name and cores (an integer >= 1)",
                        "re-create the file with `ttfs-deploy compile`")
    return IntNetwork(host.output_shape if host else input_shape, T, encoder, layers,
                      target=str(meta.get("target", "")), placement=placement,
                      metadata=_json(meta.get("extra"), "{}", dict, "extra metadata"), host=host)
