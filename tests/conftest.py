"""Shared fixtures. Lava tests skip only outside CI when lava-nc is missing; with CI=true they run."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ttfs_deploy.ir.network import IntLayer, IntNetwork


def pytest_collection_modifyitems(config, items):
    from ttfs_deploy.backends.lava.py311 import lava_available

    if os.environ.get("CI") == "true" or lava_available():
        return
    skip = pytest.mark.skip(reason="lava-nc not installed (these tests never skip when CI=true)")
    for item in items:
        if "lava" in item.keywords:
            item.add_marker(skip)


def dense_layer(name: str, weight, bias_mant, vth: int, hop: int, weight_exp: int = 0, bias_exp=0) -> IntLayer:
    weight = np.asarray(weight, np.int64)
    n_out = weight.shape[0]
    return IntLayer(name, "dense", weight, weight_exp, np.broadcast_to(np.asarray(bias_mant, np.int64), (n_out,)).copy(),
                    np.broadcast_to(np.asarray(bias_exp, np.int64), (n_out,)).copy(), vth, (weight.shape[1],), hop)


@pytest.fixture
def hand_net() -> IntNetwork:
    """3 inputs -> 2 -> 2, integer weights; expected first spikes in tests/test_semantics.py."""
    l1 = dense_layer("fc1", [[60, 50, 0], [30, 0, 40]], [0, 640], vth=99, hop=1)
    l2 = dense_layer("fc2", [[100, -50], [50, 76]], [0, 0], vth=99, hop=2)
    return IntNetwork((3,), 8, "latency", [l1, l2])


def torchrun_stderr(stderr: str, head: int = 3000, tail: int = 1500) -> str:
    """What a failed torchrun run printed, for an assertion message: the start (a rank's own error,
    e.g. the message before a SIGABRT) and the end (torchrun's summary of which rank failed)."""
    if len(stderr) <= head + tail:
        return stderr
    return f"{stderr[:head]}\n[...]\n{stderr[-tail:]}"
