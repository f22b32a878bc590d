"""Digits: test accuracy of the demo recipe over seeds, float and compiled (eventsim, loihi2).

Usage: python benchmarks/digits_seeds.py [--seeds 0 1 2 3 4] [--encoder onoff|latency] [--no-qat]
Each seed trains exactly what `ttfs-deploy demo` trains (ttfs_deploy.demo.DEMO_MODEL / DEMO_TRAIN),
with the seed (and optionally the encoder / quantization-aware epochs) changed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from ttfs_deploy.backends.eventsim import simulate
from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.demo import DEMO_MODEL, DEMO_TRAIN
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--encoder", default=DEMO_MODEL["encoder"])
    parser.add_argument("--gain", type=float, default=None, help="override init gain")
    parser.add_argument("--no-qat", action="store_true")
    args = parser.parse_args()
    train_data, test_data = load_dataset("digits", "train"), load_dataset("digits", "test")
    rows = []
    for seed in args.seeds:
        model_cfg = dict(DEMO_MODEL, encoder=args.encoder)
        if args.gain is not None:
            model_cfg["init_gain"] = args.gain
        config = ModelConfig(input_shape=train_data.input_shape, n_classes=10, **model_cfg)
        cfg = TrainConfig(**dict(DEMO_TRAIN, seed=seed, progress=False, qat_epochs=0 if args.no_qat else DEMO_TRAIN["qat_epochs"]))
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            train(config, train_data, test_data, cfg, f"{tmp}/m.pt")
            seconds = time.perf_counter() - start
            model, _ = load_checkpoint(f"{tmp}/m.pt")
        _, net = compile_model(model, load_profile("loihi2"))
        result = simulate(net, chip_input_times(net, test_data.x))
        row = {"seed": seed, "encoder": args.encoder, "qat": not args.no_qat,
               "float": evaluate(model, test_data)["accuracy"],
               "eventsim": float((result.predictions == test_data.y).mean()), "train_seconds": seconds}
        rows.append(row)
        print(json.dumps(row), flush=True)
    ev = np.array([r["eventsim"] for r in rows])
    print(json.dumps({"eventsim_mean": float(ev.mean()), "eventsim_min": float(ev.min()), "eventsim_max": float(ev.max())}))


if __name__ == "__main__":
    main()
