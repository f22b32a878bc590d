"""Resume from committed state on a fresh `git clone`: the run ends bit-identical to an uninterrupted one.

A long run is split across sessions by committing its resume state (``MODEL.pt.last.pt`` and
``MODEL.pt.log.jsonl``) under a git-ignored ``runs/`` folder with ``git add -f`` and continuing on
another checkout with ``--resume`` (docs/BENCHMARKS.md). Each part runs in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ttfs_deploy

ROOT = Path(ttfs_deploy.__file__).resolve().parents[1]
TRAIN = ["train", "--data", "digits", "--epochs", "2", "--limit", "400", "-o", "runs/r/m.pt"]
TIME_FIELDS = ("seconds", "samples_per_second")


def _cli(cwd: Path, *args: str, exit_code: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "ttfs_deploy.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == exit_code, done.stderr[-2000:]
    return done


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


def _log(folder: Path):
    lines = (folder / "runs/r/m.pt.log.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIME_FIELDS} for line in lines]


def _weights(folder: Path):
    return torch.load(folder / "runs/r/m.pt", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("resume")
    straight, repo, clone = base / "straight", base / "repo", base / "clone"
    straight.mkdir()
    repo.mkdir()
    _cli(straight, *TRAIN)
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("runs/\n")
    _cli(repo, *TRAIN, "--stop-after", "1")
    _git(repo, "add", ".gitignore")
    _git(repo, "add", "-f", "runs/r/m.pt.last.pt", "runs/r/m.pt.log.jsonl")
    _git(repo, "commit", "-q", "-m", "resume state after epoch 1")
    _git(base, "clone", "-q", str(repo), str(clone))
    assert not (clone / "runs/r/m.pt").exists()  # only the committed state travels
    _cli(clone, *TRAIN, "--resume")
    return straight, repo, clone


def test_stop_after_ends_early_with_a_resumable_state(runs):
    _, repo, _ = runs
    assert torch.load(repo / "runs/r/m.pt.last.pt", weights_only=True)["epoch"] == 1
    assert [r["epoch"] for r in _log(repo)] == [1]


def test_resume_on_a_fresh_clone_is_bit_exact(runs):
    straight, _, clone = runs
    assert _log(clone) == _log(straight)  # every field but the timings, both epochs
    a, b = _weights(straight), _weights(clone)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    opt_a = torch.load(straight / "runs/r/m.pt.last.pt", weights_only=True)["optimizer"]["state"]
    opt_b = torch.load(clone / "runs/r/m.pt.last.pt", weights_only=True)["optimizer"]["state"]
    assert all(torch.equal(opt_a[i][k], opt_b[i][k]) for i in opt_a for k in opt_a[i])


def test_resume_with_other_options_is_refused(runs):
    _, _, clone = runs
    other_schedule = [a if a != "2" else "3" for a in TRAIN]  # --epochs 3: another cosine schedule
    done = _cli(clone, *other_schedule, "--resume", exit_code=1)
    assert done.stderr.strip().splitlines() == [
        "error: runs/r/m.pt.last.pt was written with epochs=2, this run has 3; resume with the options of the run "
        "that wrote it (its COMMAND or the log), or train without --resume"]
    fewer_samples = [a if a != "400" else "300" for a in TRAIN]
    done = _cli(clone, *fewer_samples, "--resume", exit_code=1)
    assert "was written with train_samples=400, this run has 300" in done.stderr
    assert len(_log(clone)) == 2  # nothing was changed


def test_a_state_from_before_a_field_existed_resumes_only_with_its_default():
    """A state written before ``augment_flip`` existed was trained without flips: resuming it is
    accepted with the default and refused with the new option on (it would change the run)."""
    from ttfs_deploy.errors import TTFSError
    from ttfs_deploy.model.network import ModelConfig
    from ttfs_deploy.train import TrainConfig
    from ttfs_deploy.train.loop import check_same_run

    options = {"config": ModelConfig(input_shape=(1, 8, 8), n_classes=10, arch="FC16-FC10").to_dict(),
               "train": dict(vars(TrainConfig()), data="digits", train_samples=400)}
    for key in ("device", "progress", "stop_after"):
        options["train"].pop(key)
    old = {"config": options["config"], "train": {k: v for k, v in options["train"].items() if k != "augment_flip"}}
    check_same_run(old, options, "m.pt.last.pt")
    options["train"]["augment_flip"] = True
    with pytest.raises(TTFSError, match="written with augment_flip=False, this run has True"):
        check_same_run(old, options, "m.pt.last.pt")
