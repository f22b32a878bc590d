"""Data-parallel training: two processes under torchrun (gloo on CPU) write one model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

from conftest import torchrun_stderr


def test_torchrun_two_processes_trains_and_writes_one_model(tmp_path):
    out = tmp_path / "ddp.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29531",
           "-m", "ttfs_deploy.cli", "train", "--data", "digits", "--arch", "FC16-FC10", "--T", "4",
           "--epochs", "2", "--limit", "256", "--batch-size", "32", "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, torchrun_stderr(done.stderr)
    payload = torch.load(out, weights_only=True)
    assert payload["meta"]["epochs_done"] == 2
    log = [json.loads(line) for line in (tmp_path / "ddp.pt.log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]  # rank 0 alone writes the log
    assert 0.0 <= log[-1]["test_accuracy"] <= 1.0
