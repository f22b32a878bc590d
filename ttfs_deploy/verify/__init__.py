"""Spike-time equivalence across torch (integer mode), the event simulator and Lava."""

from ttfs_deploy.verify.compare import VerifyReport, compare_layers, verify_network

__all__ = ["VerifyReport", "compare_layers", "verify_network"]
