"""Bytes of tensors autograd holds for backward, measured with ``saved_tensors_hooks``.

Every tensor a forward op saves for its backward passes through the pack hook; the meter wraps it in
a holder whose release (when backward frees the graph, or the graph is dropped) subtracts its bytes.
``peak`` is the most bytes held at once: the activation memory a training step needs. Tensors
saved more than once count each time (an upper bound on distinct storage).
"""

from __future__ import annotations

from typing import Any

import torch


class _Held:
    __slots__ = ("tensor", "meter", "nbytes")

    def __init__(self, tensor: torch.Tensor, meter: "SavedTensorMeter") -> None:
        self.tensor, self.meter = tensor, meter
        self.nbytes = tensor.numel() * tensor.element_size()
        meter.held += self.nbytes
        meter.peak = max(meter.peak, meter.held)

    def __del__(self) -> None:
        self.meter.held -= self.nbytes


class SavedTensorMeter(torch.autograd.graph.saved_tensors_hooks):
    """Context manager: ``with SavedTensorMeter() as m: ...``; then ``m.peak`` (bytes)."""

    def __init__(self) -> None:
        self.held = 0
        self.peak = 0
        super().__init__(lambda t: _Held(t, self), lambda held: held.tensor)

    def __enter__(self) -> "SavedTensorMeter":
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
