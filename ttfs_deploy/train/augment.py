"""Training-time augmentation: image translation, mirroring and input spike-time jitter."""

from __future__ import annotations

import numpy as np


def random_shift(x: np.ndarray, max_shift: int, seed: int) -> np.ndarray:
    """Translate each image (N, C, H, W) by up to ``max_shift`` pixels, zero fill (augmentation)."""
    if max_shift <= 0:
        return x
    rng = np.random.default_rng(seed)
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(x: np.ndarray, flip: bool, seed: int) -> np.ndarray:
    """Mirror a random half of the images (N, C, H, W) left to right (augmentation); ``seed`` draws
    from its own stream, independent of :func:`random_shift`'s."""
    if not flip:
        return x
    mirrored = np.random.default_rng([seed, 1]).random(len(x)) < 0.5
    return np.where(mirrored[:, None, None, None], x[..., ::-1], x)


def jitter_times(times: np.ndarray, jitter: int, T: int, seed: int) -> np.ndarray:
    """Move each input spike by a random integer step in [-jitter, jitter] (kept in 0..T-1)."""
    if jitter <= 0:
        return times
    rng = np.random.default_rng(seed)
    moved = np.clip(times + rng.integers(-jitter, jitter + 1, size=times.shape), 0, T - 1)
    return np.where(times < 0, times, moved)
