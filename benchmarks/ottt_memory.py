"""Training memory and time of BPTT and OTTT against the number of time steps T.

For every method and T, one fresh ``ttfs-deploy train`` process (one epoch on the first ``--limit``
training samples, then its evaluation on the first ``--test-limit`` test samples, both written to one
``.npz`` so the process loads only those) is run; its peak resident set size comes from the
kernel (``os.wait4`` rusage ``ru_maxrss``) and its training seconds from its JSON log. In another
fresh process, the bytes autograd holds for backward during one training step of one batch
(:class:`ttfs_deploy.train.memory.SavedTensorMeter`). This parent process imports neither torch nor
the data: a child's ``ru_maxrss`` includes the parent's RSS at the fork, so the parent stays small.

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
from typing import Any, Dict, List, Tuple


def child(cmd: List[str]) -> Tuple[float, float, str]:
    """Run ``cmd`` to its end; its peak RSS (MB), wall seconds and stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0), err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed: {err.read().decode()[-500:]}")
        return usage.ru_maxrss / 1024, wall, out.read().decode()


def process_run(args: argparse.Namespace, npz: str, method: str, T: int, folder: str) -> Dict[str, Any]:
    """One ``ttfs-deploy train`` process; its peak RSS (MB) and the epoch's training seconds."""
    out = str(Path(folder) / f"{method}-{T}.pt")
    rss, wall, _ = child([sys.executable, "-m", "ttfs_deploy.cli", "train", "--data", npz, "--arch", args.arch,
                          "--encoder", args.encoder, "--T", str(T), "--method", method, "--epochs", "1",
                          "--limit", str(args.limit), "--batch-size", str(args.batch_size), "--device", "cpu",
                          "-o", out])
    record = json.loads(Path(out + ".log.jsonl").read_text().splitlines()[-1])
    return {"peak_rss_mb": rss, "epoch_seconds": record["seconds"], "process_seconds": wall,
            "test_accuracy": record["test_accuracy"]}


def saved_for_backward(npz: str, arch: str, encoder: str, method: str, T: int, batch_size: int) -> int:
    """(Child process.) Peak bytes held for backward during one training step on one batch, same
    model as ``ttfs-deploy train`` builds."""
    import torch

    from ttfs_deploy.data.datasets import load_dataset
    from ttfs_deploy.data.encoders import encode
    from ttfs_deploy.model.network import ModelConfig, TTFSNet
    from ttfs_deploy.train import TrainConfig
    from ttfs_deploy.train.loop import TRAIN_METHODS
    from ttfs_deploy.train.memory import SavedTensorMeter

    data = load_dataset(npz, "train").head(batch_size)
    config = ModelConfig(arch=arch, input_shape=data.input_shape, n_classes=10, T=T, encoder=encoder,
                         init_gain=0.02, logit_scale=20.0, dropout=0.2)  # ttfs-deploy train's defaults
    torch.manual_seed(0)
    model = TTFSNet(config).train()
    x, y = torch.as_tensor(encode(encoder, data.x, T)), torch.as_tensor(data.y)
    optimizer = torch.optim.Adam(model.parameters())
    with SavedTensorMeter() as meter:
        TRAIN_METHODS[method].step(model, model, optimizer, x, y, TrainConfig(method=method))
    return meter.peak


def write_npz(data: str, limit: int, test_limit: int, path: str) -> None:
    """(Child process.) The first ``limit`` training and ``test_limit`` test samples of ``data``."""
    import numpy as np

    from ttfs_deploy.data.datasets import load_dataset

    train, test = load_dataset(data, "train").head(limit), load_dataset(data, "test").head(test_limit)
    np.savez(path, x_train=train.x, y_train=train.y, x_test=test.x, y_test=test.y)


def markdown(rows: List[Dict[str, Any]]) -> str:
    lines = ["| method | T | peak RSS, whole process (MB) | x first T | saved for backward, one batch (MB) "
             "| training s / epoch | process s |", "|---|---:|---:|---:|---:|---:|---:|"]
    base = {r["method"]: r["peak_rss_mb"] for r in rows if r["T"] == min(x["T"] for x in rows)}
    for r in rows:
        ratio = r["peak_rss_mb"] / base[r["method"]]
        lines.append(f"| {r['method']} | {r['T']} | {r['peak_rss_mb']:.0f} | {ratio:.2f} "
                     f"| {r['saved_bytes'] / 2 ** 20:.1f} | {r['epoch_seconds']:.1f} | {r['process_seconds']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--arch", default="8C3-AP2-FC10")
    parser.add_argument("--Ts", default="8,16,32,64")
    parser.add_argument("--methods", default="bptt,ottt")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--encoder", default="direct")
    parser.add_argument("--limit", type=int, default=512, help="training samples of the one epoch")
    parser.add_argument("--test-limit", type=int, default=512, help="test samples evaluated after the epoch")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # a measurement that runs in its own process
        if args.child[0] == "npz":
            write_npz(args.data, args.limit, args.test_limit, args.child[1])
        else:
            _, npz, method, T = args.child
            print(saved_for_backward(npz, args.arch, args.encoder, method, int(T), args.batch_size))
        return
    me = [sys.executable, __file__, "--data", args.data, "--arch", args.arch, "--encoder", args.encoder,
          "--batch-size", str(args.batch_size), "--limit", str(args.limit), "--test-limit", str(args.test_limit)]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        npz = str(Path(folder) / "data.npz")
        child(me + ["--child", "npz", npz])
        for method in args.methods.split(","):
            for T in (int(t) for t in args.Ts.split(",")):
                saved = int(child(me + ["--child", "saved", npz, method, str(T)])[2].split()[-1])
                row = {"method": method, "T": T, **process_run(args, npz, method, T, folder), "saved_bytes": saved}
                print(json.dumps(row), flush=True)
                rows.append(row)
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
