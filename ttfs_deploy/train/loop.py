"""The epoch loop every training method shares: data order, augmentation, QAT epochs, evaluation,
logging, checkpoints, resume and data parallelism. The method supplies only its batch step
(:mod:`ttfs_deploy.train.bptt`, :mod:`ttfs_deploy.train.ottt`).

Data-parallel training: launched under ``torchrun --nproc_per_node N`` (``WORLD_SIZE`` > 1),
each process takes every N-th sample of the shuffled epoch, gradients are averaged across ranks
(by ``DistributedDataParallel`` for BPTT, by the step for OTTT; gloo on CPU, nccl on CUDA), and
rank 0 alone evaluates, logs and writes files. The global batch stays ``batch_size``.

Every epoch writes ``<out>.last.pt`` (model + optimizer + schedule + RNG state) and one JSON line
to ``<out>.log.jsonl``; ``resume=True`` continues from ``<out>.last.pt``. Runs are deterministic
for a fixed seed on the same machine and thread count.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.data.encoders import SPIKE_CODES, encode
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import atomic_path
from ttfs_deploy.model.checkpoint import STATE_FORMAT, load_state, save_checkpoint
from ttfs_deploy.model.network import ModelConfig, TTFSNet
from ttfs_deploy.train.augment import jitter_times, random_flip, random_shift
from ttfs_deploy.train.averaging import WeightAverage
from ttfs_deploy.train.bptt import BPTT
from ttfs_deploy.train.config import OTTT_LOSSES, RESUMABLE_CHANGES, TrainConfig, TrainMethod
from ttfs_deploy.train.evaluate import evaluate
from ttfs_deploy.train.ottt import OTTT

TRAIN_METHODS: Dict[str, TrainMethod] = {"bptt": BPTT, "ottt": OTTT}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def method_name(cfg: TrainConfig) -> str:
    """``bptt``, ``ottt_a`` or ``ottt_o`` (the paper's names)."""
    return cfg.method if cfg.method != "ottt" else ("ottt_o" if cfg.online_update else "ottt_a")


def check_config(cfg: TrainConfig) -> TrainMethod:
    """The method ``cfg`` asks for; one-line errors for combinations that do not exist."""
    if cfg.method not in TRAIN_METHODS:
        raise TTFSError(f"unknown training method {cfg.method!r}", f"use one of {sorted(TRAIN_METHODS)}")
    if cfg.method != "ottt" and cfg.online_update:
        raise TTFSError("--online-update is an OTTT option (an optimizer step per time step)",
                        "add --method ottt, or drop --online-update")
    if cfg.ottt_loss not in OTTT_LOSSES:
        raise TTFSError(f"unknown OTTT loss {cfg.ottt_loss!r}", f"use one of {list(OTTT_LOSSES)}")
    if not 0 <= cfg.average_last <= cfg.epochs:
        raise TTFSError(f"--average-last {cfg.average_last} is not within the run's {cfg.epochs} epochs",
                        "average at most --epochs epochs, or 0 to keep the last epoch's weights")
    return TRAIN_METHODS[cfg.method]


def run_options(model_config: ModelConfig, cfg: TrainConfig, train_data: Dataset) -> Dict[str, Any]:
    """What a resume state must have been written with: the model config (stored as the state's
    ``config``, which :func:`~ttfs_deploy.model.checkpoint.load_state` also reads), the
    result-changing TrainConfig fields and the training data (name, sample count)."""
    train_options = {k: v for k, v in asdict(cfg).items() if k not in RESUMABLE_CHANGES}
    train_options.update(data=train_data.name, train_samples=len(train_data))
    return {"config": model_config.to_dict(), "train": train_options}


def check_same_run(state: Dict[str, Any], options: Dict[str, Any], path: str) -> None:
    """Refuse to resume a state written with other options (a different ``--epochs`` would silently
    keep the old cosine schedule, other data another run)."""
    for part, cls in (("config", ModelConfig), ("train", TrainConfig)):
        saved, now = state.get(part), options[part]
        if not isinstance(saved, dict):
            continue
        # a field added since the state was written did not exist then, so the run had its default
        then = {**{f.name: f.default for f in fields(cls) if f.default is not MISSING}, **saved}
        for key in sorted(set(then) | set(now)):
            if key in RESUMABLE_CHANGES:
                continue
            if then.get(key) != now.get(key):
                raise TTFSError(f"{path} was written with {key}={str(then.get(key))[:40]}, this run has "
                                f"{str(now.get(key))[:40]}", "resume with the options of the run that wrote it "
                                "(its COMMAND or the log), or train without --resume")


def trim_log(log_path: Path, epochs_done: int) -> None:
    """Keep the log lines of the epochs the resume state holds (a crash can leave one more)."""
    if log_path.is_file():
        lines = [line for line in log_path.read_text().splitlines()
                 if line.strip() and json.loads(line).get("epoch", 0) <= epochs_done]
        log_path.write_text("".join(line + "\n" for line in lines))


def resume_from(path: str, model: TTFSNet, optimizer: torch.optim.Optimizer, schedule: Any, method: str,
                options: Dict[str, Any], average: WeightAverage) -> int:
    """Restore model, optimizer, schedule, RNG and the weight ``average`` from the state at ``path``
    (checked to belong to ``model``'s configuration, to ``method`` and to the run ``options``);
    returns the epochs done."""
    state = load_state(path, model)
    if state.get("method", "bptt") != method:
        raise TTFSError(f"{path} was trained with {state.get('method', 'bptt')}, not {method}",
                        "resume with the same --method/--online-update, or drop --resume to start over")
    check_same_run(state, options, path)
    average.restore(state.get("average"), path)
    try:
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["torch_rng"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise TTFSError(f"resume state {path} is incomplete or damaged ({type(err).__name__})",
                        "drop --resume to start again") from None
    return int(state["epoch"])


def train(model_config: ModelConfig, train_data: Dataset, test_data: Dataset, cfg: TrainConfig,
          out: str, meta: Optional[Dict[str, Any]] = None, resume: bool = False,
          on_epoch: Optional[Callable[[Dict[str, Any]], None]] = None,
          initial_state: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, Any]:
    """Train with ``cfg.method`` and save ``out``: the last epoch's weights, or with ``cfg.average_last``
    the mean of the last epochs' (:mod:`~ttfs_deploy.train.averaging`); never the best on test.
    ``initial_state``: start from these weights (a state_dict of ``TTFSNet(model_config)``, e.g. a
    converted network to fine-tune) instead of the initialization.

    Returns the last epoch's log record.
    """
    method = check_config(cfg)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cfg.device.startswith("cuda") else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    if world > 1 and cfg.device.startswith("cuda"):
        cfg.device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    seed_everything(cfg.seed)
    model = TTFSNet(model_config)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    model.to(cfg.device)
    net = DistributedDataParallel(model) if world > 1 and method.wrap_ddp else model
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, cfg.epochs))
    state_path, log_path = Path(out + ".last.pt"), Path(out + ".log.jsonl")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start_epoch = 0
    options = run_options(model_config, cfg, train_data)
    average = WeightAverage(cfg.average_last)
    if resume and state_path.is_file():
        start_epoch = resume_from(str(state_path), model, optimizer, schedule, method_name(cfg), options, average)
        if start_epoch >= cfg.epochs:
            raise TTFSError(f"the resume state {state_path} has already done {start_epoch} of {cfg.epochs} epochs",
                            "raise --epochs to train further, or drop --resume")
        if rank == 0:
            trim_log(log_path, start_epoch)
    elif log_path.exists() and rank == 0:
        log_path.unlink()

    labels = train_data.y
    generator = torch.Generator().manual_seed(cfg.seed)
    record: Dict[str, Any] = {}
    for epoch in range(start_epoch, min(cfg.epochs, cfg.stop_after or cfg.epochs)):
        generator.manual_seed(cfg.seed + epoch)
        if cfg.qat_epochs and epoch >= cfg.epochs - cfg.qat_epochs:
            model.set_weight_bits(cfg.qat_bits)  # quantization-aware fine-tuning for the last epochs
        order = torch.randperm(len(labels), generator=generator).numpy()
        if world > 1:  # equal shards, so every rank runs the same number of steps
            order = order[rank::world][:len(labels) // world]
        images = random_flip(random_shift(train_data.x, cfg.augment_shift, cfg.seed + epoch), cfg.augment_flip,
                             cfg.seed + epoch)
        times = encode(model_config.encoder, images, model_config.T)
        if model_config.encoder in SPIKE_CODES:
            times = jitter_times(times, cfg.jitter, model_config.T, cfg.seed + epoch)
        net.train()
        t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
        local_batch = max(1, cfg.batch_size // world)
        batches = range(0, len(order), local_batch)
        show = cfg.progress and rank == 0
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=None if show else True)  # None: tqdm hides itself when not on a terminal
        for start in bar:
            idx = order[start:start + local_batch]
            x = torch.as_tensor(times[idx], device=cfg.device)
            y = torch.as_tensor(labels[idx], device=cfg.device)
            loss, logits = method.step(model, net, optimizer, x, y, cfg)
            seen += len(idx)
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        schedule.step()
        train_seconds = time.time() - t0
        if world > 1:
            totals = torch.tensor([seen, loss_sum, correct], dtype=torch.float64)
            dist.all_reduce(totals)
            seen, loss_sum, correct = int(totals[0]), float(totals[1]), int(totals[2])
            if rank > 0:
                dist.barrier()
                continue
        if average.covers(epoch + 1, cfg.epochs):
            average.add(model.state_dict())
        test = evaluate(model, test_data, device=cfg.device)
        record = {"epoch": epoch + 1, "loss": loss_sum / seen, "train_accuracy": correct / seen,
                  "test_accuracy": test["accuracy"], "latency_steps_mean": test["latency_steps_mean"],
                  "silent_fraction": test["silent_fraction"], "seconds": train_seconds,
                  "samples_per_second": seen / max(train_seconds, 1e-9), "lr": schedule.get_last_lr()[0]}
        shipped = model
        if average.count:  # the model file holds the average of the epochs so far in the window
            shipped = copy.deepcopy(model)
            shipped.load_state_dict(average.averaged(model.state_dict()))
            averaged = evaluate(shipped, test_data, device=cfg.device)
            record.update(average_epochs=average.count, average_test_accuracy=averaged["accuracy"],
                          average_latency_steps_mean=averaged["latency_steps_mean"])
        with log_path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        with atomic_path(str(state_path)) as tmp:
            torch.save({"format": STATE_FORMAT,
                        "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "torch_rng": torch.get_rng_state(),
                        "epoch": epoch + 1, "method": method_name(cfg), **options,
                        **({"average": average.state()} if average.window else {})}, tmp)
        prefix = "average_" if average.count else ""
        full_meta = dict(meta or {}, train=asdict(cfg), epochs_done=epoch + 1,
                         accuracy=record[prefix + "test_accuracy"],
                         latency_steps_mean=record[prefix + "latency_steps_mean"])
        save_checkpoint(out, shipped.cpu(), full_meta)
        model.to(cfg.device)
        if on_epoch:  # after the epoch is on disk, so an interrupted run resumes from it
            on_epoch(record)
        if world > 1:
            dist.barrier()
    return record
