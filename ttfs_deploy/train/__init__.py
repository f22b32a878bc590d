"""Training (BPTT, the ETTFS recipe, and OTTT, online through time) and evaluation of TTFS networks."""

from ttfs_deploy.train.config import TrainConfig
from ttfs_deploy.train.evaluate import evaluate
from ttfs_deploy.train.loop import train

__all__ = ["TrainConfig", "train", "evaluate"]
