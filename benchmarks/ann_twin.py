"""The ReLU-ANN twin of a TTFS architecture: how accurate the same layers are as a conventional network.

A capacity check for issue 20: if the ANN twin of an architecture is not clearly above the target,
its TTFS network (binary fire-once activations) will not be either. The twin has the spec's layers
(conv with padding k//2, average pooling, dense) with ReLU after every hidden layer, dropout after
each hidden layer like the TTFS recipe, Adam with a cosine schedule, and the recipe's ±1-pixel
translation augmentation; no batch norm (the TTFS network has none either).

    OMP_NUM_THREADS=1 python benchmarks/ann_twin.py --data fashion-mnist --epochs 12 \\
        --arch 16C5-AP2-16C5-AP2-FC256-FC10 16C5-AP2-32C5-AP2-FC256-FC10

Prints one line per epoch and a Markdown row per architecture (best and last test accuracy).
"""

from __future__ import annotations

import argparse
import time
from typing import List

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.model.arch import parse_spec
from ttfs_deploy.train.augment import random_flip, random_shift


def twin(arch: str, input_shape, n_classes: int, dropout: float) -> nn.Sequential:
    """The spec's layers as a ReLU network (no ReLU after the output layer)."""
    specs = parse_spec(arch, n_classes)
    layers: List[nn.Module] = []
    c, h, w = input_shape
    for i, spec in enumerate(specs):
        last = i == len(specs) - 1
        if spec.kind == "conv":
            layers += [nn.Conv2d(c, spec.size, spec.kernel, spec.stride, spec.kernel // 2), nn.ReLU()]
            c, h, w = spec.size, (h - 1) // spec.stride + 1, (w - 1) // spec.stride + 1
        elif spec.kind == "avgpool":
            layers.append(nn.AvgPool2d(spec.size))
            h, w = h // spec.size, w // spec.size
        elif spec.kind == "fc":
            if c is not None:  # first dense layer after convs
                layers.append(nn.Flatten())
            layers.append(nn.Linear(c * h * w if c is not None else h, spec.size))
            c, h, w = None, spec.size, 1
            if not last:
                layers.append(nn.ReLU())
        else:
            raise SystemExit(f"error: {spec.kind} has no ANN twin here; use conv, AP and FC tokens")
        if not last and dropout > 0 and spec.kind != "avgpool":
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--arch", nargs="+", required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--augment-shift", type=int, default=1)
    ap.add_argument("--augment-flip", action="store_true", help="mirror a random half of the images each epoch")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    x_test, y_test = torch.as_tensor(test.x, dtype=torch.float32), torch.as_tensor(test.y)
    rows = []
    for arch in args.arch:
        torch.manual_seed(args.seed)
        model = twin(arch, train.x.shape[1:], int(train.y.max()) + 1, args.dropout)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
        accs, start = [], time.perf_counter()
        for epoch in range(args.epochs):
            model.train()
            seed = args.seed * 1000 + epoch
            xs = torch.as_tensor(random_flip(random_shift(train.x, args.augment_shift, seed), args.augment_flip, seed),
                                 dtype=torch.float32)
            ys = torch.as_tensor(train.y)
            order = torch.randperm(len(xs))
            for i in range(0, len(xs), args.batch_size):
                idx = order[i:i + args.batch_size]
                loss = F.cross_entropy(model(xs[idx]), ys[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            schedule.step()
            accs.append(accuracy(model, x_test, y_test))
            print(f"{arch} epoch {epoch + 1}: test {accs[-1]:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
        rows.append(f"| `{arch}` | {args.epochs} | {max(accs):.4f} (epoch {int(np.argmax(accs)) + 1}) | {accs[-1]:.4f} | "
                    f"{(time.perf_counter() - start) / 60:.1f} |")
    print("| architecture (ReLU ANN twin) | epochs | best test | last test | minutes |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
