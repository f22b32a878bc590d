"""Checkpoint I/O. A model file is a plain dict, loaded with ``weights_only=True`` only:

``{"format": "ttfs-deploy/1", "config": ModelConfig dict, "state_dict": {...},
"meta": {dataset, seed, epochs, accuracy, command, ...}}``
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Dict, Tuple

import torch

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.io_utils import atomic_path
from ttfs_deploy.model.network import ModelConfig, TTFSNet

FORMAT = "ttfs-deploy/1"


def save_checkpoint(path: str, model: TTFSNet, meta: Dict[str, Any], extra: Dict[str, Any] = None) -> None:
    """Write ``path`` atomically (temp file + rename): no half-written model on failure."""
    payload = {"format": FORMAT, "config": model.config.to_dict(),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "meta": meta}
    if extra:
        payload.update(extra)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _file_kind(path: Path) -> str:
    """What the first bytes say: ``torch`` (zip or legacy pickle), or a description of the file."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return "torch"
    if not head:
        return "an empty file"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (a NIR graph?)"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    return "not a torch file (unknown format)"


def load_raw(path: str, fmt: str = FORMAT, what: str = "checkpoint") -> Dict[str, Any]:
    """Load a checkpoint dict of format ``fmt`` safely (``weights_only=True``); one-line errors for
    missing, corrupt, foreign or unsafe files."""
    p = Path(path)
    if not p.is_file():
        raise TTFSError(f"{'model file' if fmt == FORMAT else what} {path} not found",
                        "check the path or train one with `ttfs-deploy train`")
    kind = _file_kind(p)
    if kind != "torch":
        raise TTFSError(f"{path} is {kind}, not a ttfs-deploy {what}", "pass a file written by ttfs-deploy")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "Unsupported global" in str(err) or "GLOBAL" in str(err):
            raise TTFSError(f"{path} contains executable pickle content ({first[:120]}), refused",
                            "only load model files written by ttfs-deploy (plain tensors and dicts)") from None
        raise TTFSError(f"{path} is not a valid {what} ({first[:120]})", "re-save it with ttfs-deploy") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, AttributeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise TTFSError(f"{path} is corrupt or truncated ({first[:120]})",
                        "re-train or re-download the model") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise TTFSError(f"{path} is not a ttfs-deploy {what}", "train it with `ttfs-deploy train`")
    return payload


def check_finite(path: str, state_dict: Dict[str, Any]) -> None:
    """Raise unless every tensor of ``state_dict`` is finite."""
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TTFSError(f"{path}: {name} is not a tensor", "re-train the model")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise TTFSError(f"{path}: {name} holds NaN or infinite values", "re-train the model (lower --lr)")


def load_checkpoint(path: str) -> Tuple[TTFSNet, Dict[str, Any]]:
    """Rebuild the model from ``path``; returns ``(model in eval mode, meta)``."""
    payload = load_raw(path)
    model = _rebuild(path, payload)
    meta = payload.get("meta", {})
    return model.eval(), meta if isinstance(meta, dict) else {}


def _rebuild(path: str, payload: Dict[str, Any]) -> TTFSNet:
    """The model of ``payload``'s config with its weights."""
    try:
        model = TTFSNet(ModelConfig.from_dict(payload["config"]))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise TTFSError(f"{path} has an invalid model configuration ({(str(err).splitlines() or [''])[0][:120]})",
                        "re-train the model with this version of ttfs-deploy") from None
    load_weights(path, model, payload.get("state_dict"))
    return model


def load_weights(path: str, model: TTFSNet, state_dict: Any) -> None:
    """Load ``state_dict`` into ``model`` after checking it is a dict of finite tensors."""
    if not isinstance(state_dict, dict):
        raise TTFSError(f"{path} holds no state_dict", "re-train the model with this version of ttfs-deploy")
    check_finite(path, state_dict)
    try:
        model.load_state_dict(state_dict)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise TTFSError(f"{path} does not match its architecture ({(str(err).splitlines() or [''])[0][:120]})",
                        "re-train the model with this version of ttfs-deploy") from None


STATE_FORMAT = "ttfs-deploy-state/1"
#: what a resumed run must share with the run that wrote the state: the network and its time window
SAME_ON_RESUME = ("arch", "input_shape", "n_classes", "T", "encoder", "norm", "decoder", "threshold")


def load_state(path: str, model: TTFSNet) -> Dict[str, Any]:
    """Read a training state written for a model with ``model``'s configuration into ``model``;
    returns the state (optimizer, schedule, RNG, ``epoch``)."""
    state = load_raw(path, STATE_FORMAT, "resume state")
    saved, wanted = state.get("config"), model.config.to_dict()
    diff = [k for k in SAME_ON_RESUME if not isinstance(saved, dict) or saved.get(k) != wanted[k]]
    if diff:
        shown = ", ".join(f"{k} {saved.get(k) if isinstance(saved, dict) else '?'} (now {wanted[k]})" for k in diff[:3])
        raise TTFSError(f"resume state {path} was made for another model: {shown}",
                        "pass the options of the first run, or drop --resume to start again")
    load_weights(path, model, state.get("state_dict"))
    if not isinstance(state.get("epoch"), int) or state["epoch"] < 0:
        raise TTFSError(f"resume state {path} has no valid epoch count", "drop --resume to start again")
    return state
