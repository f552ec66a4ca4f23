"""How well the target's mechanism predicts: in-sample predictions per row and a held-out error by a time split.

The target's mechanism (same kind as fitted) is refitted on the earlier periods and scored on the later ones
(the last ``test_fraction`` of the periods; of the rows, in their order, without a time column): R^2 and the mean
absolute percentage error of the held-out rows. The predictions per row use the model as fitted on every row,
from each row's observed parents (what the model says the target should have been that day).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .result import EngineResult, HoldoutFacts
from .scm import FittedSCM


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else float("nan")


def time_split_fit(scm: FittedSCM, target: Any, *, test_fraction: float = 0.2) -> EngineResult[HoldoutFacts]:
    """Table (one row per data row, in the data's order): ``actual``, ``predicted`` (the fitted mechanism on the
    row's parents), ``period`` (the row's period code, or its position) and ``held_out`` (the row is in the test
    part); facts: the held-out R^2 and mean absolute percentage error of the mechanism refitted on the rest."""
    start = time.perf_counter()
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    if target not in scm.mechanisms or not scm.parents.get(target):
        raise ValueError(f"target {target!r} has no parents in the fitted SCM: there is no mechanism to score")
    parents = scm.parents[target]
    X = scm.data[parents].to_numpy(dtype=float)
    y = scm.data[target].to_numpy(dtype=float)
    period = scm.periods if scm.periods is not None else np.arange(len(y))
    cut = np.quantile(np.unique(period), 1 - test_fraction)
    test = period > cut
    if test.sum() < 2 or (~test).sum() < 2:
        raise ValueError(f"too few rows for a time split of {target!r} ({len(y)} rows): fit on more periods")
    mech = scm.mechanisms[target].clone().fit(X[~test], y[~test])
    held = mech.predict(X[test])
    nonzero = y[test] != 0
    mape = (
        float(np.mean(np.abs((y[test][nonzero] - held[nonzero]) / y[test][nonzero]))) * 100 if nonzero.any() else None
    )
    table = pd.DataFrame({"period": period, "actual": y, "predicted": scm.predict(target, X), "held_out": test})
    facts = HoldoutFacts(
        method=scm.mechanisms[target].kind,
        target=str(target),
        n_rows=len(y),
        seed=scm.seed,
        n_periods=scm.n_periods,
        seconds=time.perf_counter() - start,
        holdout_r2=_r2(y[test], held),
        holdout_mape=mape,
        in_sample_r2=_r2(y, table["predicted"].to_numpy()),
        n_train=int((~test).sum()),
        n_test=int(test.sum()),
        test_fraction=test_fraction,
    )
    return EngineResult(table, facts)
