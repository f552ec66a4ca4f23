"""Compute for partitioned ICI assets: a plain worker function and the pools that run it."""

from ici_assets.compute.pools import DaskPool, InlinePool, LocalProcessPool, Pool
from ici_assets.compute.worker import FitOutcome, FitSettings, fit_slice

__all__ = ["DaskPool", "FitOutcome", "FitSettings", "InlinePool", "LocalProcessPool", "Pool", "fit_slice"]
