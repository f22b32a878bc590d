"""Architecture spec strings, e.g. ``32C3-AP2-64C3-AP2-FC256-FC10``.

Tokens (separated by ``-``):

* ``<n>C<k>`` or ``<n>C<k>S<s>``: conv with n output channels, k x k kernel, stride s (default 1),
  zero padding ``k // 2``, followed by a fire-once IF layer;
* ``AP<k>`` / ``MP<k>``: average / max pooling, window and stride k (max exists only for the
  ablation: the compiler refuses it);
* ``FC<n>``: fully connected layer of n fire-once neurons (flattens a conv input, C-order).

The last token must be a ``FC`` whose size is the number of classes (added when missing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

from ttfs_deploy.errors import TTFSError

_TOKEN = re.compile(r"^(?:(?P<c>\d+)C(?P<k>\d+)(?:S(?P<s>\d+))?|(?P<pool>AP|MP)(?P<pk>\d+)|FC(?P<fc>\d+))$")


MAX_WIDTH = 65536   #: most channels or neurons per layer a spec may ask for
MAX_KERNEL = 32     #: largest kernel, stride and pooling window


@dataclass(frozen=True)
class LayerSpec:
    """One token: ``kind`` in {conv, fc, avgpool, maxpool}; ``size`` channels/neurons/window."""

    kind: str
    size: int
    kernel: int = 0
    stride: int = 1


def parse_spec(spec: str, n_classes: int) -> List[LayerSpec]:
    """Parse ``spec``; append ``FC<n_classes>`` when the last token is not that layer."""
    layers: List[LayerSpec] = []
    for token in filter(None, spec.strip().upper().split("-")):
        m = _TOKEN.match(token)
        if m is None:
            raise TTFSError(f"bad architecture token {token[:20]!r} in {spec[:60]!r}",
                            "use tokens like 32C3, 32C3S2, AP2, FC256 joined by '-'")
        if m.group("c"):
            layers.append(LayerSpec("conv", int(m.group("c")), int(m.group("k")), int(m.group("s") or 1)))
        elif m.group("pool"):
            kind = "avgpool" if m.group("pool") == "AP" else "maxpool"
            layers.append(LayerSpec(kind, int(m.group("pk")), int(m.group("pk")), int(m.group("pk"))))
        else:
            layers.append(LayerSpec("fc", int(m.group("fc"))))
    if not layers or layers[-1] != LayerSpec("fc", n_classes):
        layers.append(LayerSpec("fc", n_classes))
    for before, after in zip(layers, layers[1:] + [None]):
        if before.kind in ("avgpool", "maxpool") and (after is None or after.kind not in ("conv", "fc")):
            raise TTFSError(f"pooling in {spec!r} must be followed by a conv or FC layer",
                            "put a weight layer after every pooling token")
    if any(s.size <= 0 for s in layers):
        raise TTFSError(f"zero-sized layer in {spec!r}", "use positive sizes")
    if any(s.size > MAX_WIDTH or s.kernel > MAX_KERNEL or not 1 <= s.stride <= MAX_KERNEL
           or (s.kind == "conv" and s.kernel < 1) for s in layers):
        raise TTFSError(f"a layer of {spec!r} is too large (at most {MAX_WIDTH} channels or neurons, "
                        f"kernels and strides 1..{MAX_KERNEL})", "use smaller layers")
    return layers
