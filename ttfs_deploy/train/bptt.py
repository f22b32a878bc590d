"""BPTT training with the ETTFS recipe: Adam, cosine schedule, cross-entropy on decoded logits.

Data-parallel training: launched under ``torchrun --nproc_per_node N`` (``WORLD_SIZE`` > 1),
each process takes every N-th sample of the shuffled epoch, gradients are averaged by
``DistributedDataParallel`` (gloo on CPU, nccl on CUDA), and rank 0 alone evaluates, logs and
writes files. The global batch stays ``batch_size``.

Every epoch writes ``<out>.last.pt`` (model + optimizer + schedule + RNG state + the run's
options) and one JSON line to ``<out>.log.jsonl``; ``resume=True`` continues from ``<out>.last.pt``,
refuses a state written with other options, and drops log lines after the state's epoch. Runs
are deterministic for a fixed seed on the same machine and thread count, so a run stopped with
``stop_after`` (or killed) and resumed, in another process or on a fresh clone of committed
state, ends bit-identical to an uninterrupted one (tests/test_train.py).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.data.encoders import SPIKE_CODES, encode
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import atomic_path
from ttfs_deploy.model.checkpoint import save_checkpoint
from ttfs_deploy.model.network import ModelConfig, TTFSNet
from ttfs_deploy.train.evaluate import evaluate


@dataclass
class TrainConfig:
    """Optimization settings."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    augment_shift: int = 0
    jitter: int = 0
    qat_epochs: int = 0
    qat_bits: int = 8
    device: str = "cpu"
    progress: bool = True
    stop_after: Optional[int] = None  # end after this epoch (1-based); the schedule still spans ``epochs``


#: TrainConfig fields that may differ between a run and its resumption (they do not change the result).
RESUMABLE_CHANGES = ("device", "progress", "stop_after")


def _run_options(model_config: ModelConfig, cfg: TrainConfig, train_data: Dataset) -> Dict[str, Any]:
    """What a resume state must have been written with: the model config, the result-changing
    TrainConfig fields and the training data (name, sample count)."""
    train_options = {k: v for k, v in asdict(cfg).items() if k not in RESUMABLE_CHANGES}
    train_options.update(data=train_data.name, train_samples=len(train_data))
    return {"model_config": model_config.to_dict(), "train": train_options}


def _check_same_run(state: Dict[str, Any], options: Dict[str, Any], state_path: Path) -> None:
    """Refuse to resume a state written with other options (states written before options were stored pass)."""
    for part in ("model_config", "train"):
        saved, now = state.get(part), options[part]
        if saved is None:
            continue
        for key in sorted(set(saved) | set(now)):
            if saved.get(key) != now.get(key):
                raise TTFSError(f"{state_path} was written with {key}={saved.get(key)!r}, this run has {now.get(key)!r}",
                                "resume with the options of the run that wrote it (its COMMAND or the log), "
                                "or train without --resume")


def _qat_epoch(cfg: TrainConfig, epoch: int) -> bool:
    """Whether 0-based ``epoch`` trains on the compiler's weight grid (the last ``qat_epochs``)."""
    return bool(cfg.qat_epochs) and epoch >= cfg.epochs - cfg.qat_epochs


def _last_record(log_path: Path) -> Dict[str, Any]:
    """The log's last epoch record ({} when there is none)."""
    lines = log_path.read_text().splitlines() if log_path.is_file() else []
    return json.loads(lines[-1]) if lines else {}


def _save_model(out: str, model: TTFSNet, meta: Optional[Dict[str, Any]], cfg: TrainConfig, epochs_done: int,
                record: Dict[str, Any]) -> None:
    """Write the model file ``out``: its config, weights, and ``meta`` with the options and the epoch's accuracy."""
    full_meta = dict(meta or {}, train=asdict(cfg), epochs_done=epochs_done,
                     accuracy=record.get("test_accuracy"), latency_steps_mean=record.get("latency_steps_mean"))
    save_checkpoint(out, model.cpu(), full_meta)


def _trim_log(log_path: Path, epochs_done: int) -> None:
    """Keep the log lines of the epochs the resume state holds (a crash can leave one more)."""
    if log_path.is_file():
        lines = [line for line in log_path.read_text().splitlines()
                 if line.strip() and json.loads(line)["epoch"] <= epochs_done]
        log_path.write_text("".join(line + "\n" for line in lines))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def random_shift(x: np.ndarray, max_shift: int, seed: int) -> np.ndarray:
    """Translate each image (N, C, H, W) by up to ``max_shift`` pixels, zero fill (augmentation)."""
    if max_shift <= 0:
        return x
    rng = np.random.default_rng(seed)
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def jitter_times(times: np.ndarray, jitter: int, T: int, seed: int) -> np.ndarray:
    """Move each input spike by a random integer step in [-jitter, jitter] (kept in 0..T-1)."""
    if jitter <= 0:
        return times
    rng = np.random.default_rng(seed)
    moved = np.clip(times + rng.integers(-jitter, jitter + 1, size=times.shape), 0, T - 1)
    return np.where(times < 0, times, moved)


def train(model_config: ModelConfig, train_data: Dataset, test_data: Dataset, cfg: TrainConfig,
          out: str, meta: Optional[Dict[str, Any]] = None, resume: bool = False,
          on_epoch: Optional[Callable[[Dict[str, Any]], None]] = None) -> Dict[str, Any]:
    """Train and save ``out`` (the best-on-test final model is not selected: the last epoch is saved).

    Returns the last epoch's log record.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cfg.device.startswith("cuda") else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    if world > 1 and cfg.device.startswith("cuda"):
        cfg.device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    seed_everything(cfg.seed)
    model = TTFSNet(model_config).to(cfg.device)
    net = DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, cfg.epochs))
    state_path, log_path = Path(out + ".last.pt"), Path(out + ".log.jsonl")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start_epoch = 0
    options = _run_options(model_config, cfg, train_data)
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        _check_same_run(state, options, state_path)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch = int(state["epoch"])
        if rank == 0:
            _trim_log(log_path, start_epoch)
    elif log_path.exists() and rank == 0:
        log_path.unlink()

    labels = train_data.y
    generator = torch.Generator().manual_seed(cfg.seed)
    record: Dict[str, Any] = {}
    for epoch in range(start_epoch, min(cfg.epochs, cfg.stop_after or cfg.epochs)):
        generator.manual_seed(cfg.seed + epoch)
        if _qat_epoch(cfg, epoch):
            model.set_weight_bits(cfg.qat_bits)  # quantization-aware fine-tuning for the last epochs
        order = torch.randperm(len(labels), generator=generator).numpy()
        if world > 1:  # equal shards, so every rank runs the same number of steps
            order = order[rank::world][:len(labels) // world]
        images = random_shift(train_data.x, cfg.augment_shift, cfg.seed + epoch)
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
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(idx)
            loss_sum += float(loss.detach()) * len(idx)
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
        test = evaluate(model, test_data, device=cfg.device)
        record = {"epoch": epoch + 1, "loss": loss_sum / seen, "train_accuracy": correct / seen,
                  "test_accuracy": test["accuracy"], "latency_steps_mean": test["latency_steps_mean"],
                  "silent_fraction": test["silent_fraction"], "seconds": train_seconds,
                  "samples_per_second": seen / max(train_seconds, 1e-9), "lr": schedule.get_last_lr()[0]}
        with log_path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        with atomic_path(str(state_path)) as tmp:
            torch.save({"state_dict": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(), "torch_rng": torch.get_rng_state(),
                        "epoch": epoch + 1, **options}, tmp)
        _save_model(out, model, meta, cfg, epoch + 1, record)
        model.to(cfg.device)
        if on_epoch:  # after the epoch is on disk, so an interrupted run resumes from it
            on_epoch(record)
        if world > 1:
            dist.barrier()
    if not record and start_epoch and rank == 0:  # nothing left to run, e.g. a finished state on a fresh clone
        if _qat_epoch(cfg, start_epoch - 1):
            model.set_weight_bits(cfg.qat_bits)
        record = _last_record(log_path)
        _save_model(out, model, meta, cfg, start_epoch, record)
    return record
