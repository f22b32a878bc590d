"""Shared by the short-schedule benchmarks (ablation, encoders): train one configuration, then
measure float accuracy, the decision step and, where it compiles for loihi2, the integer
accuracy on the event simulator."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Dict, Iterable, List, Tuple

from ttfs_deploy.backends.run import run_backend
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import Dataset, load_dataset
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate


def schedule_parser(description: str, arch: str, epochs: int, out: str) -> argparse.ArgumentParser:
    """The arguments every short-schedule benchmark takes (data, schedule, where to write)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default="digits")
    parser.add_argument("--arch", default=arch)
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--out", default=out)
    return parser


def load_splits(args: argparse.Namespace) -> Tuple[Dataset, Dataset]:
    """(train, test) of ``--data``, cut to ``--limit`` / ``--test-limit``."""
    return (load_dataset(args.data, "train").head(args.limit),
            load_dataset(args.data, "test").head(args.test_limit))


def train_and_measure(config: ModelConfig, train_data: Dataset, test_data: Dataset, train_config: TrainConfig,
                      path: str) -> Dict[str, Any]:
    """Train ``config`` into ``path`` and measure it (``integer_accuracy`` None where it does not
    compile, with the compiler's one-line reason in ``compile_error``)."""
    start = time.perf_counter()
    train(config, train_data, test_data, train_config, path)
    seconds = time.perf_counter() - start
    model, _ = load_checkpoint(path)
    result = evaluate(model, test_data)
    row: Dict[str, Any] = {"float_accuracy": result["accuracy"], "latency_steps_mean": result["latency_steps_mean"],
                           "train_seconds": seconds, "integer_accuracy": None}
    try:
        _, net = compile_model(model, load_profile("loihi2"))
        row["integer_accuracy"] = run_backend(net, "eventsim", test_data)["accuracy"]
    except TTFSError as err:
        row["compile_error"] = str(err)
    return row


Run = Tuple[Dict[str, Any], ModelConfig, TrainConfig, str]
"""One benchmark row to produce: (labels for the row, model config, train config, checkpoint path)."""


def run_rows(args: argparse.Namespace, train_data: Dataset, test_data: Dataset,
             runs: Iterable[Run]) -> List[Dict[str, Any]]:
    """Train and measure each run; print each row as a JSON line as it finishes, and write all rows
    with the arguments to ``--json`` when given."""
    rows = []
    for labels, config, train_config, path in runs:
        row = {**labels, **train_and_measure(config, train_data, test_data, train_config, path)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "rows": rows}, fh, indent=2)
    return rows
