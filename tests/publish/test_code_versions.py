"""Code versions: everything that changes a fitted model marks the SCM and every asset built on it stale."""

from __future__ import annotations

from ici_assets.publish.versions import scm_code_version, shares_code_version
from ici_assets.spec.meta import ModelMeta
from ici_assets.spec.model import IciSpec


def spec(**meta) -> IciSpec:
    base = {"target": "y", "time_column": "date", "time_grain": "day"}
    return IciSpec(model="m", unique_id="model.p.m", parents={"x": (), "y": ("x",)}, meta=ModelMeta(**{**base, **meta}))


def test_time_grain_and_time_column_change_the_scm_code_version():
    """The mechanism choice folds the rows by runs of periods: a new grain or time column is a new model
    (issue 20, bug 2: these were only in the shares' version, so the SCM and the decision assets stayed fresh)."""
    day = spec()
    assert scm_code_version(spec(time_grain="week")) != scm_code_version(day)
    assert scm_code_version(spec(time_column="week_start")) != scm_code_version(day)
    assert scm_code_version(spec()) == scm_code_version(day)  # stable


def test_decision_versions_follow_the_scm_version():
    from ici_assets.publish.decision_rows import decision_code_version

    decisions = {"spend_nodes": ["x"]}
    day, week = spec(decisions=decisions), spec(time_grain="week", decisions=decisions)
    for kind in ("spend_response", "budget", "change_attribution"):
        assert decision_code_version(day, kind) != decision_code_version(week, kind), kind


def test_shares_version_follows_the_scm_version_and_bootstrap():
    assert shares_code_version(spec(time_grain="week")) != shares_code_version(spec())
    assert shares_code_version(spec(n_bootstrap=50)) != shares_code_version(spec())
    assert shares_code_version(spec(), extra="2024-01") != shares_code_version(spec())


def test_anomalies_version_follows_the_scm_version_and_its_block():
    from ici_assets.publish.anomalies import anomalies_code_version

    day, week = spec(anomalies={"periods": 7}), spec(time_grain="week", anomalies={"periods": 7})
    assert anomalies_code_version(day) != anomalies_code_version(week)
    assert anomalies_code_version(day) != anomalies_code_version(spec(anomalies={"periods": 14}))
    assert anomalies_code_version(day) != anomalies_code_version(spec(anomalies={"periods": 7, "threshold": 5.0}))
    assert anomalies_code_version(day) == anomalies_code_version(spec(anomalies={"periods": 7}))
