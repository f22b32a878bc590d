"""End to end through the CLI on digits: train -> compile -> run -> verify (Lava) -> energy."""

from __future__ import annotations

import json

import nir
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ttfs_deploy.cli import cli
from ttfs_deploy.verify.compare import compare_layers


def _ok(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline")
    _ok("train", "--data", "digits", "--arch", "FC32-FC10", "--T", "8", "--epochs", "2", "--limit", "400", "--encoder", "onoff",
        "-o", out / "m.pt")
    assert torch.load(out / "m.pt", weights_only=True)["meta"]["dataset"] == "digits"
    _ok("compile", out / "m.pt", "--target", "loihi2", "-o", out / "m.nir", "--json", out / "c.json",
        "--data", "digits", "--samples", "50")
    assert nir.read(str(out / "m.nir")).metadata["target"] == "loihi2"
    return out


def test_run_eventsim_json(compiled):
    _ok("run", compiled / "m.nir", "--backend", "eventsim", "--json", compiled / "r.json")
    result = json.loads((compiled / "r.json").read_text())
    assert result["samples"] == 450 and 0.0 <= result["accuracy"] <= 1.0
    assert {"backend", "samples", "accuracy", "latency_steps_mean", "synops_per_sample", "seconds"} <= set(result)


@pytest.mark.lava
def test_verify_against_lava_reports_zero_mismatches(compiled):
    _ok("verify", compiled / "m.nir", "--samples", "4", "--json", compiled / "v.json")
    report = json.loads((compiled / "v.json").read_text())
    assert report["samples"] == 4 and report["mismatches"] == 0 and report["predictions_agree"]
    assert report["neurons_compared"] == 4 * (32 + 10) * 2
    assert [layer["name"] for layer in report["layers"]] == ["fc1", "fc2"]


@pytest.mark.lava
def test_run_on_lava_matches_eventsim_accuracy(compiled):
    _ok("run", compiled / "m.nir", "--backend", "lava", "--samples", "3", "--json", compiled / "l.json")
    _ok("run", compiled / "m.nir", "--backend", "eventsim", "--samples", "3", "--json", compiled / "e.json")
    lava, ev = (json.loads((compiled / f).read_text()) for f in ("l.json", "e.json"))
    assert lava["accuracy"] == ev["accuracy"] and lava["synops_per_sample"] == ev["synops_per_sample"]


def test_energy_outputs(compiled):
    _ok("energy", compiled / "m.nir", "--profile", "loihi", "--samples", "30", "--json", compiled / "e.json",
        "--md", compiled / "e.md", "--html", compiled / "e.html")
    report = json.loads((compiled / "e.json").read_text())
    assert report["per_sample"]["synops"] == pytest.approx(sum(layer["syn_ops"] for layer in report["layers"]))
    assert "plot-raster" in (compiled / "e.html").read_text()


def test_compare_layers_counts_each_differing_neuron():
    ref = [np.array([[0, 1, -1], [2, 2, 2]])]
    other = [np.array([[0, 2, -1], [2, -1, 2]])]
    assert compare_layers(["fc1"], ref, other) == [{"name": "fc1", "neurons": 3, "compared": 6,
                                                     "mismatches": 2, "max_abs_dt": 1}]
