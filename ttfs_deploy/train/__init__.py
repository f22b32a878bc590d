"""Training (BPTT, the ETTFS recipe) and evaluation of TTFS networks."""

from ttfs_deploy.train.bptt import TrainConfig, train
from ttfs_deploy.train.evaluate import evaluate

__all__ = ["TrainConfig", "train", "evaluate"]
