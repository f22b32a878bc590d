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


def load_raw(path: str) -> Dict[str, Any]:
    """Load a checkpoint dict safely; one-line errors for missing, corrupt or unsafe files."""
    p = Path(path)
    if not p.is_file():
        raise TTFSError(f"model file {path} not found", "check the path or train one with `ttfs-deploy train`")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "weights_only" in str(err) or "Unsupported global" in str(err) or "GLOBAL" in str(err):
            raise TTFSError(f"{path} contains executable pickle content ({first[:120]}), refused",
                            "only load model files written by ttfs-deploy (plain tensors and dicts)") from None
        raise TTFSError(f"{path} is not a valid model file ({first[:120]})", "re-save it with ttfs-deploy") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise TTFSError(f"{path} is corrupt or not a torch file ({first[:120]})",
                        "re-train or re-download the model") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise TTFSError(f"{path} is not a ttfs-deploy checkpoint", "train it with `ttfs-deploy train`")
    return payload


def load_checkpoint(path: str) -> Tuple[TTFSNet, Dict[str, Any]]:
    """Rebuild the model from ``path``; returns ``(model in eval mode, meta)``."""
    payload = load_raw(path)
    try:
        model = TTFSNet(ModelConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise TTFSError(f"{path} does not match its architecture ({str(err).splitlines()[0][:120]})",
                        "re-train the model with this version of ttfs-deploy") from None
    return model.eval(), payload.get("meta", {})
