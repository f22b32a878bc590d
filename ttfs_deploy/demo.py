"""The end-to-end demo on the embedded digits data: train, compile, run, verify, report.

Every stage is the real one: the torch trainer, the compiler for the ``loihi2`` profile, the
event simulator over the whole test split, Lava (``Loihi2SimCfg(select_tag="fixed_pt")``) on
the first ``lava_samples`` test samples, spike-time verification and the energy report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Optional

from rich.console import Console

from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.compile.pipeline import compile_model
from ttfs_deploy.compile.pipeline import report as compile_report
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.energy.accounting import EnergyReport, account
from ttfs_deploy.energy.report import render_table
from ttfs_deploy.hw.profile import load_profile
from ttfs_deploy.io_utils import current, write_json
from ttfs_deploy.ir.nir_io import float_to_nir, int_to_nir, read_int, write_graph
from ttfs_deploy.model.checkpoint import load_checkpoint
from ttfs_deploy.decision import format_decision_step, mean_decision_step
from ttfs_deploy.model.network import ModelConfig
from ttfs_deploy.tables import print_wide
from ttfs_deploy.train import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate
from ttfs_deploy.train.recipes import RECIPES
from ttfs_deploy.verify.compare import verify_network

#: The demo's model and schedule: the digits recipe (chosen by measured digits test accuracy, see
#: docs/BENCHMARKS.md), the same one ``ttfs-deploy train --data digits`` uses.
DEMO_MODEL = RECIPES["digits"].model_options()
DEMO_TRAIN = dict(RECIPES["digits"].train_options(), seed=0)
#: what the demo writes into its folder (the training log and resume state beside model.pt too)
DEMO_FILES = ("model.pt", "model.pt.last.pt", "model.pt.log.jsonl", "model.float.nir", "model.nir",
              "compile.json", "summary.json")


def run_demo(out: str = "demo-out", lava_samples: int = 20, epochs: Optional[int] = None,
             target: str = "loihi2", energy_profile: str = "loihi",
             console: Optional[Console] = None) -> Dict[str, Any]:
    """Run the whole pipeline into ``out``; returns the summary also written to summary.json."""
    console = console or Console()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    train_data, test_data = load_dataset("digits", "train"), load_dataset("digits", "test")

    console.rule("[bold]1. train (digits, ETTFS recipe)")
    config = ModelConfig(input_shape=train_data.input_shape, n_classes=10, **DEMO_MODEL)
    tcfg = TrainConfig(**dict(DEMO_TRAIN, epochs=epochs or DEMO_TRAIN["epochs"]))
    model_path = str(out_dir / "model.pt")
    meta = {"dataset": "digits", "command": "ttfs-deploy demo"}
    train(config, train_data, test_data, tcfg, model_path, meta=meta)
    model, _ = load_checkpoint(current(model_path))
    float_eval = evaluate(model, test_data)
    console.print(f"float test accuracy {float_eval['accuracy']:.4f}, mean decision step "
                  f"{format_decision_step(float_eval['latency_steps_mean'])}")

    console.rule(f"[bold]2. compile for {target}")
    profile = load_profile(target)
    floatnet, net = compile_model(model, profile)
    net.metadata["dataset"] = "digits"
    write_graph(float_to_nir(floatnet), str(out_dir / "model.float.nir"))
    nir_path = str(out_dir / "model.nir")
    write_graph(int_to_nir(net), nir_path)
    net = read_int(current(nir_path))  # everything below runs what the file says
    comp = compile_report(net).to_dict()
    write_json(str(out_dir / "compile.json"), comp)
    console.print(f"{nir_path}: {len(net.layers)} layers, {comp['cores_used']} cores, "
                  f"total steps {net.total_steps} (T={net.T} + hop delays)")

    console.rule("[bold]3. event simulator (whole test split)")
    engine = EventSim(net)  # compiles the numba kernel, or loads it from the cache (timed apart)
    start = time.perf_counter()
    sim = engine.run(chip_input_times(net, test_data.x))  # also feeds the energy report
    eventsim_seconds = time.perf_counter() - start
    eventsim_accuracy = float((sim.predictions == test_data.y).mean())
    console.print(f"eventsim accuracy {eventsim_accuracy:.4f} on {len(test_data)} samples in {eventsim_seconds:.2f} s "
                  f"(numba kernel compile/cache load apart: {engine.compile_seconds:.2f} s)")

    console.rule(f"[bold]4. Lava fixed_pt + verify ({lava_samples} samples)")
    subset = test_data.head(lava_samples)
    times = chip_input_times(net, subset.x)
    verify = verify_network(net, times, progress=True)
    lava_acc = float((verify.predictions["lava"] == subset.y).mean())
    console.print(f"Lava accuracy {lava_acc:.4f} on {len(subset)} samples, "
                  f"{verify.lava_seconds_per_sample:.3f} s/sample; mismatches {verify.mismatches} "
                  f"of {verify.neurons_compared} neuron comparisons")

    console.rule(f"[bold]5. energy ({energy_profile}) vs ANN (45 nm)")
    energy = account(net, sim, load_profile(energy_profile), load_profile("cmos45"))
    print_energy(console, energy)

    summary = {
        "dataset": "digits", "target": target, "model": model_path, "nir": nir_path,
        "accuracy": {"float": float_eval["accuracy"], "eventsim": eventsim_accuracy, "lava": lava_acc,
                     "lava_samples": len(subset), "eventsim_samples": len(test_data)},
        "latency_steps_mean": mean_decision_step(sim.decision),
        "eventsim_seconds": eventsim_seconds, "kernel_compile_seconds": engine.compile_seconds,
        "verify": verify.to_dict(),
        "energy": energy.to_dict(),
        "compile": comp,
        "seconds": time.perf_counter() - t_start,
    }
    write_json(str(out_dir / "summary.json"), summary)
    console.print(f"wrote {out_dir / 'summary.json'} in {summary['seconds']:.1f} s")
    return summary


def print_energy(console: Console, energy: EnergyReport) -> None:
    """The energy report's tables and summary, uncut when the console is not a terminal."""
    print_wide(console, render_table(energy))
