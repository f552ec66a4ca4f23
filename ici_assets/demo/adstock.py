"""The demo's TV carryover, with one home: the dbt vars ``tv_adstock_decay`` and ``tv_adstock_max_lag``.

The ``marketing_nodes`` mart rebuilds the ``tv_adstock`` node from daily spend with these vars
(macro ``adstock``), and the demo generator reads the same vars from the dbt project it feeds,
so the two cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ici_assets.demo.paths import demo_dbt_project

DECAY_VAR, MAX_LAG_VAR = "tv_adstock_decay", "tv_adstock_max_lag"


def adstock_settings(project_dir: str | Path | None = None) -> tuple[float, int]:
    """(decay, max_lag) from the ``vars`` of ``<project_dir>/dbt_project.yml`` (default: the demo's dbt project);
    (0, 0) if it sets neither."""
    path = Path(project_dir if project_dir is not None else demo_dbt_project()) / "dbt_project.yml"
    try:
        variables = (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
    except OSError as exc:
        raise FileNotFoundError(
            f"{path} not found: the demo generator reads its TV carryover ({DECAY_VAR}, {MAX_LAG_VAR}) from "
            "the dbt project's vars. Pass tv_adstock_decay and tv_adstock_max_lag explicitly."
        ) from exc
    decay, max_lag = variables.get(DECAY_VAR, 0.0), variables.get(MAX_LAG_VAR, 0)
    if not isinstance(decay, (int, float)) or not isinstance(max_lag, int) or isinstance(max_lag, bool):
        raise ValueError(f"{path}: vars {DECAY_VAR} must be a number and {MAX_LAG_VAR} an integer.")
    adstock_weights(float(decay), max_lag)  # validates
    return float(decay), max_lag


def adstock_weights(decay: float, max_lag: int) -> np.ndarray:
    """Geometric carryover weights w_0..w_L, normalised to sum to 1 (keeps the mean).

    Computed with plain Python floats in the order the dbt macro ``adstock`` uses (powers,
    a left-to-right sum, one division each), so both give bit-identical weights. No carryover
    (``decay == 0`` or ``max_lag == 0``) is the single weight 1.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"tv_adstock_decay must be in [0, 1), got {decay}")
    if max_lag < 0:
        raise ValueError(f"tv_adstock_max_lag must be >= 0, got {max_lag}")
    if decay == 0.0 or max_lag == 0:
        return np.ones(1)
    powers = [float(decay) ** lag for lag in range(int(max_lag) + 1)]
    total = 0.0
    for p in powers:
        total = total + p
    return np.array([p / total for p in powers])


def carryover(decay: float | None = None, max_lag: int | None = None) -> tuple[float, int]:
    """(decay, max_lag) with what is not given taken from the demo's dbt vars."""
    if decay is None or max_lag is None:
        demo_decay, demo_lag = adstock_settings()
        return (demo_decay if decay is None else decay), (demo_lag if max_lag is None else max_lag)
    return decay, max_lag


def __getattr__(name: str) -> float | int:
    """``TV_ADSTOCK_DECAY`` and ``TV_ADSTOCK_MAX_LAG``: the demo's carryover (0.6 over 7 days in its
    dbt_project.yml), read on first use so that importing the demo needs no clone."""
    if name == "TV_ADSTOCK_DECAY":
        return adstock_settings()[0]
    if name == "TV_ADSTOCK_MAX_LAG":
        return adstock_settings()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
