"""The backends, in one table: every caller (``run``, ``verify``, ``energy``, the benchmarks)
picks a backend by name here and gets a :class:`~ttfs_deploy.backends.result.BackendResult`.

A backend is a function ``(net, input_times, *, early_exit, progress) -> BackendResult``:
``input_times`` are ``(B, n_inputs)`` integer steps of the reference frame, ``NEVER`` for no spike
(for a direct-input network, the host layer's spike times: :func:`~ttfs_deploy.backends.host.chip_input_times`).
Adding a backend is one function and one row of :data:`BACKENDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

import numpy as np

from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import IntNetwork

RunFn = Callable[..., BackendResult]


@dataclass(frozen=True)
class Backend:
    """One row of the table: how to run a network, and what the backend can do."""

    name: str
    run: RunFn
    description: str
    early_exit: bool = False   #: can stop a sample at its first output spike


def _eventsim(net: IntNetwork, input_times: np.ndarray, *, early_exit: bool = False,
              progress: bool = False) -> BackendResult:
    from ttfs_deploy.backends.eventsim.simulator import EventSim

    return EventSim(net).run(input_times, early_exit=early_exit, progress=progress)


def _torch(net: IntNetwork, input_times: np.ndarray, *, early_exit: bool = False,
           progress: bool = False) -> BackendResult:
    from ttfs_deploy.backends.torchsim import run_int

    return run_int(net, input_times)


def _lava(net: IntNetwork, input_times: np.ndarray, *, early_exit: bool = False,
          progress: bool = False) -> BackendResult:
    from ttfs_deploy.backends.lava import LavaNetwork  # imports lava-nc on first use

    return LavaNetwork(net).run(input_times, progress=progress)


BACKENDS: Dict[str, Backend] = {b.name: b for b in (
    Backend("eventsim", _eventsim, "integer event-driven simulator (numba), the reference; counts operations",
            early_exit=True),
    Backend("torch", _torch, "torch integer mode: every neuron, every step, dense"),
    Backend("lava", _lava, 'Lava processes, Loihi2SimCfg(select_tag="fixed_pt")'),
)}

REFERENCE = "eventsim"  #: the backend the others are verified against


def get_backend(name: str) -> Backend:
    """The table row for ``name``; a one-line error for an unknown one."""
    if name not in BACKENDS:
        raise TTFSError(f"unknown backend {name!r}", f"use one of {', '.join(BACKENDS)}")
    return BACKENDS[name]


def run_network(net: IntNetwork, input_times: np.ndarray, backend: str, *, early_exit: bool = False,
                progress: bool = False) -> BackendResult:
    """Run ``input_times`` through ``net`` on ``backend``."""
    entry = get_backend(backend)
    if early_exit and not entry.early_exit:
        raise TTFSError(f"backend {backend} cannot stop samples early",
                        f"drop --early-exit or use {', '.join(b.name for b in BACKENDS.values() if b.early_exit)}")
    return entry.run(net, input_times, early_exit=early_exit, progress=progress)
