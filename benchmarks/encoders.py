"""Input encodings compared on one schedule: latency and ON/OFF spike codes, direct analog current.

Usage: python benchmarks/encoders.py --data fashion-mnist --arch 16C3-AP2-16C3-AP2-FC128 --T 8
           --epochs 1 --limit 10000 --test-limit 2000 [--gains 0.5 0.1] [--json FILE]

Float test accuracy and mean decision step for every (encoder, init gain) pair, same seed and
data, each also compiled for loihi2 and run on the event simulator (``direct`` with its first
layer on the host).
"""

from __future__ import annotations

import json

from short_schedule import load_splits, schedule_parser, train_and_measure, write_rows

from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train.bptt import TrainConfig


def main() -> None:
    parser = schedule_parser(__doc__.splitlines()[0], arch="FC128-FC10", epochs=1, out="runs/encoders")
    parser.add_argument("--encoders", nargs="+", default=["latency", "onoff", "direct"])
    parser.add_argument("--gains", nargs="+", type=float, default=[0.5])
    args = parser.parse_args()
    train_data, test_data = load_splits(args)
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
