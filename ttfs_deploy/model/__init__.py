"""The TTFS network in torch: fire-once IF neurons, normalized layers, architectures, decoders."""

from ttfs_deploy.model.arch import LayerSpec, parse_spec
from ttfs_deploy.model.network import TTFSNet, ModelConfig
from ttfs_deploy.model.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["LayerSpec", "parse_spec", "TTFSNet", "ModelConfig", "load_checkpoint", "save_checkpoint"]
