"""The demo's code location (``workspace.yaml``): the definitions of :mod:`ici_assets.demo.location`."""

from ici_assets.demo.location import defs

__all__ = ["defs"]
