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

from typing import Iterator, Tuple

from short_schedule import Run, load_splits, run_rows, schedule_parser

from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train import TrainConfig

VARIANTS = {
    "full recipe": {},
    "kaiming init": {"init": "kaiming"},
    "no normalization": {"norm": "none"},
    "count decoder": {"decoder": "count"},
    "first-spike decoder": {"decoder": "first"},
    "max pooling": {"pool": "MP"},
    "baseline (kaiming, max pool, no norm, count)": {"init": "kaiming", "norm": "none", "decoder": "count", "pool": "MP"},
}


def variants(arch: str, T: int, input_shape: Tuple[int, ...], epochs: int, gain: float, out: str) -> Iterator[Run]:
    """One run per row of :data:`VARIANTS`; max pooling is swapped in by rewriting ``arch``."""
    for name, change in VARIANTS.items():
        variant_arch = arch.replace("AP", change.get("pool", "AP"))
        config = ModelConfig(arch=variant_arch, input_shape=input_shape, n_classes=10, T=T,
                             init=change.get("init", "ettfs"), norm=change.get("norm", "ws"),
                             decoder=change.get("decoder", "twd"), init_gain=gain, logit_scale=20.0, dropout=0.1)
        path = f"{out}/{name.split(' (')[0].replace(' ', '_')}.pt"
        yield ({"variant": name, "arch": variant_arch}, config, TrainConfig(epochs=epochs, batch_size=64, progress=False),
               path)


def main() -> None:
    parser = schedule_parser(__doc__.splitlines()[0], arch="16C3-AP2-FC128", epochs=5, out="runs/ablation")
    parser.add_argument("--gain", type=float, default=0.5)
    args = parser.parse_args()
    train_data, test_data = load_splits(args)
    run_rows(args, train_data, test_data,
             variants(args.arch, args.T, train_data.input_shape, args.epochs, args.gain, args.out))


if __name__ == "__main__":
    main()
