"""ONNX import on digits: calibrate once, then fine-tune the converted network with several settings.

Usage: python benchmarks/onnx_finetune.py ANN.onnx [--T 16] [--epochs 5]
           [--variant '{"lr": 3e-3, "batch_size": 16}' ...] [--plain-score]

Prints the calibration (quantiles, calibration score, converted test accuracy and mean decision
step), then per variant the float test accuracy and mean decision step after each fine-tuning
epoch. A variant is JSON: ``TrainConfig`` fields (lr, batch_size, seed, qat_epochs, ...) and the
model fields logit_scale, dropout, decoder. ``--plain-score`` calibrates on the deployed accuracy
(ties broken by membrane potential) instead of :func:`~ttfs_deploy.importers.convert.tie_split_accuracy`.
Runs with one torch thread (the measurements in docs/BENCHMARKS.md, "ONNX import").
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.importers import convert
from ttfs_deploy.importers.onnx_graph import read_onnx
from ttfs_deploy.train import TrainConfig, evaluate, train

MODEL_FIELDS = ("logit_scale", "dropout", "decoder")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnx")
    parser.add_argument("--T", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--variant", action="append", default=[], help="JSON settings (repeat)")
    parser.add_argument("--plain-score", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.plain_score:
        convert.tie_split_accuracy = lambda model, data: float(evaluate(model, data)["accuracy"])
    graph = read_onnx(args.onnx)
    train_data, test_data = load_dataset("digits", "train"), load_dataset("digits", "test")
    config = convert.model_config(graph, train_data.input_shape, args.T)
    start = time.time()
    calibration, model = convert.calibrate(graph, config, train_data.head(512))
    test = evaluate(model, test_data)
    print(f"calibration {calibration.quantile} score {calibration.accuracy:.4f}: converted test accuracy "
          f"{test['accuracy']:.4f}, decision step {test['latency_steps_mean']} ({time.time() - start:.0f} s)")
    state = model.state_dict()
    with tempfile.TemporaryDirectory() as folder:
        for text in args.variant:
            variant = json.loads(text)
            model_options = {k: variant.pop(k) for k in MODEL_FIELDS if k in variant}
            cfg = TrainConfig(**dict(dict(lr=1e-3, batch_size=64, progress=False), **variant, epochs=args.epochs))
            epochs: list = []
            start = time.time()
            train(replace(config, **model_options), train_data, test_data, cfg, str(Path(folder) / "ft.pt"),
                  initial_state=state, on_epoch=lambda r: epochs.append(
                      f"{r['test_accuracy']:.4f} (step {r['latency_steps_mean'] or float('nan'):.2f})"))
            print(f"{json.dumps(dict(model_options, **variant))}: {', '.join(epochs)} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
