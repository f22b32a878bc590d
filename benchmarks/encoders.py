"""Input encodings compared on one schedule: latency and ON/OFF spike codes, direct analog current.

Usage: python benchmarks/encoders.py --data fashion-mnist --arch 16C3-AP2-16C3-AP2-FC128 --T 8
           --epochs 1 --limit 10000 --test-limit 2000 [--gains 0.5 0.1] [--json FILE]

Float test accuracy and mean decision step for every (encoder, init gain) pair, same seed and
data. The spike codes are also compiled for loihi2 and run on the event simulator; ``direct``
is not compilable yet, so its row has no integer accuracy.
"""

from __future__ import annotations

import argparse
import json
import time

from ttfs_deploy.backends.run import run_backend
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.data.encoders import SPIKE_CODES
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train.bptt import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--arch", default="FC128-FC10")
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--encoders", nargs="+", default=["latency", "onoff", "direct"])
    parser.add_argument("--gains", nargs="+", type=float, default=[0.5])
    parser.add_argument("--json", default=None)
    parser.add_argument("--out", default="runs/encoders")
    args = parser.parse_args()
    train_data = load_dataset(args.data, "train").head(args.limit)
    test_data = load_dataset(args.data, "test").head(args.test_limit)
    rows = []
    for encoder in args.encoders:
        for gain in args.gains:
            config = ModelConfig(arch=args.arch, input_shape=train_data.input_shape, n_classes=10, T=args.T,
                                 encoder=encoder, init_gain=gain, logit_scale=20.0, dropout=0.1)
            path = f"{args.out}/{encoder}_gain{gain}.pt"
            start = time.perf_counter()
            train(config, train_data, test_data,
                  TrainConfig(epochs=args.epochs, batch_size=64, jitter=0, progress=False), path)
            model, _ = load_checkpoint(path)
            result = evaluate(model, test_data)
            row = {"encoder": encoder, "init_gain": gain, "float_accuracy": result["accuracy"],
                   "latency_steps_mean": result["latency_steps_mean"],
                   "train_seconds": time.perf_counter() - start, "integer_accuracy": None}
            if encoder in SPIKE_CODES:
                _, net = compile_model(model, load_profile("loihi2"))
                row["integer_accuracy"] = run_backend(net, "eventsim", test_data)["accuracy"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
