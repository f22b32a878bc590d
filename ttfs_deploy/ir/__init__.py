"""Network representations shared by the compiler and the backends, and their NIR files."""

from ttfs_deploy.ir.network import FloatLayer, FloatNetwork, IntLayer, IntNetwork

__all__ = ["FloatLayer", "FloatNetwork", "IntLayer", "IntNetwork"]
