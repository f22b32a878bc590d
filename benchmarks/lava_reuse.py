"""Lava seconds per sample, rebuilding the network for every sample vs building it once.

Usage: python benchmarks/lava_reuse.py MODEL.nir [--data D] [--samples N]
Both modes run the same N test samples and must give identical spike times.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.backends.lava import LavaNetwork
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.ir.nir_io import read_int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default=None)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    net = read_int(args.model)
    data = load_dataset(args.data or net.metadata["dataset"], "test").head(args.samples)
    times = chip_input_times(net, data.x)

    start = time.perf_counter()
    per_sample = [LavaNetwork(net).run(times[i:i + 1]) for i in range(len(times))]
    rebuild = (time.perf_counter() - start) / len(times)
    start = time.perf_counter()
    reused = LavaNetwork(net).run(times)
    reuse = (time.perf_counter() - start) / len(times)
    same = all(np.array_equal(np.concatenate([r.spike_times[l] for r in per_sample]), reused.spike_times[l])
               for l in range(len(net.layers)))
    print(json.dumps({"model": args.model, "samples": len(times), "total_steps": net.total_steps,
                      "rebuild_seconds_per_sample": rebuild, "reuse_seconds_per_sample": reuse,
                      "reuse_loop_seconds_per_sample": reused.seconds_per_sample,
                      "compile_seconds": reused.compile_seconds, "speedup": rebuild / reuse,
                      "identical_spike_times": same}, indent=2))


if __name__ == "__main__":
    main()
