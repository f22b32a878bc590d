"""Event simulator vs Lava vs the dense time-stepped torch integer baseline, on one model.

Usage:
    python benchmarks/backends.py MODEL.nir [--data D] [--samples N] [--lava-samples M] [--json FILE]

All three run the same test samples (Lava on the first M); spike times must be identical
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

from ttfs_deploy.backends.eventsim import EventSim
from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.backends.torchsim import run_int
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.ir.nir_io import read_int


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
    sim = EventSim(net)
    _, jit_s = timed(sim.run, times[:2])  # numba compiles (or loads its cache) on the first call
    ev, ev_s = timed(sim.run, times)
    synops = float(sum(c["syn_ops"].sum() for c in ev.counts))
    (dense_times, _, _), dense_s = timed(run_int, net, times)
    dense_equal = all(np.array_equal(a, b) for a, b in zip(ev.spike_times, dense_times))

    from ttfs_deploy.backends.lava import LavaNetwork

    m = min(args.lava_samples, len(times))
    lava_net = LavaNetwork(net)
    lava, lava_s = timed(lava_net.run, times[:m])
    lava_equal = all(np.array_equal(a[:m], b) for a, b in zip(ev.spike_times, lava.spike_times))

    n = len(times)
    row = {
        "model": args.model, "dataset": data.name, "samples": n, "lava_samples": m,
        "machine": (f"{platform.machine()}, {os.cpu_count()} cores, {numba.get_num_threads()} numba threads, "
                    f"{torch.get_num_threads()} torch threads, Python {platform.python_version()}"),
        "eventsim_first_call_seconds": jit_s,
        "eventsim_seconds": ev_s, "eventsim_samples_per_s": n / ev_s, "eventsim_synops_per_s": synops / ev_s,
        "dense_torch_seconds": dense_s, "dense_torch_samples_per_s": n / dense_s,
        "lava_seconds_per_sample": lava.seconds_per_sample, "lava_samples_per_s": 1 / lava.seconds_per_sample,
        "lava_compile_seconds": lava.compile_seconds,
        "speedup_vs_lava": (n / ev_s) * lava.seconds_per_sample, "speedup_vs_dense": dense_s / ev_s,
        "identical_spike_times_dense": dense_equal, "identical_spike_times_lava": lava_equal,
        "accuracy_eventsim": float((ev.predictions == data.y).mean()),
    }
    print(json.dumps(row, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(row, fh, indent=2)


if __name__ == "__main__":
    main()
