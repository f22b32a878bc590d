"""Input encodings compared on one schedule: latency and ON/OFF spike codes, direct analog current.

Usage: python benchmarks/encoders.py --data fashion-mnist --arch 16C3-AP2-16C3-AP2-FC128 --T 8
           --epochs 1 --limit 10000 --test-limit 2000 [--gains 0.5 0.1] [--json FILE]

Float test accuracy and mean decision step for every (encoder, init gain) pair, same seed and
data, each also compiled for loihi2 and run on the event simulator (``direct`` with its first
layer on the host).
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from short_schedule import Run, load_splits, run_rows, schedule_parser

from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train import TrainConfig


def encoder_runs(arch: str, T: int, input_shape: Tuple[int, ...], epochs: int, encoders: List[str],
                 gains: List[float], out: str) -> Iterator[Run]:
    """One run per (encoder, init gain); everything else fixed."""
    for encoder in encoders:
        for gain in gains:
            config = ModelConfig(arch=arch, input_shape=input_shape, n_classes=10, T=T,
                                 encoder=encoder, init_gain=gain, logit_scale=20.0, dropout=0.1)
            train_config = TrainConfig(epochs=epochs, batch_size=64, jitter=0, progress=False)
            yield {"encoder": encoder, "init_gain": gain}, config, train_config, f"{out}/{encoder}_gain{gain}.pt"


def main() -> None:
    parser = schedule_parser(__doc__.splitlines()[0], arch="FC128-FC10", epochs=1, out="runs/encoders")
    parser.add_argument("--encoders", nargs="+", default=["latency", "onoff", "direct"])
    parser.add_argument("--gains", nargs="+", type=float, default=[0.5])
    args = parser.parse_args()
    train_data, test_data = load_splits(args)
    run_rows(args, train_data, test_data, encoder_runs(args.arch, args.T, train_data.input_shape, args.epochs,
                                                       args.encoders, args.gains, args.out))


if __name__ == "__main__":
    main()
