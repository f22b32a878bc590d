"""Training memory and time of BPTT and OTTT against the number of time steps T.

For every method and T, one fresh ``ttfs-deploy train`` process (one epoch on the first ``--limit``
training samples, then its evaluation on the first ``--test-limit`` test samples, both written to one
``.npz`` so the process loads only those) is run; its peak resident set size comes from the
kernel (``os.wait4`` rusage ``ru_maxrss``, the child alone) and its training seconds from its
JSON log. Separately, in this process, the bytes autograd holds for backward during one training
step of one batch (:class:`ttfs_deploy.train.memory.SavedTensorMeter`).

    nice -n 10 python benchmarks/ottt_memory.py --json ottt_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import torch

from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.data.encoders import encode
from ttfs_deploy.model.network import ModelConfig, TTFSNet
from ttfs_deploy.train import TrainConfig
from ttfs_deploy.train.loop import TRAIN_METHODS
from ttfs_deploy.train.memory import SavedTensorMeter


def process_run(args: argparse.Namespace, method: str, T: int, folder: str) -> Dict[str, Any]:
    """One ``ttfs-deploy train`` process; its peak RSS (MB) and the epoch's training seconds."""
    out = str(Path(folder) / f"{method}-{T}.pt")
    cmd = [sys.executable, "-m", "ttfs_deploy.cli", "train", "--data", args.npz, "--arch", args.arch,
           "--encoder", args.encoder,
           "--T", str(T), "--method", method, "--epochs", "1", "--limit", str(args.limit),
           "--batch-size", str(args.batch_size), "--device", "cpu", "-o", out]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {child.stderr.read().decode()[-500:]}")
    record = json.loads(Path(out + ".log.jsonl").read_text().splitlines()[-1])
    return {"peak_rss_mb": usage.ru_maxrss / 1024, "epoch_seconds": record["seconds"], "process_seconds": wall,
            "test_accuracy": record["test_accuracy"]}


def saved_for_backward(args: argparse.Namespace, method: str, T: int) -> int:
    """Peak bytes held for backward during one training step on one batch (same model as the CLI's)."""
    data = load_dataset(args.npz, "train").head(args.batch_size)
    encoder = args.encoder
    config = ModelConfig(arch=args.arch, input_shape=data.input_shape, n_classes=10, T=T, encoder=encoder,
                         init_gain=0.02, logit_scale=20.0, dropout=0.2)  # ttfs-deploy train's defaults
    torch.manual_seed(0)
    model = TTFSNet(config).train()
    x, y = torch.as_tensor(encode(encoder, data.x, T)), torch.as_tensor(data.y)
    optimizer = torch.optim.Adam(model.parameters())
    with SavedTensorMeter() as meter:
        TRAIN_METHODS[method].step(model, model, optimizer, x, y, TrainConfig(method=method))
    return meter.peak


def markdown(rows: List[Dict[str, Any]]) -> str:
    lines = ["| method | T | peak RSS, whole process (MB) | x T=8 | saved for backward, one batch (MB) "
             "| training s / epoch | process s |", "|---|---:|---:|---:|---:|---:|---:|"]
    base = {r["method"]: r["peak_rss_mb"] for r in rows if r["T"] == min(x["T"] for x in rows)}
    for r in rows:
        lines.append(f"| {r['method']} | {r['T']} | {r['peak_rss_mb']:.0f} | {r['peak_rss_mb'] / base[r['method']]:.2f} "
                     f"| {r['saved_bytes'] / 2 ** 20:.1f} | {r['epoch_seconds']:.1f} | {r['process_seconds']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--arch", default="8C5-AP2-FC64-FC10")
    parser.add_argument("--Ts", default="8,16,32,64")
    parser.add_argument("--methods", default="bptt,ottt")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--encoder", default="direct")
    parser.add_argument("--limit", type=int, default=1024, help="training samples of the one epoch")
    parser.add_argument("--test-limit", type=int, default=2000, help="test samples evaluated after the epoch")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        train_data, test_data = (load_dataset(args.data, split).head(n)
                                 for split, n in (("train", args.limit), ("test", args.test_limit)))
        args.npz = str(Path(folder) / "data.npz")
        np.savez(args.npz, x_train=train_data.x, y_train=train_data.y, x_test=test_data.x, y_test=test_data.y)
        for method in args.methods.split(","):
            for T in (int(t) for t in args.Ts.split(",")):
                row = {"method": method, "T": T, **process_run(args, method, T, folder),
                       "saved_bytes": saved_for_backward(args, method, T)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    print(markdown(rows))
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "npz"}
        Path(args.json).write_text(json.dumps({"args": settings, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
