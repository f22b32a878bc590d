"""The models shipped in examples/models compile for every target and verify on Lava.

Fashion-MNIST needs the IDX files (`apt-get install dataset-fashion-mnist`, done by .ci/run):
outside CI its tests skip when they are missing; with CI=true they fail instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ttfs_deploy.cli import cli
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.errors import TTFSError

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"
SHIPPED = {"digits.pt": "digits", "fashion_mnist.pt": "fashion-mnist", "fashion_mnist_latency.pt": "fashion-mnist"}


def _needs_data(name: str) -> None:
    try:
        load_dataset(name, "test")
    except TTFSError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{name} not installed")


def _ok(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module", params=sorted(p for p in SHIPPED if (MODELS / p).exists()))
def shipped(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param.replace(".", "_"))
    _needs_data(SHIPPED[request.param])
    _ok("compile", MODELS / request.param, "--target", "loihi2", "-o", out / "m.nir", "--json", out / "c.json")
    return request.param, out


#: the shipped Fashion-MNIST network's fc3 (fan-in 32 x 14 x 14 = 6,272) needs a fan-in split, whose
#: partial sums travel as graded spikes: Loihi 2 only
LOIHI2_ONLY = {"fashion_mnist.pt"}


def test_compiles_for_loihi_too(shipped, tmp_path):
    name, _ = shipped
    args = ["compile", MODELS / name, "--target", "loihi", "-o", tmp_path / "loihi.nir", "--json", tmp_path / "c.json"]
    if name in LOIHI2_ONLY:
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert result.exit_code == 1 and not list(tmp_path.iterdir())
        assert "error: layer fc3 has fan-in 6272 > 4096 input axons per core on loihi, and splitting it needs " \
               "graded spikes, which loihi lacks; use --target loihi2" in result.output
        return
    _ok(*args)
    assert json.loads((tmp_path / "c.json").read_text())["cores_used"] >= 1


@pytest.mark.lava
def test_verifies_on_lava_with_zero_mismatches(shipped):
    name, out = shipped
    _ok("verify", out / "m.nir", "--samples", "3", "--json", out / "v.json")
    report = json.loads((out / "v.json").read_text())
    assert report["mismatches"] == 0 and report["neurons_compared"] > 0


def test_recorded_accuracy_reproduces_on_eventsim(shipped):
    import torch

    name, out = shipped
    meta = torch.load(MODELS / name, weights_only=True)["meta"]
    _ok("run", out / "m.nir", "--backend", "eventsim", "--json", out / "r.json")
    result = json.loads((out / "r.json").read_text())
    assert result["accuracy"] == pytest.approx(meta["accuracy"], abs=0.005)
