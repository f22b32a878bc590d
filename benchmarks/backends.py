"""Every registered backend (event simulator, torch integer mode, Lava) on one model.

Usage:
    python benchmarks/backends.py MODEL.nir [--data D] [--samples N] [--lava-samples M] [--json FILE]

All run the same test samples (Lava on the first M); spike times must be identical
neuron by neuron. Prints samples/s, synaptic ops/s and the ratios; threads as the machine gives
(the event simulator runs one sample per numba thread; its first call, which compiles or loads
numba's cache, is timed separately).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numba
import numpy as np
import torch

from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.backends.registry import BACKENDS, REFERENCE, run_network
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.ir.nir_io import read_int
from ttfs_deploy.ir.synops import synops_per_sample


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default=None)
    parser.add_argument("--samples", type=int, default=None, help="eventsim/torch samples (default all)")
    parser.add_argument("--lava-samples", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    net = read_int(args.model)
    data = load_dataset(args.data or net.metadata["dataset"], "test").head(args.samples)
    times = chip_input_times(net, data.x)
    n = len(times)
    _, jit_s = timed(run_network, net, times[:2], REFERENCE)  # numba compiles (or loads its cache) here
    limits = {"lava": min(args.lava_samples, n)}  # Lava runs about a second per sample
    results, seconds = {}, {}
    for name in BACKENDS:
        results[name], seconds[name] = timed(run_network, net, times[:limits.get(name, n)], name)
    ref = results[REFERENCE]
    synops = float(synops_per_sample(net, times, ref.spike_times).sum())
    row = {
        "model": args.model, "dataset": data.name, "samples": n, "lava_samples": limits["lava"],
        "machine": (f"{platform.machine()}, {os.cpu_count()} cores, {numba.get_num_threads()} numba threads, "
                    f"{torch.get_num_threads()} torch threads, Python {platform.python_version()}"),
        "eventsim_first_call_seconds": jit_s, "eventsim_synops_per_s": synops / seconds[REFERENCE],
        "accuracy_eventsim": float((ref.predictions == data.y).mean()),
    }
    for name, result in results.items():
        m = len(result)
        row[f"{name}_seconds"] = seconds[name]
        row[f"{name}_samples_per_s"] = m / seconds[name]
        row[f"{name}_compile_seconds"] = result.compile_seconds
        row[f"speedup_vs_{name}"] = (n / seconds[REFERENCE]) / (m / seconds[name])
        row[f"identical_spike_times_{name}"] = all(np.array_equal(a[:m], b)
                                                   for a, b in zip(ref.spike_times, result.spike_times))
    print(json.dumps(row, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(row, fh, indent=2)


if __name__ == "__main__":
    main()
