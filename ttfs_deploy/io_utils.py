"""File output: atomic writes, and the outputs of one command checked up front and kept all or none.

* :func:`atomic_path` writes to a hidden temp file in the target folder (``.<name>.<random>.tmp``)
  and renames it into place, so no reader ever sees half a file;
* :func:`command_outputs` checks, before any long work, that every output of a command can be
  written and is neither one of its inputs nor another output; inside it, atomic writes to those
  outputs are staged and renamed into place together when the command succeeds, and all removed
  when it fails (folders it created too).
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from ttfs_deploy.errors import TTFSError


@dataclass
class _Stage:
    """Outputs of the running command: declared paths, their finished temp files, new folders."""

    declared: Dict[str, str]                                   #: real path -> path as given
    ready: List[Tuple[str, str]] = field(default_factory=list)  #: (temp file, target)
    created: List[Path] = field(default_factory=list)


_STAGE: ContextVar[Optional[_Stage]] = ContextVar("ttfs_outputs", default=None)


def _temp_in(target: Path) -> str:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    return tmp


def _make_parents(target: Path, stage: Optional[_Stage]) -> None:
    missing = [p for p in reversed(target.parents) if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    if stage is not None:
        stage.created += missing


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temp path next to ``path``; on success it becomes ``path`` (at once, or when the
    enclosing :func:`command_outputs` commits, if ``path`` is one of its outputs); on error it is
    deleted."""
    target = Path(path)
    stage = _STAGE.get()
    staged = stage is not None and os.path.realpath(target) in stage.declared
    _make_parents(target, stage if staged else None)
    tmp = _temp_in(target)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are meant to be shared
        if staged:  # a later write to the same output replaces the earlier one
            for old, _ in [entry for entry in stage.ready if entry[1] == str(target)]:
                os.unlink(old)
            stage.ready = [entry for entry in stage.ready if entry[1] != str(target)] + [(tmp, str(target))]
        else:
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp) and not (staged and (tmp, str(target)) in stage.ready):
            os.unlink(tmp)


def current(path: str) -> str:
    """The file that now holds what this command wrote to ``path``: its staged temp file until
    :func:`command_outputs` commits, else ``path`` itself (for commands that read back an output)."""
    stage = _STAGE.get()
    staged = [tmp for tmp, target in (stage.ready if stage else []) if target == str(Path(path))]
    return staged[-1] if staged else path


def check_input(path: str) -> None:
    """Raise if ``path``, an input found only while the command runs (the data set a NIR file
    names), is one of the command's outputs."""
    stage = _STAGE.get()
    if stage is not None and os.path.realpath(path) in stage.declared:
        raise TTFSError(f"the input {path} is also an output of this command; writing it would destroy it",
                        "choose another output path")


def _identity(path: str) -> Tuple[Any, ...]:
    """What makes two paths the same file: device and inode when it exists, else the real path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, a loop of links: nothing there to write over
        return False


def _check_writable(option: str, path: str) -> None:
    """Raise unless ``path`` can be created or replaced by :func:`atomic_path`."""
    target = Path(path)
    folder = target.parent
    while not _exists(folder):
        folder = folder.parent
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    names = list(target.relative_to(folder).parts) if target != folder else []
    if any(len(os.fsencode(name)) + 14 > limit for name in names):  # 14: the temp file's ".", ".XXXXXXXX.tmp"
        raise TTFSError(f"cannot write {option} {path}: a name is longer than {limit - 14} bytes", "use a shorter name")
    if not names or target.is_dir() or path.endswith(os.sep):
        raise TTFSError(f"{option} {path} is a folder", "give a file name")
    if target.exists() and not target.is_file():
        raise TTFSError(f"{option} {path} exists and is not a regular file", "give another file name")
    if not folder.is_dir():
        raise TTFSError(f"cannot write {option} {path}: {folder} is a file, not a folder", "choose another path")
    try:
        probe = _temp_in(folder / names[0])
        os.unlink(probe)
    except OSError as err:
        raise TTFSError(f"cannot write {option} {path} ({err.strerror or err})",
                        "choose a writable folder") from None


def check_outputs(outputs: Mapping[str, Optional[str]], inputs: Iterable[Optional[str]] = ()) -> Dict[str, str]:
    """Check the outputs of one command before it works: each writable, none equal to an input
    (same file, also through links) or to another output. ``outputs`` maps an option name
    (``-o``, ``--json``) to its path or None. Returns real path -> path of the outputs given."""
    sources = {_identity(p): p for p in inputs if p and Path(p).exists()}
    seen: Dict[Any, str] = {}
    declared: Dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        if not str(path).strip():
            raise TTFSError(f"{option} is empty", "give a file name")
        key = _identity(path)
        if key in sources:
            raise TTFSError(f"{option} {path} is the input {sources[key]}; writing it would destroy the input",
                            "choose another output path")
        if key in seen:
            raise TTFSError(f"{option} and {seen[key]} are the same file {path}", "give each output its own path")
        _check_writable(option, path)
        seen[key] = option
        declared[os.path.realpath(path)] = path
    return declared


@contextmanager
def command_outputs(outputs: Mapping[str, Optional[str]], inputs: Iterable[Optional[str]] = (),
                    progress: Mapping[str, Optional[str]] = {}) -> Iterator[None]:
    """Check ``outputs`` (:func:`check_outputs`), run the block, then keep all of them or none.

    ``progress`` files (a training log, a resume state) are checked the same way but written at
    once: they exist so that an interrupted command can continue.

    Files written with :func:`atomic_path` to these outputs stay hidden temp files until the block
    ends: then all are renamed into place, or, if it raised (also ``KeyboardInterrupt`` or
    ``SystemExit`` from a signal), all are deleted with the folders the block created.
    """
    declared = check_outputs({**outputs, **progress}, inputs)
    stage = _Stage({real: path for real, path in declared.items() if path not in progress.values()})
    token = _STAGE.set(stage)
    try:
        yield
    except BaseException:
        for tmp, _ in stage.ready:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for folder in reversed(stage.created):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    finally:
        _STAGE.reset(token)
    for tmp, target in stage.ready:
        os.replace(tmp, target)


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (no half-written file on failure)."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(text)


def write_json(path: str, data: Any) -> None:
    """Write ``data`` as indented strict JSON atomically (numpy values become plain Python values;
    NaN and infinities, which strict parsers reject, become null)."""
    write_text(path, json.dumps(plain(data), indent=2, allow_nan=False) + "\n")


def plain(obj: Any) -> Any:
    """Recursively turn numpy scalars and arrays (and tuples) into JSON-able Python values;
    non-finite floats become None."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
