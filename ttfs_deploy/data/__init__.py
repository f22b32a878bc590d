"""Datasets (digits embedded; Fashion-MNIST / MNIST IDX; .npz) and spike encoders."""

from ttfs_deploy.data.datasets import Dataset, load_dataset
from ttfs_deploy.data.encoders import encode, ENCODERS

__all__ = ["Dataset", "load_dataset", "encode", "ENCODERS"]
