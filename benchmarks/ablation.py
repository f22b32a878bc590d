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

import json

from short_schedule import load_splits, schedule_parser, train_and_measure, write_rows

from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train.bptt import TrainConfig

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
    parser = schedule_parser(__doc__.splitlines()[0], arch="16C3-AP2-FC128", epochs=5, out="runs/ablation")
    parser.add_argument("--gain", type=float, default=0.5)
    args = parser.parse_args()
    train_data, test_data = load_splits(args)
    rows = []
    for name, change in VARIANTS.items():
        arch = args.arch.replace("AP", change.get("pool", "AP"))
        config = ModelConfig(arch=arch, input_shape=train_data.input_shape, n_classes=10, T=args.T,
                             init=change.get("init", "ettfs"), norm=change.get("norm", "ws"),
                             decoder=change.get("decoder", "twd"), init_gain=args.gain, logit_scale=20.0, dropout=0.1)
        path = f"{args.out}/{name.split(' (')[0].replace(' ', '_')}.pt"
        train_config = TrainConfig(epochs=args.epochs, batch_size=64, progress=False)
        row = {"variant": name, "arch": arch, **train_and_measure(config, train_data, test_data, train_config, path)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        write_rows(args.json, args, rows)


if __name__ == "__main__":
    main()
