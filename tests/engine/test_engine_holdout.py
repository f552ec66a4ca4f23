"""time_split_fit: the target mechanism's held-out error by a time split, against a known linear truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import fit_scm, time_split_fit
from ici_assets.engine.cases import ARTICLE


def test_held_out_r2_of_the_true_model_and_a_broken_one() -> None:
    df = ARTICLE.simulate(4_000, 0)
    df["day"] = pd.date_range("2024-01-01", periods=len(df), freq="D")
    scm = fit_scm(df, ARTICLE.edges, mechanisms="linear", time_column="day")
    result = time_split_fit(scm, "revenue", test_fraction=0.25)
    facts, table = result.facts, result.table
    # revenue = organic + social clicks + N(0, 2000): R^2 = 1 - 2000^2 / Var(revenue), about 0.9999
    truth = 1 - 2000.0**2 / df["revenue"].var()
    assert facts.holdout_r2 == pytest.approx(truth, abs=2e-4) and facts.in_sample_r2 == pytest.approx(truth, abs=2e-4)
    assert facts.n_test == pytest.approx(1000, abs=1) and facts.n_train + facts.n_test == 4000
    assert table["held_out"].to_numpy()[-1] and not table["held_out"].to_numpy()[0]  # the later periods held out
    np.testing.assert_allclose(table["actual"], df["revenue"])
    # a regime change in the held-out quarter: the later periods' revenue shifts, the fit on the first 3/4 misses
    shifted = df.copy()
    shifted.loc[3000:, "revenue"] += 3 * df["revenue"].std()
    bad = time_split_fit(
        fit_scm(shifted, ARTICLE.edges, mechanisms="linear", time_column="day"), "revenue", test_fraction=0.25
    )
    assert bad.facts.holdout_r2 < 0.5 < facts.holdout_r2


def test_refuses_a_root_and_a_bad_fraction() -> None:
    scm = fit_scm(ARTICLE.simulate(300, 0), ARTICLE.edges, mechanisms="linear")
    with pytest.raises(ValueError, match="demand"):
        time_split_fit(scm, "demand")
    with pytest.raises(ValueError, match="test_fraction"):
        time_split_fit(scm, "revenue", test_fraction=1.5)
