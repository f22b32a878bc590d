"""Training throughput (samples/s) of several T and architectures under the same conditions.

Each configuration trains one short epoch (the first ``--samples`` training images) with the real
trainer, and the configurations take turns for ``--rounds`` rounds, so that other jobs on a shared
machine slow them alike; the median of the rounds is reported. The figure is the training log's
``samples_per_second`` (forward, backward and Adam step; the test evaluation is excluded).

    python benchmarks/step_cost.py --data fashion-mnist --T 4 8 --samples 1280 --rounds 3
    python benchmarks/step_cost.py --data fashion-mnist --T 8 --arch 16C5-AP2-16C5-AP2-FC256-FC10 \
        16C5-AP2-32C5-AP2-FC256-FC10
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from pathlib import Path
from typing import Dict, List, Tuple

import torch

from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.recipes import recipe_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--T", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--arch", nargs="+", default=[None], help="default: the data set's recipe")
    parser.add_argument("--samples", type=int, default=1280, help="training images per timed epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_data = load_dataset(args.data, "train").head(args.samples)
    test_data = load_dataset(args.data, "test").head(64)
    n_classes = int(max(train_data.y.max(), test_data.y.max())) + 1
    speeds: Dict[Tuple[str, int], List[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _, arch, T in itertools.product(range(args.rounds), args.arch, args.T):
            recipe = recipe_for(args.data, arch=arch, T=T)
            config = ModelConfig(input_shape=train_data.input_shape, n_classes=n_classes, **recipe.model_options())
            cfg = TrainConfig(**dict(recipe.train_options(), epochs=1, qat_epochs=0), progress=False)
            out = str(Path(tmp) / "m.pt")
            speeds.setdefault((recipe.arch, T), []).append(train(config, train_data, test_data, cfg, out)
                                                           ["samples_per_second"])
    rows = [{"arch": arch, "T": T, "samples_per_second": statistics.median(v), "rounds": v,
             "threads": args.threads, "samples": args.samples} for (arch, T), v in speeds.items()]
    for row in rows:
        print(f"{row['arch']} T={row['T']}: {row['samples_per_second']:.0f} samples/s "
              f"(rounds: {', '.join(f'{s:.0f}' for s in row['rounds'])})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
