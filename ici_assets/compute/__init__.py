"""Compute for partitioned ICI assets: a plain worker function and the pools that run it."""

from ici_assets.compute.pools import DaskPool, InlinePool, LocalProcessPool, Pool
from ici_assets.compute.worker import ChangeOutcome, FitOutcome, FitSettings, change_slice, fit_slice

__all__ = [
    "ChangeOutcome",
    "DaskPool",
    "FitOutcome",
    "FitSettings",
    "InlinePool",
    "LocalProcessPool",
    "Pool",
    "change_slice",
    "fit_slice",
]
