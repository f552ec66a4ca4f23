"""Compute for partitioned ICI assets: a plain worker function and the pools that run it."""

from ici_assets.compute.pools import POOL_KINDS, DaskPool, InlinePool, LocalProcessPool, Pool, PoolSettings
from ici_assets.compute.worker import ChangeOutcome, FitOutcome, FitSettings, change_slice, fit_slice

__all__ = [
    "ChangeOutcome",
    "DaskPool",
    "FitOutcome",
    "FitSettings",
    "InlinePool",
    "LocalProcessPool",
    "POOL_KINDS",
    "Pool",
    "PoolSettings",
    "change_slice",
    "fit_slice",
]
