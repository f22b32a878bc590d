"""Compiler passes: fold -> quantize (with range analysis) -> time-step map -> place."""

from ttfs_deploy.compile.fold import fold_model
from ttfs_deploy.compile.quantize import quantize_network
from ttfs_deploy.compile.placement import place
from ttfs_deploy.compile.pipeline import compile_model, CompileReport

__all__ = ["fold_model", "quantize_network", "place", "compile_model", "CompileReport"]
