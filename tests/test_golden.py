"""The shipped models give the same spike times, counts and reports as when the fingerprints
were recorded (``tests/golden.py``): restructuring the code must not change behaviour."""

from __future__ import annotations

import json
import os

import pytest

from golden import GOLDEN, SHIPPED, fingerprint
from ttfs_deploy.data.datasets import load_dataset
from ttfs_deploy.errors import TTFSError

RECORDED = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("model", sorted(SHIPPED))
def test_shipped_model_fingerprint_unchanged(model):
    try:
        load_dataset(SHIPPED[model], "test")
    except TTFSError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{SHIPPED[model]} not installed")
    assert fingerprint(model) == RECORDED[model]
