"""Event-simulator seconds for one compiled network, best of several runs in one process.

Usage: python benchmarks/eventsim_time.py MODEL.nir [--data D] [--samples N] [--repeats R]
Times ``EventSim.run`` only (packing and numba compilation excluded: one warm-up run first);
prints CPU seconds (all threads) and wall seconds per repeat. Run it with ``PYTHONPATH`` set to
two source trees in turn to compare two versions of the simulator on the same machine.
"""

from __future__ import annotations

import argparse
import time

from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.ir.nir_io import read_int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    net = read_int(args.model)
    times = chip_input_times(net, load_dataset(args.data, "test").head(args.samples).x)
    sim = EventSim(net)
    sim.run(times[:10])
    runs = []
    for _ in range(args.repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        sim.run(times)
        runs.append((time.process_time() - cpu, time.perf_counter() - wall))
    print("cpu s", [round(c, 2) for c, _ in runs], "wall s", [round(w, 2) for _, w in runs])


if __name__ == "__main__":
    main()
