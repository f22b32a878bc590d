"""Per-data-set training recipes: what ``ttfs-deploy train --data NAME`` uses for every option not given.

A recipe is the exact set of options that made a shipped model, so that
``ttfs-deploy train --data fashion-mnist -o m.pt`` reproduces ``examples/models/fashion_mnist.pt``
(the commands and per-epoch logs are in examples/README.md and docs/BENCHMARKS.md). Options given
on the command line override single fields. Units: ``T`` in time steps, ``jitter`` in time steps,
``augment_shift`` in pixels (``augment_flip`` mirrors a random half of the images), ``lr`` per Adam
step, ``average_last`` in epochs; ``init_gain`` sets Var(W) = gain * T / fan_in.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class Recipe:
    """Model and schedule options of one data set's reference run."""

    arch: str
    T: int
    encoder: str
    init_gain: float
    dropout: float
    jitter: int
    augment_shift: int
    epochs: int
    qat_epochs: int
    augment_flip: bool = False
    average_last: int = 0
    batch_size: int = 64
    lr: float = 2e-3
    logit_scale: float = 20.0

    def model_options(self) -> Dict[str, Any]:
        """The :class:`~ttfs_deploy.model.network.ModelConfig` fields this recipe fixes."""
        return {k: getattr(self, k) for k in ("arch", "T", "encoder", "init_gain", "dropout", "logit_scale")}

    def train_options(self) -> Dict[str, Any]:
        """The :class:`~ttfs_deploy.train.bptt.TrainConfig` fields this recipe fixes."""
        return {k: getattr(self, k) for k in ("epochs", "batch_size", "lr", "jitter", "augment_shift", "augment_flip",
                                             "qat_epochs", "average_last")}


#: Fashion-MNIST: the shipped ``examples/models/fashion_mnist.pt`` (0.9303 float, 0.9307 compiled for
#: loihi2). conv2 has 32 channels, so the pool-folded dense layer's fan-in (32 x 14 x 14 = 6,272) is
#: split over two relay groups (loihi2 only); fc3 has 512 neurons (+0.1 point over 256 at the end,
#: +0.4 on average over the schedule); T = 4 trained as well as T = 8 at half the cost; ``direct``
#: input (conv1 on the host) won over spike codes (docs/BENCHMARKS.md).
FASHION_MNIST = Recipe(arch="16C5-AP2-32C5-AP2-FC512-FC10", T=4, encoder="direct", init_gain=0.5, dropout=0.1,
                       jitter=0, augment_shift=1, epochs=56, qat_epochs=2)

RECIPES: Dict[str, Recipe] = {
    # the demo's and the shipped examples/models/digits.pt (0.9689): onoff keeps the whole network on the chip
    "digits": Recipe(arch="FC256-FC10", T=16, encoder="onoff", init_gain=0.01, dropout=0.2, jitter=1,
                     augment_shift=0, epochs=60, qat_epochs=10),
    "fashion-mnist": FASHION_MNIST,
    # MNIST is not available on the machines this project was measured on: it follows Fashion-MNIST, unmeasured
    "mnist": FASHION_MNIST,
}

#: Any other data set (FILE.npz): a small dense network with a spike code, no measured recipe.
GENERIC = Recipe(arch="FC256-FC10", T=16, encoder="latency", init_gain=0.02, dropout=0.2, jitter=1,
                 augment_shift=0, epochs=30, qat_epochs=0)


def recipe_for(data_name: str, **given: Optional[Any]) -> Recipe:
    """``data_name``'s recipe with every field in ``given`` that is not None replacing the recipe's."""
    known = {f.name for f in fields(Recipe)}
    unknown = set(given) - known
    if unknown:
        raise ValueError(f"not recipe fields: {sorted(unknown)}")
    return replace(RECIPES.get(data_name, GENERIC), **{k: v for k, v in given.items() if v is not None})

