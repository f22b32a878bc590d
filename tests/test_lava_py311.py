"""The Python 3.11 import shim for lava-nc (pure source rewriting; most tests need no Lava)."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys

import pytest

from ttfs_deploy.backends.lava import py311
from ttfs_deploy.errors import TTFSError

SOURCE = '''# header
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ByteEncoder:
    base: int = 0


@dataclass
class CoreEncoder:
    """doc"""
    x: ByteEncoder = ByteEncoder()
    y: ByteEncoder = ByteEncoder()  # trailing comment
    n: int = 0
'''


def test_patch_source_rewrites_mutable_defaults_and_imports_field():
    patched = py311.patch_source(SOURCE)
    assert "x: ByteEncoder = field(default_factory=ByteEncoder)" in patched
    assert "y: ByteEncoder = field(default_factory=ByteEncoder)  # trailing comment" in patched
    assert "n: int = 0" in patched
    lines = patched.splitlines()
    assert lines.index("from __future__ import annotations") < \
        next(i for i, line in enumerate(lines) if "import field" in line)
    module = type(sys)("shim_test_module")
    sys.modules["shim_test_module"] = module
    try:
        exec(compile(patched, "<patched>", "exec"), module.__dict__)
    finally:
        del sys.modules["shim_test_module"]
    first, second = module.CoreEncoder(), module.CoreEncoder()
    assert first.x == module.ByteEncoder() and first.x is not second.x
    assert dataclasses.fields(module.CoreEncoder)[0].default_factory is module.ByteEncoder


def test_patch_source_leaves_clean_source_alone():
    clean = "from dataclasses import dataclass\nx = 1\n"
    assert py311.patch_source(clean) == clean


def test_ensure_lava_reports_a_missing_lava(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "lava" else real_find_spec(name, *a))
    with pytest.raises(TTFSError, match="Lava \\(lava-nc\\) is not installed; run `make install`"):
        py311.ensure_lava()


@pytest.mark.lava
@pytest.mark.skipif(not py311.lava_available() and os.environ.get("CI") != "true",
                    reason="lava-nc is not installed")
def test_ensure_lava_is_idempotent_and_makes_var_model_importable():
    py311.ensure_lava()
    py311.ensure_lava()
    hooks = [f for f in sys.meta_path if getattr(f, "_ttfs_py311_lava_finder", False)]
    assert len(hooks) == (1 if sys.version_info >= (3, 11) else 0)
    from lava.magma.compiler import var_model
    assert var_model.CoreEncoder().x is not var_model.CoreEncoder().x


@pytest.mark.lava
@pytest.mark.skipif(not py311.lava_available() and os.environ.get("CI") != "true",
                    reason="lava-nc is not installed")
def test_lava_imports_after_another_start_method_was_chosen():
    """Lava's runtime calls set_start_method('fork') on import; ensure_lava keeps that from
    crashing when torch or a trainer picked a start method first."""
    code = ("import multiprocessing as mp; mp.set_start_method('spawn'); "
            "import ttfs_deploy.backends.lava.runner; print(mp.get_start_method())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "fork"
