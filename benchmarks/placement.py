"""Placement on one and on eight Loihi 2 chips: the shipped models and the CIFAR-10 VGG.

Usage: python benchmarks/placement.py [--samples 500] [--json FILE]
       python benchmarks/placement.py --one MODEL_OR_vgg --target NAME [--axons N]   (one case, JSON line)

Every case runs in its own process so that its peak memory (``ru_maxrss``) is its own. For each
(model, target): compile time (fold + quantize + time map + placement), peak memory, cores,
chips, the largest and mean per-core share of each limit, the (neuron, destination core) routes
crossing chips (the placer's cuts, and a plain chip-after-chip fill for comparison; fire-once
neurons send at most that many spikes between chips), and for the shipped models the spike
messages per inference by where they travel (event simulator on the first ``--samples`` test
images). The VGG (``64C3-128C3-AP2-256C3-256C3-AP2-512C3-512C3-AP2-512C3-512C3-AP4-FC10`` on
3x32x32, latency input, random weights) has no data here, so no traffic. ``--axons N`` replaces
the target's input axons per core: a hypothetical profile, used only to time the placer on the
whole VGG while one-neuron fan-ins above 4,096 are refused (fan-in splitting is separate work).
``--cores-per-chip N`` (also hypothetical) spreads a shipped model over several chips so that
its inter-chip spikes can be counted from real spike data.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VGG = "64C3-128C3-AP2-256C3-256C3-AP2-512C3-512C3-AP2-512C3-512C3-AP4-FC10"
MODELS = ["digits", "fashion_mnist", "fashion_mnist_latency"]
TARGETS = ["loihi2", "loihi2-kapoho-point"]


def sequential_fill(net, profile) -> int:
    """Routes crossing chips if the packed cores simply filled chip after chip (the comparison)."""
    from ttfs_deploy.compile.placement import core_routes, pack_cores, tile_layers

    limits = {"output_axons_per_core": profile.limits["input_axons_per_core"], **profile.limits}
    tilings = tile_layers(net, limits, profile.name)
    cores = pack_cores(tilings, limits)
    per_chip = int(limits["cores_per_chip"])
    if len(cores) <= per_chip:
        return 0
    routes = core_routes(net, tilings, len(cores))
    chip = np.arange(len(cores)) // per_chip
    return int(routes[chip[:, None] != chip[None, :]].sum())


def one(model: str, target: str, axons: int, samples: int, cores_per_chip: int = 0) -> dict:
    """Compile one case in this process; returns its row."""
    import torch

    from ttfs_deploy.compile.pipeline import compile_model, report
    from ttfs_deploy.errors import TTFSError
    from ttfs_deploy.hw.profile import load_profile
    from ttfs_deploy.model.checkpoint import load_checkpoint
    from ttfs_deploy.model.network import ModelConfig, TTFSNet

    profile = load_profile(target)
    if axons:
        profile.limits["input_axons_per_core"] = axons
    if cores_per_chip:
        profile.limits["cores_per_chip"] = cores_per_chip
    if model == "vgg":
        torch.manual_seed(0)
        net_model, dataset = TTFSNet(ModelConfig(VGG, (3, 32, 32), 10, T=16, encoder="latency")), None
    else:
        net_model, meta = load_checkpoint(str(ROOT / "examples" / "models" / f"{model}.pt"))
        dataset = meta.get("dataset")
    row = {"model": model, "target": target, "input_axons_per_core": int(profile.limits["input_axons_per_core"]),
           "cores_per_chip": int(profile.limits["cores_per_chip"])}
    start = time.perf_counter()
    try:
        _, net = compile_model(net_model, profile)
    except TTFSError as err:
        row.update(error=str(err), seconds=time.perf_counter() - start)
    else:
        row["seconds"] = time.perf_counter() - start
        rep = report(net)
        row.update(cores=rep.cores_used, chips=rep.chips_used, chips_available=rep.chips_available,
                   interchip_routes=rep.interchip_routes, interchip_routes_sequential_fill=sequential_fill(net, profile),
                   weights=int(sum(layer.weight.size for layer in net.layers)),
                   tiles={l.name: "x".join(map(str, l.tile_shape)) + f" ({l.cores})" for l in rep.layers})
        for key in rep.cores[0]["shares"]:
            shares = [c["shares"][key] for c in rep.cores]
            row[f"{key}_max"], row[f"{key}_mean"] = max(shares), float(np.mean(shares))
        if dataset and samples:
            from ttfs_deploy.backends.eventsim.simulator import EventSim
            from ttfs_deploy.backends.host import chip_input_times
            from ttfs_deploy.data.datasets import load_dataset
            from ttfs_deploy.energy.traffic import count_traffic

            data = load_dataset(dataset, "test").head(samples)
            result = EventSim(net).run(chip_input_times(net, data.x))
            counts = count_traffic(net, result.spike_times, profile.limits)
            row["traffic_per_inference"] = {k: float(sum(c.get(k, 0.0) for c in counts))
                                            for k in ("within_core", "between_cores", "hops_ew", "hops_ns",
                                                      "between_chips", "to_host")}
            row["samples"] = len(data)
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one")
    parser.add_argument("--target", default="loihi2")
    parser.add_argument("--axons", type=int, default=0)
    parser.add_argument("--cores-per-chip", type=int, default=0)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.target, args.axons, args.samples, args.cores_per_chip)))
        return
    cases = [(m, t, 0, 0) for m in [*MODELS, "vgg"] for t in TARGETS] + [
        ("vgg", "loihi2-kapoho-point", 18432, 0), ("fashion_mnist_latency", "loihi2-kapoho-point", 0, 4)]
    rows = []
    for model, target, axons, per_chip in cases:
        out = subprocess.run([sys.executable, __file__, "--one", model, "--target", target, "--axons", str(axons),
                              "--cores-per-chip", str(per_chip), "--samples", str(args.samples)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
