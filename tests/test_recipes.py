"""Per-data-set recipes: `ttfs-deploy train --data NAME` with no other option trains the shipped model's recipe."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from click.testing import CliRunner

from ttfs_deploy.cli import cli
from ttfs_deploy.model.checkpoint import load_raw
from ttfs_deploy.train import TrainConfig
from ttfs_deploy.train.recipes import GENERIC, RECIPES, recipe_for

SHIPPED = {"digits": "examples/models/digits.pt", "fashion-mnist": "examples/models/fashion_mnist.pt"}


@pytest.mark.parametrize("data_name", sorted(SHIPPED))
def test_recipe_is_the_shipped_models(data_name):
    """Every recipe field equals what the shipped model was trained with (its config and meta)."""
    payload = load_raw(SHIPPED[data_name])
    recipe = RECIPES[data_name]
    assert {k: payload["config"][k] for k in recipe.model_options()} == recipe.model_options()
    trained = {**asdict(TrainConfig()), **payload["meta"]["train"]}  # a field added since had its default then
    assert {k: trained[k] for k in recipe.train_options()} == recipe.train_options()


def test_mnist_follows_fashion_mnist_and_other_data_gets_the_generic_recipe():
    assert RECIPES["mnist"] == RECIPES["fashion-mnist"]
    assert recipe_for("my_data.npz") == GENERIC


def test_given_options_override_single_fields():
    recipe = recipe_for("fashion-mnist", T=4, dropout=None)
    assert recipe.T == 4 and recipe.dropout == RECIPES["fashion-mnist"].dropout
    assert recipe.arch == RECIPES["fashion-mnist"].arch


def _train_cli(tmp_path, *options):
    out = tmp_path / "m.pt"
    result = CliRunner().invoke(cli, ["train", "--data", "digits", "--limit", "64", *options, "-o", str(out)])
    assert result.exit_code == 0, (result.stdout, result.exception)
    payload = load_raw(str(out))
    return payload["config"], payload["meta"]["train"]


def test_cli_defaults_reach_the_saved_config(tmp_path):
    """Only --limit/--epochs given (to keep it fast): every other option is the digits recipe."""
    config, train = _train_cli(tmp_path, "--epochs", "1")
    recipe = recipe_for("digits", epochs=1)
    assert {k: config[k] for k in recipe.model_options()} == recipe.model_options()
    expected = dict(recipe.train_options(), qat_epochs=1)  # qat epochs are capped at the schedule's length
    assert {k: train[k] for k in expected} == expected


def test_cli_options_override_the_recipe(tmp_path):
    config, train = _train_cli(tmp_path, "--epochs", "1", "--T", "4", "--arch", "FC16-FC10", "--encoder", "latency",
                               "--dropout", "0", "--init-gain", "0.05", "--jitter", "0", "--qat-epochs", "0",
                               "--batch-size", "32", "--lr", "0.001", "--augment-flip")
    assert (config["T"], config["arch"], config["encoder"], config["dropout"], config["init_gain"]) == \
        (4, "FC16-FC10", "latency", 0.0, 0.05)
    assert (train["jitter"], train["qat_epochs"], train["batch_size"], train["lr"], train["augment_flip"]) == \
        (0, 0, 32, 0.001, True)
