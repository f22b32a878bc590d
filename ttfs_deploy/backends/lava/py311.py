"""Make lava-nc 0.10.0 importable on Python >= 3.11 without touching site-packages.

lava-nc 0.10.0 declares ``Requires-Python <3.11``. The one thing that actually breaks on 3.11 is
``lava/magma/compiler/var_model.py``: dataclasses such as ``CoreEncoder`` declare
``x: ByteEncoder = ByteEncoder()``, a mutable (unhashable) default that Python 3.11's
``dataclasses`` rejects with ``ValueError: mutable default ... is not allowed``.

:func:`ensure_lava` installs, once, a :data:`sys.meta_path` finder that intercepts the import of
that one module, rewrites such defaults to ``field(default_factory=ByteEncoder)`` in the source
text, and executes the rewritten source as the module. Nothing on disk changes. On Python 3.10
(the version lava-nc supports) the hook is not installed.

:func:`ensure_lava` also imports Lava's multiprocessing message infrastructure, which sets the
global start method to ``fork`` (Lava's own choice) and would crash if a start method had already
been chosen; see :func:`_import_lava_multiprocessing`.

Every module of the Lava backend calls :func:`ensure_lava` before it imports ``lava``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import multiprocessing
import re
import sys
from types import ModuleType
from typing import Optional, Sequence

from ttfs_deploy.errors import TTFSError

TARGET_MODULE = "lava.magma.compiler.var_model"
LAVA_MP_MODULE = "lava.magma.runtime.message_infrastructure.multiprocessing"

# ``    name: Type = Type()`` -> ``    name: Type = field(default_factory=Type)``
_MUTABLE_DEFAULT = re.compile(
    r"^(?P<indent>[ \t]+)(?P<name>\w+)(?P<sep>\s*:\s*)(?P<type>[A-Za-z_][\w.]*)\s*=\s*"
    r"(?P=type)\(\s*\)(?P<tail>[ \t]*(#.*)?)$",
    re.MULTILINE,
)
_FUTURE_IMPORT = re.compile(r"^from __future__ import [^\n]*\n", re.MULTILINE)
_FIELD_IMPORT = "from dataclasses import field as field  # added by ttfs_deploy py311 shim\n"


def patch_source(source: str) -> str:
    """Return ``source`` with ``x: T = T()`` class-attribute defaults turned into
    ``x: T = field(default_factory=T)`` and ``field`` imported.

    The import goes after the last ``from __future__`` line (those must stay first).
    Source without such defaults comes back unchanged.
    """
    patched, count = _MUTABLE_DEFAULT.subn(
        r"\g<indent>\g<name>\g<sep>\g<type> = field(default_factory=\g<type>)\g<tail>", source)
    if count == 0:
        return source
    futures = list(_FUTURE_IMPORT.finditer(patched))
    at = futures[-1].end() if futures else 0
    return patched[:at] + _FIELD_IMPORT + patched[at:]


class _PatchingLoader(importlib.abc.Loader):
    """Loads one module from its original file, through :func:`patch_source`."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return None  # default module creation

    def exec_module(self, module: ModuleType) -> None:
        with open(self.origin, encoding="utf-8") as handle:
            source = patch_source(handle.read())
        code = compile(source, self.origin, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - lava's own source, patched in memory


class Py311LavaFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder that hands :data:`TARGET_MODULE` to :class:`_PatchingLoader`."""

    _ttfs_py311_lava_finder = True

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != TARGET_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return None
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=_PatchingLoader(spec.origin),
            submodule_search_locations=None)


def _hook_installed() -> bool:
    # A marker attribute rather than isinstance: the module may have been executed twice under
    # different names (Lava's process-model discovery re-executes sibling modules by path).
    return any(getattr(finder, "_ttfs_py311_lava_finder", False) for finder in sys.meta_path)


def needs_patch() -> bool:
    """True on Python versions whose ``dataclasses`` reject lava's mutable defaults."""
    return sys.version_info >= (3, 11)


def _install_and_check() -> None:
    try:
        spec = importlib.util.find_spec("lava")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise TTFSError("Lava (lava-nc) is not installed", "run `make install`")
    if needs_patch() and not _hook_installed():
        sys.meta_path.insert(0, Py311LavaFinder())
    try:
        importlib.import_module(TARGET_MODULE)
    except ImportError as err:
        raise TTFSError(f"Lava (lava-nc) is not installed or broken ({err})",
                        "run `make install`") from err


def ensure_lava() -> None:
    """Make ``import lava...`` work on this interpreter; idempotent.

    Installs the import hook (Python >= 3.11), imports the patched ``var_model`` and Lava's
    multiprocessing message infrastructure (see :func:`_import_lava_multiprocessing`).

    Raises:
        TTFSError: lava-nc is not installed (or cannot be imported).
    """
    _install_and_check()
    try:
        _import_lava_multiprocessing()
    except ImportError as err:
        raise TTFSError(f"Lava (lava-nc) is not installed or broken ({err})",
                        "run `make install`") from err


def _import_lava_multiprocessing() -> None:
    """Import Lava's message infrastructure without its start-method crash.

    ``lava.magma.runtime.message_infrastructure.multiprocessing`` calls
    ``multiprocessing.set_start_method('fork')`` when it is imported, which raises
    ``RuntimeError: context has already been set`` if anything (torch, a trainer) chose a start
    method first. Lava's runtime needs ``fork`` anyway, so the global choice is cleared just
    before that import and Lava sets ``fork`` itself, as it always does.
    """
    if LAVA_MP_MODULE in sys.modules:
        return
    if sys.platform != "win32" and multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)  # type: ignore[arg-type]
    importlib.import_module(LAVA_MP_MODULE)


def lava_available() -> bool:
    """True when lava-nc is installed and importable (with the shim).

    Light: it does not import Lava's runtime, so it leaves the multiprocessing start method alone.
    """
    try:
        _install_and_check()
    except TTFSError:
        return False
    return True
