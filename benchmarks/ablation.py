"""ETTFS ablation: each component switched off in turn, on a short schedule.

Usage: python benchmarks/ablation.py --data fashion-mnist --arch 16C3-AP2-16C3-AP2-FC128 --T 8
           --epochs 1 --limit 10000 [--test-limit N] [--json FILE]

Rows: full recipe (ettfs init, weight standardization + affine, temporal-weighting decoder,
average pooling), then kaiming init, no normalization, spike-count decoder, first-spike decoder,
max pooling (float accuracy only: max pooling cannot be compiled), and the paper's baseline
(kaiming, max pooling, no normalization, count decoder). Float test accuracy, and the compiled
integer accuracy on the event simulator where the model compiles.
"""

from __future__ import annotations

import argparse
import json
import time

from ttfs_deploy.backends.run import run_backend
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train.bptt import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate

VARIANTS = {
    "full recipe": {},
    "kaiming init": {"init": "kaiming"},
    "no normalization": {"norm": "none"},
    "count decoder": {"decoder": "count"},
    "first-spike decoder": {"decoder": "first"},
    "max pooling": {"pool": "MP"},
    "baseline (kaiming, max pool, no norm, count)": {"init": "kaiming", "norm": "none", "decoder": "count", "pool": "MP"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--arch", default="16C3-AP2-FC128")
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--gain", type=float, default=0.5)
    parser.add_argument("--json", default=None)
    parser.add_argument("--out", default="runs/ablation")
    args = parser.parse_args()
    train_data = load_dataset(args.data, "train").head(args.limit)
    test_data = load_dataset(args.data, "test").head(args.test_limit)
    rows = []
    for name, change in VARIANTS.items():
        arch = args.arch.replace("AP", change.get("pool", "AP"))
        config = ModelConfig(arch=arch, input_shape=train_data.input_shape, n_classes=10, T=args.T,
                             init=change.get("init", "ettfs"), norm=change.get("norm", "ws"),
                             decoder=change.get("decoder", "twd"), init_gain=args.gain, logit_scale=20.0, dropout=0.1)
        path = f"{args.out}/{name.split(' (')[0].replace(' ', '_')}.pt"
        start = time.perf_counter()
        train(config, train_data, test_data, TrainConfig(epochs=args.epochs, batch_size=64, progress=False), path)
        seconds = time.perf_counter() - start
        model, _ = load_checkpoint(path)
        row = {"variant": name, "arch": arch, "float_accuracy": evaluate(model, test_data)["accuracy"],
               "train_seconds": seconds}
        try:
            _, net = compile_model(model, load_profile("loihi2"))
            row["integer_accuracy"] = run_backend(net, "eventsim", test_data)["accuracy"]
        except TTFSError as err:
            row["integer_accuracy"] = None
            row["compile_error"] = str(err)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
