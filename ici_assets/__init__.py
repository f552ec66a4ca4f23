"""ici-assets: intrinsic causal influence of the nodes of a causal graph declared in dbt YAML, as Dagster assets.

``ici_assets.IciDbtProjectComponent`` (the dg component) and ``ici_assets.build_definitions`` are loaded on
first use, so importing the engine (``ici_assets.engine``) or a compute worker loads no Dagster.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IciDbtProjectComponent", "build_definitions"]


def __getattr__(name: str) -> Any:
    if name == "IciDbtProjectComponent":
        from ici_assets.component.project import IciDbtProjectComponent

        return IciDbtProjectComponent
    if name == "build_definitions":
        from ici_assets.component.build import build_definitions

        return build_definitions
    raise AttributeError(f"module 'ici_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
