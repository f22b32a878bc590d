"""The import stage: ``MODEL.onnx`` (a ReLU ANN trained anywhere) -> an ordinary TTFS checkpoint.

Steps: read and check the graph (:mod:`ttfs_deploy.importers.onnx_graph`); load the data set;
measure the ANN's test accuracy on the imported float weights, after checking them against
:class:`onnx.reference.ReferenceEvaluator` on a few test images; convert with thresholds
calibrated on training samples (:mod:`ttfs_deploy.importers.convert`); measure the converted TTFS
network; optionally fine-tune it with the project's trainer
(:func:`ttfs_deploy.train.bptt.train`); save the checkpoint. Every check runs before anything is
written. The checkpoint is a plain ``ttfs-deploy/1`` file (direct input, no normalization); where
it came from lives only in its ``meta["import"]``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np

from ttfs_deploy.data.datasets import Dataset, load_dataset
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.importers import finetune_defaults
from ttfs_deploy.importers.convert import ann_forward, calibrate, model_config
from ttfs_deploy.importers.onnx_graph import AnnGraph, read_onnx

REFERENCE_SAMPLES = 4  #: test images also run through onnx's reference evaluator (slow, pure numpy)


@dataclass
class ImportResult:
    """What ``ttfs-deploy import`` reports (its ``--json``); accuracies on the whole test split."""

    output: str
    source: str
    dataset: str
    arch: str
    T: int
    encoder: str
    test_samples: int
    calibration_samples: int
    ann_accuracy: float
    converted_accuracy: float
    finetuned_accuracy: Optional[float]
    finetune_epochs: int
    finetune_samples: int
    calibration: Dict[str, Any]
    seconds: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def check_reference(path: str, graph: AnnGraph, x: np.ndarray) -> float:
    """Run ``x`` through onnx's reference evaluator and the imported weights; return the largest
    logit difference. Raises when they disagree beyond float32 rounding (an importer bug)."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(path, load_external_data=False)  # checked self-contained when it was read
    evaluator = ReferenceEvaluator(model)
    name = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}][0]
    reference = np.concatenate([evaluator.run(None, {name: xi[None].reshape(1, *graph.input_shape)})[0]
                                for xi in x.astype(np.float32)])
    ours, _ = ann_forward(graph, x)
    if reference.shape != ours.shape:  # a final Softmax: compare its input instead (argmax is what matters)
        reference = reference.reshape(ours.shape)
    diff = float(np.abs(reference - ours).max()) if len(x) else 0.0
    softmaxed = any(n.op_type in ("Softmax", "LogSoftmax") for n in model.graph.node)
    if not softmaxed and diff > 1e-3 * (1.0 + float(np.abs(reference).max())):
        raise TTFSError(f"the imported network disagrees with onnx's reference evaluator on {path} "
                        f"(max logit difference {diff:.3g})", "report this as a bug with the ONNX file")
    return diff


def _check_fits(path: str, graph: AnnGraph, train: Dataset) -> None:
    shape = tuple(train.input_shape)
    flat = len(graph.input_shape) == 1 and graph.input_shape[0] == int(np.prod(shape))
    if graph.input_shape != shape and not (flat and graph.layers[0].kind == "fc"):
        raise TTFSError(f"{path} takes inputs of shape {graph.input_shape}, {train.name} images are {shape}",
                        "pass the --data the network was trained on, or export it for these images")
    n_classes = int(train.y.max()) + 1
    if graph.n_outputs < n_classes:
        raise TTFSError(f"{path} has {graph.n_outputs} outputs, {train.name} has {n_classes} classes",
                        "pass the --data the network was trained on")
    if len(graph.weight_layers) < 2:
        raise TTFSError(f"{path} has a single weight layer; with analog (direct) input the first layer runs on "
                        "the host, so nothing would be left for the chip", "import a network with a hidden layer")


def import_onnx(path: str, data_name: str, output: str, T: int = 16, finetune: int = 0,
                data_dir: Optional[str] = None, calibration_samples: int = 512,
                finetune_limit: Optional[int] = None, train_config=None,
                command: str = "", on_epoch: Optional[Callable[[Dict[str, Any]], None]] = None,
                log: Callable[[str], None] = lambda _: None) -> ImportResult:
    """Import ``path`` for ``data_name``, write the checkpoint ``output``; see the module doc.

    ``train_config`` (a :class:`ttfs_deploy.train.bptt.TrainConfig`) sets the fine-tuning; its
    ``epochs`` is replaced by ``finetune``; ``finetune_limit`` keeps the first N training samples for
    fine-tuning (calibration always uses the first ``calibration_samples``). ``log`` receives one line per finished step.
    """
    from ttfs_deploy.model.checkpoint import load_state, save_checkpoint
    from ttfs_deploy.model.network import TTFSNet
    from ttfs_deploy.train.evaluate import evaluate

    seconds: Dict[str, float] = {}
    start = time.time()
    graph = read_onnx(path)
    train_data, test_data = load_dataset(data_name, "train", data_dir), load_dataset(data_name, "test", data_dir)
    _check_fits(path, graph, train_data)
    reference_diff = check_reference(path, graph, test_data.x[:REFERENCE_SAMPLES])
    logits, _ = ann_forward(graph, test_data.x)
    ann_accuracy = float((logits.argmax(1) == test_data.y).mean())
    seconds["read"] = time.time() - start
    log(f"read {path}: {graph.arch} (opset {graph.opset}); ANN test accuracy {ann_accuracy:.4f} "
        f"(imported weights; onnx reference evaluator agrees to {reference_diff:.2g} on {REFERENCE_SAMPLES} images)")

    start = time.time()
    config = model_config(graph, train_data.input_shape, T)
    calibration_data = train_data.head(calibration_samples)
    calib, model = calibrate(graph, config, calibration_data)
    converted_accuracy = float(evaluate(model, test_data)["accuracy"])
    seconds["convert"] = time.time() - start
    log(f"converted to TTFS (T={T}, quantiles {calib.quantile}): test accuracy {converted_accuracy:.4f}")

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    info: Dict[str, Any] = {"source": {"format": "onnx", "file": Path(path).name, "sha256": digest,
                                       "opset": graph.opset, "producer": graph.producer},
                            "ann_accuracy": ann_accuracy, "converted_accuracy": converted_accuracy,
                            "finetuned_accuracy": None, "finetune_epochs": finetune,
                            "finetune_samples": len(train_data.head(finetune_limit)) if finetune else 0,
                            "calibration_samples": len(calibration_data),
                            "calibration": dict(calib.to_dict(), spike_value=calib.spike_value),
                            "reference_max_logit_diff": reference_diff}
    meta: Dict[str, Any] = {"dataset": data_name, "command": command, "import": info,
                            "accuracy": converted_accuracy}
    finetuned = None
    if finetune:
        from ttfs_deploy.train import TrainConfig, train

        lr, batch_size = finetune_defaults(data_name)
        cfg = train_config or TrainConfig(lr=lr, batch_size=batch_size)
        cfg.epochs = finetune
        start = time.time()
        record = train(config, train_data.head(finetune_limit), test_data, cfg, output, meta=meta, on_epoch=on_epoch,
                       initial_state=model.state_dict())
        seconds["finetune"] = time.time() - start
        finetuned = float(record["test_accuracy"])
        # the trainer's checkpoint stays a hidden temp file until the command ends (io_utils.command_outputs);
        # its resume state is written at once and holds the same last-epoch weights
        model = TTFSNet(config)  # config.weight_bits is the trainer's (QAT)
        load_state(output + ".last.pt", model)
        meta = dict(meta, train=asdict(cfg), epochs_done=finetune, accuracy=finetuned,
                    latency_steps_mean=record["latency_steps_mean"])
        meta["import"]["finetuned_accuracy"] = finetuned
    meta["import"]["seconds"] = seconds
    save_checkpoint(output, model, meta)
    return ImportResult(output, path, data_name, config.arch, T, config.encoder, len(test_data),
                        len(calibration_data), ann_accuracy, converted_accuracy, finetuned, finetune,
                        info["finetune_samples"], calib.to_dict(), seconds)
