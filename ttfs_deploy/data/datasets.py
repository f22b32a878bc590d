"""Datasets as float32 images in [0, 1], channel-first ``(N, C, H, W)``, with int64 labels.

Sources:

* ``digits``: scikit-learn's 8x8 digits (1,797 images, shipped with scikit-learn). Fixed split:
  a stratified 75 / 25 split with seed 0 (1,347 train, 450 test).
* ``fashion-mnist`` / ``mnist``: the standard IDX files (``train-images-idx3-ubyte[.gz]`` ...),
  looked up in ``--data-dir``, then ``$TTFS_DATA_DIR/<name>``, then
  ``/usr/share/datasets/<name>`` (Debian's ``dataset-fashion-mnist`` package).
* ``FILE.npz``: arrays ``x_train, y_train, x_test, y_test``; images ``(N, H, W)`` or
  ``(N, C, H, W)``, integers are scaled by their maximum to [0, 1].

Every loader checks what it read (:func:`checked`): at least one sample, as many labels as
images, finite pixels in [0, 1], integer labels >= 0. ``.npz`` members are checked from their
headers (numeric dtype, size) before they are loaded; pickled (object) arrays are refused.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from ttfs_deploy.errors import TTFSError

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MAX_VALUES = 2 ** 28  #: largest array (elements) a data file may hold (Fashion-MNIST train: 47 M)
SYSTEM_DIRS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist", "mnist": "/usr/share/datasets/mnist"}


@dataclass
class Dataset:
    """Images ``x`` (float32 in [0, 1], ``(N, C, H, W)``) and labels ``y`` (int64)."""

    name: str
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @property
    def input_shape(self) -> Tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def head(self, n: Optional[int]) -> "Dataset":
        """The first ``n`` samples (all when ``n`` is None)."""
        if n is None:
            return self
        return Dataset(self.name, self.x[:n], self.y[:n])


def load_dataset(name: str, split: str = "train", data_dir: Optional[str] = None) -> Dataset:
    """Load ``split`` (``train`` or ``test``) of ``name`` (digits, fashion-mnist, mnist, FILE.npz)."""
    if split not in ("train", "test"):
        raise TTFSError(f"unknown split {split!r}", "use 'train' or 'test'")
    if name == "digits":
        return _digits(split)
    if name in ("fashion-mnist", "mnist"):
        return _idx(name, split, data_dir)
    if name.endswith(".npz"):
        return _npz(name, split)
    raise TTFSError(f"unknown data set {name!r}", "use digits, fashion-mnist, mnist or a FILE.npz")


def checked(name: str, x: np.ndarray, y: np.ndarray) -> Dataset:
    """The data set ``name`` after checking shapes, pixel range and labels (one-line errors)."""
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or y.ndim != 1:
        raise TTFSError(f"{name}: images must be (N, H, W) or (N, C, H, W) and labels (N,), got {x.shape} and {y.shape}",
                        "save arrays of those shapes")
    if len(x) != len(y) or len(y) == 0:
        raise TTFSError(f"{name}: {len(x)} images and {len(y)} labels", "give one label per image, at least one sample")
    if min(x.shape[1:]) < 1:
        raise TTFSError(f"{name}: empty images {x.shape[1:]}", "save images with pixels")
    if np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.bool_):
        if x.min() < 0:
            raise TTFSError(f"{name}: negative integer pixels", "use non-negative intensities")
        x = x.astype(np.float32) / max(1, int(x.max()))
    x = x.astype(np.float32)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise TTFSError(f"{name}: pixel values must be finite and in [0, 1] (float) or non-negative integers",
                        "rescale the images")
    if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all()
                                                   and (y == np.round(y)).all())):
        raise TTFSError(f"{name}: labels must be integers", "store class indices 0..n_classes-1")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise TTFSError(f"{name}: negative label {int(y.min())}", "store class indices 0..n_classes-1")
    return Dataset(name, x, y)


def class_count(*splits: Dataset) -> int:
    """Number of classes of a data set: ``max label + 1``, every class 0..n-1 present in some split."""
    labels = np.unique(np.concatenate([d.y for d in splits]))
    n = int(labels[-1]) + 1
    if len(labels) != n or n < 2:
        missing = sorted(set(range(n)) - set(labels.tolist()))
        raise TTFSError(f"labels must be the classes 0..n_classes-1, each present, with n_classes >= 2; labels go "
                        f"up to {n - 1} but {len(missing)} classes are missing (e.g. {missing[:3]})",
                        "renumber the classes 0..n_classes-1")
    return n


def _digits(split: str) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return Dataset("digits", *((x_tr, y_tr) if split == "train" else (x_te, y_te)))


def _find_idx_dir(name: str, data_dir: Optional[str]) -> Path:
    candidates = []
    if data_dir:
        candidates += [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("TTFS_DATA_DIR"):
        candidates += [Path(os.environ["TTFS_DATA_DIR"]) / name, Path(os.environ["TTFS_DATA_DIR"])]
    candidates.append(Path(SYSTEM_DIRS[name]))
    for directory in candidates:
        if _idx_path(directory, IDX_FILES["test"][0]) is not None:
            return directory
    fix = ("run `apt-get install dataset-fashion-mnist` or pass --data-dir with the IDX files"
           if name == "fashion-mnist" else "pass --data-dir DIR holding the standard MNIST IDX files")
    where = ", ".join(str(c) for c in candidates)
    raise TTFSError(f"{name} IDX files not found (looked in {where})", fix)


def _idx_path(directory: Path, stem: str) -> Optional[Path]:
    for candidate in (directory / stem, directory / (stem + ".gz"),
                      directory / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read(16 + MAX_VALUES + 1)
    except (OSError, EOFError, zlib.error) as err:
        raise TTFSError(f"{path} is corrupt or truncated ({type(err).__name__}: {str(err)[:80]})",
                        "download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise TTFSError(f"{path} is not an unsigned-byte IDX file", "check the download")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset, expected = 4 + 4 * ndim, int(np.prod(dims))
    if len(raw) - offset != expected:
        raise TTFSError(f"{path} is truncated or oversized ({max(0, len(raw) - offset)} of {expected} values)",
                        "download it again")
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    return data.reshape(dims)


def _idx(name: str, split: str, data_dir: Optional[str]) -> Dataset:
    directory = _find_idx_dir(name, data_dir)
    images_stem, labels_stem = IDX_FILES[split]
    images_path, labels_path = _idx_path(directory, images_stem), _idx_path(directory, labels_stem)
    if images_path is None or labels_path is None:
        raise TTFSError(f"{name} {split} split missing in {directory}", "add the IDX files of that split")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise TTFSError(f"{images_path} / {labels_path}: expected (N, H, W) images and (N,) labels, got "
                        f"{images.shape} and {labels.shape}", "download the files again")
    return checked(name, images.astype(np.float32) / 255.0, labels)


def _npz(path: str, split: str) -> Dataset:
    if not Path(path).is_file():
        raise TTFSError(f"data file {path} not found", "check the path")
    keys = (f"x_{split}", f"y_{split}")
    try:
        _check_npz_headers(path, keys)
        with np.load(path, allow_pickle=False) as archive:
            x, y = archive[keys[0]], archive[keys[1]]
    except TTFSError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as err:
        raise TTFSError(f"{path} is not a readable .npz file ({type(err).__name__}: {str(err)[:80]})",
                        "save it with numpy.savez") from None
    return checked(Path(path).stem, x, y)


def _check_npz_headers(path: str, keys: Tuple[str, str]) -> None:
    """Read the ``.npy`` headers of ``keys`` in the archive: both present, numeric, not too large."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        missing = [k for k in keys if f"{k}.npy" not in names]
        if missing:
            raise TTFSError(f"{path} lacks arrays {missing}", "save x_train, y_train, x_test, y_test")
        for key in keys:
            with archive.open(f"{key}.npy") as fh:
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
            if dtype.hasobject or not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)) \
                    or np.issubdtype(dtype, np.complexfloating):
                raise TTFSError(f"{path}: {key} has dtype {dtype}, not real numbers", "save numeric arrays")
            if int(np.prod(shape, dtype=object)) > MAX_VALUES:
                raise TTFSError(f"{path}: {key} has shape {shape}, more than {MAX_VALUES:,} values",
                                "use a smaller data set")
