"""Train an ordinary ReLU CNN in plain PyTorch and export it to ONNX for ``ttfs-deploy import``.

    python examples/train_ann_onnx.py --data fashion-mnist --epochs 3 -o fmnist_ann.onnx
    ttfs-deploy import fmnist_ann.onnx --data fashion-mnist --T 8 --finetune 1 -o fmnist_import.pt
    ttfs-deploy compile fmnist_import.pt --target loihi2 --data fashion-mnist

Nothing here knows about spikes: a CNN with the layers a TTFS network can take (Conv with
padding k//2, BatchNorm, ReLU, average pooling, Linear), trained with Adam and cross-entropy on the
images as ``ttfs_deploy.data`` loads them (float in [0, 1], (N, 1, H, W)), exported with
``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``: the dynamo exporter of torch
2.13 needs ``onnxscript``, which this project does not install).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ttfs_deploy.data.datasets import load_dataset

#: (kernel, channels, hidden units). Fashion-MNIST: the shipped TTFS model's shape
#: (16C5-AP2-16C5-AP2-FC256-FC10), whose folded layers fit a Loihi core's 4,096 input axons.
#: Digits (8x8): 32C3-AP2-32C3-AP2-FC256-FC10; a spike carries no amplitude, so wide layers convert
#: better: on digits this shape's converted network was 3-8 points below its ANN (3 seeds), one with
#: 16 channels and 64 hidden units 13 points (docs/BENCHMARKS.md, "ONNX import")
ARCH = {"fashion-mnist": (5, 16, 256), "mnist": (5, 16, 256), "digits": (3, 32, 256)}


def make_cnn(data: str, height: int, n_classes: int = 10) -> nn.Sequential:
    """Conv-BN-ReLU-AvgPool, Conv-ReLU-AvgPool, Linear-ReLU-Dropout, Linear."""
    k, channels, hidden = ARCH[data]
    side = height // 4
    return nn.Sequential(
        nn.Conv2d(1, channels, k, padding=k // 2), nn.BatchNorm2d(channels), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(channels, channels, k, padding=k // 2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(channels * side * side, hidden), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(hidden, n_classes))


def train_cnn(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float = 2e-3,
              batch_size: int = 64, seed: int = 0) -> None:
    """Plain Adam + cross-entropy, cosine schedule."""
    torch.manual_seed(seed)
    xs, ys = torch.as_tensor(x), torch.as_tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xs))
        for start in range(0, len(xs), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        schedule.step()
    model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    pred = torch.cat([model(torch.as_tensor(x[i:i + 1000])).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred.numpy() == y).mean())


def export_onnx(model: nn.Module, input_shape: tuple, path: str) -> None:
    """Export with a dynamic batch and a fixed image size (what ``ttfs-deploy import`` reads)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 warns that dynamo=False is deprecated
        torch.onnx.export(model.eval(), (torch.zeros(1, *input_shape),), path, dynamo=False,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="fashion-mnist", choices=sorted(ARCH))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, help="MODEL.onnx to write")
    args = parser.parse_args()
    train, test = load_dataset(args.data, "train"), load_dataset(args.data, "test")
    torch.manual_seed(args.seed)
    model = make_cnn(args.data, train.x.shape[2])
    start = time.time()
    train_cnn(model, train.x, train.y, args.epochs, seed=args.seed)
    minutes = (time.time() - start) / 60
    export_onnx(model, train.input_shape, args.output)
    print(f"wrote {args.output}: ANN test accuracy {accuracy(model, test.x, test.y):.4f} "
          f"after {args.epochs} epochs ({minutes:.1f} min of training)")


if __name__ == "__main__":
    main()
