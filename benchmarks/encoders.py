"""Input encodings compared on one schedule: latency and ON/OFF spike codes, direct analog current.

Usage: python benchmarks/encoders.py --data fashion-mnist --arch 16C3-AP2-16C3-AP2-FC128 --T 8
           --epochs 1 --limit 10000 --test-limit 2000 [--gains 0.5 0.1] [--json FILE]

Float test accuracy and mean decision step for every (encoder, init gain) pair, same seed and
data, each also compiled for loihi2 and run on the event simulator (``direct`` with its first
layer on the host).
"""

from __future__ import annotations

import argparse
import json

from short_schedule import train_and_measure, write_rows

from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train.bptt import TrainConfig


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
            train_config = TrainConfig(epochs=args.epochs, batch_size=64, jitter=0, progress=False)
            row = {"encoder": encoder, "init_gain": gain,
                   **train_and_measure(config, train_data, test_data, train_config, path)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        write_rows(args.json, args, rows)


if __name__ == "__main__":
    main()
