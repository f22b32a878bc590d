"""``ttfs-deploy``: the command line. Thin: parse, call the library, print.

Every error a user can cause ends as one line on stderr (``error: <problem>; <fix>``) and a
non-zero exit code (1; 2 for usage errors, as click does). Each command checks its outputs before
it works and keeps all of them or none (:func:`ttfs_deploy.io_utils.command_outputs`).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Optional

import click
from rich.console import Console
from rich.table import Table

from ttfs_deploy.backends.registry import BACKENDS
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import command_outputs
from ttfs_deploy.semantics import T_MAX
from ttfs_deploy.signals import Interrupted
from ttfs_deploy.tables import print_wide, to_rich

BACKEND_NAMES = list(BACKENDS)

console = Console()
DATA_HELP = "digits | fashion-mnist | mnist | FILE.npz (default: the data set the model was trained on)"


class Group(click.Group):
    """Turns every error into a one-line message: TTFSError and OSError exit 1, a signal 128 + its
    number; anything else is a bug, reported in one line (``TTFS_DEBUG=1`` shows the traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except TTFSError as err:
            _fail(str(err), 1)
        except Interrupted as err:
            _fail(f"interrupted by {err.name}", 128 + err.signum)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except OSError as err:
            where = f" ({err.filename})" if err.filename else ""
            _fail(f"{err.strerror or err}{where}; check the path, free space and permissions", 1)
        except Exception as err:  # noqa: BLE001 - the promise is one line, never a traceback
            if os.environ.get("TTFS_DEBUG"):
                raise
            first = (str(err).strip().splitlines() or [""])[0][:160]
            _fail(f"unexpected {type(err).__name__}: {first}; this is a bug: please report it with the "
                  "command (TTFS_DEBUG=1 prints the traceback)", 1)


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class FiniteFloat(click.FloatRange):
    """A ``click.FloatRange`` that also refuses NaN and infinities (usage error, exit 2)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


def _device(value: Optional[str]) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` that this machine has (default: cuda when available)."""
    import torch

    if value is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if value == "cpu":
        return value
    if value == "cuda" or (value.startswith("cuda:") and value[5:].isdigit()):
        index = int(value[5:] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise TTFSError(f"device {value} is not available on this machine", "use --device cpu")
        return value
    raise TTFSError(f"unknown device {value!r}", "use cpu, cuda or cuda:N")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ttfs-deploy")
def cli() -> None:
    """Time-to-first-spike SNNs from training to Loihi-class hardware."""


def _write_json(path: Optional[str], data: dict) -> None:
    if path:
        from ttfs_deploy.io_utils import write_json

        write_json(path, data)
        console.print(f"wrote {path}")


def _dataset(name: Optional[str], net, data_dir: Optional[str], samples: Optional[int], split: str = "test"):
    from ttfs_deploy.data.datasets import load_dataset
    from ttfs_deploy.io_utils import check_input

    name = name or net.metadata.get("dataset")
    if not name:
        raise TTFSError("the model does not record its data set", "pass --data")
    check_input(str(name))
    return load_dataset(str(name), split, data_dir).head(samples)


@cli.command()
@click.option("--out", default="demo-out", show_default=True, help="output folder")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="also write the summary here")
@click.option("--lava-samples", default=20, show_default=True, type=click.IntRange(1), help="test samples run on Lava")
@click.option("--epochs", type=click.IntRange(1), help="override the demo's training epochs")
def demo(out: str, json_path: Optional[str], lava_samples: int, epochs: Optional[int]) -> None:
    """Train, compile, run (eventsim + Lava), verify and report on the digits data set."""
    from ttfs_deploy.demo import DEMO_FILES, run_demo

    if os.path.exists(out) and not os.path.isdir(out):
        raise TTFSError(f"--out {out} is a file, not a folder", "give a folder name")
    files = {f"--out {name}": os.path.join(out, name) for name in DEMO_FILES}
    with command_outputs({**files, "--json": json_path}):
        summary = run_demo(out, lava_samples=lava_samples, epochs=epochs, console=console)
        _write_json(json_path, summary)
    if summary["verify"]["mismatches"]:
        raise TTFSError(f"{summary['verify']['mismatches']} spike-time mismatches between backends",
                        "report this as a bug with demo-out/summary.json")


@cli.command(name="train")
@click.option("--data", "data_name", required=True,
              help="digits | fashion-mnist | mnist | FILE.npz; options not given follow its recipe "
                   "(ttfs_deploy/train/recipes.py: the shipped model's)")
@click.option("--data-dir", type=click.Path(file_okay=False), help="folder with IDX files")
@click.option("--arch", help="architecture spec, e.g. 32C3-AP2-64C3-AP2-FC256-FC10 (default per data set)")
@click.option("--T", "T", type=click.IntRange(2, T_MAX), help="time steps (default per data set)")
@click.option("--method", type=click.Choice(["bptt", "ottt"]), default="bptt", show_default=True,
              help="bptt: backprop through time; ottt: online training through time, memory constant in T")
@click.option("--online-update", is_flag=True, help="ottt: optimizer step at every time step (OTTT_O)")
@click.option("--ottt-loss", type=click.Choice(["running", "membrane"]), default="running", show_default=True,
              help="ottt per-step loss: CE on the running decoder output, or on output membranes")
@click.option("--encoder", type=click.Choice(["latency", "onoff", "direct"]),
              help="input code: latency|onoff spikes, or direct analog current (first layer runs on the host); "
                   "default per data set")
@click.option("--epochs", type=click.IntRange(1), help="length of the cosine schedule (default per data set)")
@click.option("--stop-after", type=click.IntRange(1),
              help="end after this epoch of the schedule, to continue later with --resume")
@click.option("--batch-size", type=click.IntRange(1), help="default per data set")
@click.option("--lr", type=FiniteFloat(0, min_open=True), help="Adam learning rate (default per data set)")
@click.option("--limit", type=click.IntRange(1), help="use only the first N training samples")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True)
@click.option("--init", type=click.Choice(["ettfs", "kaiming"]), default="ettfs", show_default=True)
@click.option("--norm", type=click.Choice(["ws", "none"]), default="ws", show_default=True,
              help="weight standardization + learnable affine, or none")
@click.option("--decoder", type=click.Choice(["twd", "count", "first"]), default="twd", show_default=True)
@click.option("--init-gain", type=FiniteFloat(0, min_open=True), help="Var(W) = gain * T / fan_in (default per data set)")
@click.option("--dropout", type=FiniteFloat(0, 1, max_open=True), help="hidden spike dropout (default per data set)")
@click.option("--jitter", type=click.IntRange(0, T_MAX), help="input spike-time jitter, steps (default per data set)")
@click.option("--augment-shift", type=click.IntRange(0),
              help="translate each training image by up to N pixels per epoch, zero fill (default per data set)")
@click.option("--average-last", type=click.IntRange(0),
              help="write the mean of the weights at the ends of the last N epochs, not the last epoch's "
                   "(default per data set)")
@click.option("--augment-flip/--no-augment-flip", default=None,
              help="mirror a random half of the training images left to right each epoch (default per data set)")
@click.option("--weight-decay", type=FiniteFloat(0), default=0.0, show_default=True, help="Adam L2 penalty")
@click.option("--qat-epochs", type=click.IntRange(0),
              help="last N epochs train with weights rounded to the 8-bit grid the compiler uses (default per data set)")
@click.option("--resume", is_flag=True, help="continue from MODEL.pt.last.pt")
@click.option("--device", default=None, help="cpu | cuda | cuda:N (default: cuda when available)")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="MODEL.pt to write")
def train_cmd(data_name, data_dir, arch, T, method, online_update, ottt_loss, encoder, epochs, stop_after, batch_size,
              lr, limit, seed, init, norm, decoder, init_gain, dropout, jitter, augment_shift, augment_flip, weight_decay,
              qat_epochs, average_last, resume, device, output) -> None:
    """Train a TTFS network with BPTT (the ETTFS recipe) or OTTT (online, memory constant in T); options not
    given follow the data set's recipe (``ttfs_deploy/train/recipes.py``)."""
    from ttfs_deploy.data.datasets import class_count, load_dataset
    from ttfs_deploy.decision import format_decision_step
    from ttfs_deploy.model.network import ModelConfig
    from ttfs_deploy.train import TrainConfig, train
    from ttfs_deploy.train.recipes import recipe_for

    device = _device(device)
    state_path = output + ".last.pt"
    inputs = [data_name, state_path if resume else None]
    side_files = {"the resume state": None if resume else state_path, "the training log": output + ".log.jsonl"}
    with command_outputs({"-o": output}, inputs, progress=side_files):
        train_data = load_dataset(data_name, "train", data_dir)
        test_data = load_dataset(data_name, "test", data_dir)
        n_classes = class_count(train_data, test_data)
        train_data = train_data.head(limit)
        recipe = recipe_for(data_name, arch=arch, T=T, encoder=encoder, init_gain=init_gain, dropout=dropout,
                            jitter=jitter, augment_shift=augment_shift, augment_flip=augment_flip, epochs=epochs,
                            qat_epochs=qat_epochs, average_last=average_last, batch_size=batch_size, lr=lr)
        if recipe.augment_shift >= min(train_data.input_shape[1:]):
            raise TTFSError(f"--augment-shift {recipe.augment_shift} is not smaller than the "
                            f"{train_data.input_shape[1:]} images", "use a shift of a few pixels")
        config = ModelConfig(input_shape=train_data.input_shape, n_classes=n_classes, init=init, norm=norm,
                             decoder=decoder, **recipe.model_options())
        capped = {"qat_epochs": min(recipe.qat_epochs, recipe.epochs),  # a recipe's tail fits a shorter --epochs
                  "average_last": min(recipe.average_last, recipe.epochs) if average_last is None else average_last}
        cfg = TrainConfig(**dict(recipe.train_options(), **capped), seed=seed,
                          device=device, weight_decay=weight_decay, stop_after=stop_after,
                          method=method, online_update=online_update, ottt_loss=ottt_loss)
        meta = {"dataset": data_name, "command": "ttfs-deploy " + " ".join(sys.argv[1:])}
        record = train(config, train_data, test_data, cfg, output, meta=meta, resume=resume,
                       on_epoch=lambda r: console.print(
                           f"epoch {r['epoch']}: loss {r['loss']:.4f} train {r['train_accuracy']:.4f} "
                           f"test {r['test_accuracy']:.4f} "
                           + (f"(mean of the last {r['average_epochs']} epochs' weights: {r['average_test_accuracy']:.4f}) "
                              if "average_epochs" in r else "")
                           + f"decision step {format_decision_step(r['latency_steps_mean'])} "
                           f"({r['samples_per_second']:.0f} samples/s)"))
    shipped = record.get("average_test_accuracy", record.get("test_accuracy", float("nan")))
    console.print(f"wrote {output} (test accuracy {shipped:.4f})")


@cli.command(name="import")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", "data_name", required=True, help="the data set the ANN was trained on (digits | fashion-mnist | "
              "mnist | FILE.npz): calibration uses its training split, accuracies its test split")
@click.option("--data-dir", type=click.Path(file_okay=False), help="folder with IDX files")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="MODEL.pt to write")
@click.option("--T", "T", type=click.IntRange(2, T_MAX), default=16, show_default=True, help="time steps")
@click.option("--finetune", type=click.IntRange(0), default=0, show_default=True,
              help="then fine-tune the TTFS network for N epochs (BPTT)")
@click.option("--lr", type=FiniteFloat(0, min_open=True),
              help="fine-tuning learning rate (default: 3e-3 on digits, else 1e-3)")
@click.option("--batch-size", type=click.IntRange(1), help="fine-tuning batch size (default: 16 on digits, else 64)")
@click.option("--qat-epochs", type=click.IntRange(0), default=0, show_default=True,
              help="last N fine-tuning epochs train on the 8-bit weight grid the compiler uses")
@click.option("--limit", type=click.IntRange(1), help="fine-tune on the first N training samples only")
@click.option("--calibration-samples", type=click.IntRange(1), default=512, show_default=True,
              help="training samples that calibrate the firing levels")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True)
@click.option("--device", default=None, help="cpu | cuda | cuda:N (default: cuda when available)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write the import report")
def import_cmd(model, data_name, data_dir, output, T, finetune, lr, batch_size, qat_epochs, limit, calibration_samples,
               seed, device, json_path) -> None:
    """Convert a ReLU network exported to ONNX (MODEL.onnx) into a TTFS checkpoint."""
    from ttfs_deploy.decision import format_decision_step
    from ttfs_deploy.importers import finetune_defaults
    from ttfs_deploy.importers.onnx import import_onnx
    from ttfs_deploy.train import TrainConfig

    default_lr, default_batch_size = finetune_defaults(data_name)
    cfg = TrainConfig(lr=default_lr if lr is None else lr,
                      batch_size=default_batch_size if batch_size is None else batch_size, seed=seed, jitter=0, qat_epochs=min(qat_epochs, finetune), device=_device(device))
    side_files = {"the fine-tuning state": output + ".last.pt", "the fine-tuning log": output + ".log.jsonl"}
    with command_outputs({"-o": output, "--json": json_path}, [model, data_name], progress=side_files):
        result = import_onnx(model, data_name, output, T=T, finetune=finetune, data_dir=data_dir,
                             calibration_samples=calibration_samples, finetune_limit=limit, train_config=cfg,
                             command="ttfs-deploy " + " ".join(sys.argv[1:]), log=console.print,
                             on_epoch=lambda r: console.print(
                                 f"fine-tune epoch {r['epoch']}: loss {r['loss']:.4f} train {r['train_accuracy']:.4f} "
                                 f"test {r['test_accuracy']:.4f} decision step "
                                 f"{format_decision_step(r['latency_steps_mean'])}"))
        after = "" if result.finetuned_accuracy is None else \
            f", fine-tuned ({finetune} epochs) {result.finetuned_accuracy:.4f}"
        console.print(f"wrote {output} ({result.arch}, T={T}, direct input): test accuracy ANN "
                      f"{result.ann_accuracy:.4f}, converted {result.converted_accuracy:.4f}{after}")
        _write_json(json_path, result.to_dict())


@cli.command(name="compile")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--target", required=True, help="loihi | loihi2 | loihi2-kapoho-point | PROFILE.toml")
@click.option("--chips", type=click.IntRange(1), help="override the target's chip count")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="MODEL.nir (default: next to MODEL)")
@click.option("--float-nir", type=click.Path(dir_okay=False), help="also write the folded float graph")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write the compile report")
@click.option("--data", "data_name", help="measure float vs integer accuracy on this data set's test split")
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--samples", type=click.IntRange(1), help="test samples for the accuracy check")
def compile_cmd(model, target, chips, output, float_nir, json_path, data_name, data_dir, samples) -> None:
    """Fold, quantize, map time steps and place MODEL.pt for a target; write a NIR file."""
    from pathlib import Path

    from ttfs_deploy.compile.pipeline import compile_model, report
    from ttfs_deploy.hw.profile import load_profile
    from ttfs_deploy.ir.nir_io import float_to_nir, int_to_nir, write_graph
    from ttfs_deploy.model.checkpoint import load_checkpoint

    output = output if output is not None else str(Path(model).with_suffix(".nir"))
    with command_outputs({"-o": output, "--float-nir": float_nir, "--json": json_path}, [model, target, data_name]):
        profile = load_profile(target)
        if chips:
            profile.limits["chips"] = chips
        net_model, meta = load_checkpoint(model)
        floatnet, net = compile_model(net_model, profile)
        if meta.get("dataset"):
            net.metadata["dataset"] = str(meta["dataset"])
        accuracy = {}
        if data_name:
            from ttfs_deploy.backends.run import run_backend
            from ttfs_deploy.train.evaluate import evaluate

            data = _dataset(data_name, net, data_dir, samples)
            integer = run_backend(net, "eventsim", data)["accuracy"]  # checks the data fits the network first
            accuracy = {"float": evaluate(net_model, data)["accuracy"], "integer": integer, "samples": len(data)}
        rep = report(net, accuracy)
        write_graph(int_to_nir(net), output)
        if float_nir:
            write_graph(float_to_nir(floatnet), float_nir)
        table = rep.table(f"{model} -> {output}: {profile.name}, {rep.cores_used} cores on {rep.chips_used} chip(s), "
                          f"T={rep.T}, {rep.total_steps} steps on target")
        print_wide(console, to_rich(table))
        if net.host is not None:
            console.print(f"{net.host.name} ({net.host.kind}, {net.host.n_neurons:,} neurons) runs on the host: direct "
                          "input; its spike times are the chip's input")
        console.print(table.note)
        if accuracy:
            console.print(f"accuracy on {accuracy['samples']} test samples: float {accuracy['float']:.4f}, "
                          f"integer (eventsim) {accuracy['integer']:.4f}")
        _write_json(json_path, rep.to_dict())


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default="eventsim", show_default=True)
@click.option("--data", "data_name", help=DATA_HELP)
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--samples", type=click.IntRange(1), help="first N test samples (default: all)")
@click.option("--early-exit", is_flag=True, help="stop each sample at its first output spike (eventsim)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False))
def run(model, backend, data_name, data_dir, samples, early_exit, json_path) -> None:
    """Run a compiled MODEL.nir on a test split with one backend."""
    from ttfs_deploy.backends.run import run_backend
    from ttfs_deploy.ir.nir_io import read_int
    from ttfs_deploy.decision import format_decision_step

    with command_outputs({"--json": json_path}, [model, data_name]):
        net = read_int(model)
        data = _dataset(data_name, net, data_dir, samples)
        result = run_backend(net, backend, data, progress=True, early_exit=early_exit)
        steps = format_decision_step(result["latency_steps_mean"])
        console.print(f"{backend}: accuracy {result['accuracy']:.4f} on {result['samples']} {result['dataset']} samples, "
                      f"mean decision step {steps}, {result['synops_per_sample']:.0f} synops/sample, "
                      f"{result['seconds']:.2f} s (one-off build and numba kernel compile/cache load apart: "
                      f"{result['compile_seconds']:.2f} s)")
        _write_json(json_path, result)


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", "data_name", help=DATA_HELP)
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--samples", type=click.IntRange(1), default=20, show_default=True)
@click.option("--no-lava", is_flag=True, help="compare torch integer mode with eventsim only")
@click.option("--json", "json_path", type=click.Path(dir_okay=False))
def verify(model, data_name, data_dir, samples, no_lava, json_path) -> None:
    """Check that every neuron's first-spike time agrees: torch (integer) vs eventsim vs Lava."""
    from ttfs_deploy.backends.host import chip_input_times
    from ttfs_deploy.backends.run import check_compatible
    from ttfs_deploy.ir.nir_io import read_int
    from ttfs_deploy.verify.compare import verify_network

    with command_outputs({"--json": json_path}, [model, data_name]):
        net = read_int(model)
        data = _dataset(data_name, net, data_dir, samples)
        check_compatible(net, data)
        times = chip_input_times(net, data.x)
        rep = verify_network(net, times, backends=("torch",) if no_lava else None, progress=True)
        table = Table(title=f"first-spike agreement on {rep.samples} samples (reference: eventsim)")
        for col in ("layer", "neurons", *[f"mismatches {b}" for b in rep.backends[1:]]):
            table.add_column(col, justify="right", overflow="fold")
        for layer in rep.layers:
            table.add_row(layer["name"], str(layer["neurons"]), *[str(layer[f"mismatches_{b}"]) for b in rep.backends[1:]])
        print_wide(console, table)
        console.print(f"{rep.neurons_compared} neuron comparisons, {rep.mismatches} mismatches"
                      + (f", Lava {rep.lava_seconds_per_sample:.3f} s/sample" if rep.lava_seconds_per_sample else ""))
        _write_json(json_path, rep.to_dict())
        if rep.mismatches or not rep.predictions_agree:
            raise TTFSError(f"{rep.mismatches} first-spike mismatches", "see the table above; this is a bug to report")


@cli.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--profile", default="loihi", show_default=True, help="loihi | loihi-sanafe | loihi2 | PROFILE.toml")
@click.option("--data", "data_name", help=DATA_HELP)
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--samples", type=click.IntRange(1), help="first N test samples (default: all)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False))
@click.option("--md", "md_path", type=click.Path(dir_okay=False), help="write a Markdown report")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="write a self-contained HTML report")
def energy(model, profile, data_name, data_dir, samples, json_path, md_path, html_path) -> None:
    """Synaptic ops, spikes, neuron updates, energy and latency per layer, vs the same ANN."""
    from ttfs_deploy.backends.host import chip_input_times
    from ttfs_deploy.backends.run import check_compatible
    from ttfs_deploy.energy import report as energy_report_mod
    from ttfs_deploy.hw.profile import load_profile
    from ttfs_deploy.ir.nir_io import read_int

    with command_outputs({"--json": json_path, "--md": md_path, "--html": html_path}, [model, data_name, profile]):
        hardware = load_profile(profile)
        net = read_int(model)
        data = _dataset(data_name, net, data_dir, samples)
        check_compatible(net, data)
        times = chip_input_times(net, data.x)
        rep, sim, sim_early = energy_report_mod.energy_report(net, times, data.y, hardware,
                                                              host_input=data.x if net.host is not None else None)
        rep.command = "ttfs-deploy " + " ".join(sys.argv[1:])
        print_wide(console, energy_report_mod.render_table(rep))
        if json_path:
            _write_json(json_path, energy_report_mod.to_json(rep))
        if md_path:
            from ttfs_deploy.io_utils import write_text

            write_text(md_path, energy_report_mod.to_markdown(rep))
            console.print(f"wrote {md_path}")
        if html_path:
            from ttfs_deploy.energy.html import write_html

            write_html(rep, sim, sim_early, net, html_path)
            console.print(f"wrote {html_path}")


@cli.command()
def profiles() -> None:
    """List the shipped hardware profiles."""
    from ttfs_deploy.hw.profile import list_profiles, load_profile

    table = Table(title="hardware profiles (hardware_profiles/*.toml)")
    for col in ("name", "kind", "cores/chip", "neurons/core", "energy source"):
        table.add_column(col, overflow="fold")
    for name in list_profiles():
        p = load_profile(name)
        table.add_row(p.name, p.kind, str(p.limits.get("cores_per_chip", "-")), str(p.limits.get("neurons_per_core", "-")),
                      str(p.energy.get("source", "-")))
    print_wide(console, table)


def main() -> None:
    """The ``ttfs-deploy`` console script (see :mod:`ttfs_deploy.__main__`)."""
    from ttfs_deploy.__main__ import main as entry

    entry()


if __name__ == "__main__":
    main()
