"""The decisions meta block and the generated sentence of the change attribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from ici_assets.publish.decision_charts import change_sentence
from ici_assets.spec.decisions import DecisionsMeta


def test_decisions_meta_defaults_and_levels() -> None:
    meta = DecisionsMeta.model_validate({"spend_nodes": ["tv_spend", "social_spend"]})
    assert meta.change_attribution is None and meta.budget is not None and meta.budget.total == "current"
    values = np.arange(1.0, 102.0)  # 1..101: 5th percentile 6, 95th 96
    assert meta.levels_for("tv_spend", values) == pytest.approx(np.linspace(6.0, 96.0, 9))
    per_node = DecisionsMeta.model_validate({"spend_nodes": ["tv_spend"], "levels": {"tv_spend": [30, 10, 20]}})
    assert per_node.levels_for("tv_spend", values) == [10, 20, 30]


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"spend_nodes": ["tv"], "level": 5}, "level\n  Extra inputs are not permitted"),
        ({"spend_nodes": []}, "spend_nodes\n  List should have at least 1 item"),
        ({"spend_nodes": ["tv", "tv"]}, "repeat a node"),
        ({"spend_nodes": ["tv"], "levels": 1}, "too few for a curve"),
        ({"spend_nodes": ["tv"], "levels": {"radio": [1, 2]}}, "levels given for \\['radio'\\]"),
        ({"spend_nodes": ["tv"], "budget": {"bounds": {"radio": [0, 1]}}}, "budget bounds given for \\['radio'\\]"),
        ({"spend_nodes": ["tv"], "budget": {"totl": 5}}, "totl\n  Extra inputs are not permitted"),
        ({"spend_nodes": ["tv"], "change_attribution": {"start": "2024-02"}}, "YYYY-MM-01"),
    ],
)
def test_decisions_meta_rejects_bad_blocks(meta: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DecisionsMeta.model_validate(meta)


def test_decisions_meta_checks_the_model() -> None:
    meta = DecisionsMeta.model_validate({"spend_nodes": ["tv_spend", "store_visits"]})
    with pytest.raises(ValueError, match="spend node 'store_visits' is not a node of the graph"):
        meta.check_model(["tv_spend", "revenue"], {"tv_spend"}, "date")
    meta = DecisionsMeta.model_validate({"spend_nodes": ["tv_spend"]})
    with pytest.raises(ValueError, match="'tv_spend' is not an ancestor of the target"):
        meta.check_model(["tv_spend", "revenue"], set(), "date")
    meta = DecisionsMeta.model_validate({"spend_nodes": ["tv_spend"], "change_attribution": {"start": "2024-02-01"}})
    with pytest.raises(ValueError, match="needs meta.ici.time_column"):
        meta.check_model(["tv_spend", "revenue"], {"tv_spend"}, None)


def test_change_sentence_in_points_of_the_baseline() -> None:
    table = pd.DataFrame(
        {
            "node": ["demand", "social_clicks", "tv_spend", "revenue"],
            "part": ["distribution", "mechanism", "distribution", "mechanism"],
            "contribution": [-32.0, -10.0, 0.5, 0.5],
            "old_mean": 1000.0,
            "observed_change": -41.0,
        }
    )
    sentence = change_sentence(table, target="revenue", period="2025-03", baseline="2025-02", top=2)
    assert sentence == (
        "Revenue fell 4.1 % in 2025-03 against 2025-02: demand -3.2 points, the social_clicks mechanism -1.0 point, "
        "the other 2 nodes +0.1 together."
    )


def test_decisions_block_is_as_strict_as_the_ici_meta():
    """No silent coercion (a quoted number is refused, as in the `ici` meta); YAML lists of bounds are pairs."""
    from pydantic import ValidationError

    from ici_assets.spec.decisions import DEFAULT_LEVELS, DecisionsMeta

    with pytest.raises(ValidationError, match="levels"):
        DecisionsMeta.model_validate({"spend_nodes": ["tv_spend"], "levels": "9"})
    with pytest.raises(ValidationError, match="n_bootstrap"):
        DecisionsMeta.model_validate({"spend_nodes": ["tv_spend"], "n_bootstrap": "50"})
    meta = DecisionsMeta.model_validate({"spend_nodes": ["tv_spend"], "budget": {"bounds": {"tv_spend": [20, None]}}})
    assert meta.budget is not None and meta.budget.bounds == {"tv_spend": (20.0, None)}
    assert meta.levels == DEFAULT_LEVELS == 9


@pytest.mark.parametrize(
    "budget, message",
    [
        ({"max_change": -0.1}, "max_change -0.1 must not be negative"),
        ({"max_change": {"tv": 0.2, "social": -1}}, "must not be negative"),
        ({"max_change": {"radio": 0.2}}, "budget max_change given for \\['radio'\\], which are not in spend_nodes"),
        ({"max_change": "20%"}, "max_change"),
        ({"fixed": ["radio"]}, "budget fixed given for \\['radio'\\]"),
        ({"fixed": ["tv", "tv"]}, "fixed \\['tv', 'tv'\\] repeats a node"),
        ({"fixed": ["tv", "social"]}, "fixed holds every spend node"),
        ({"fixed": ["tv"], "bounds": {"tv": [0, 5]}}, "\\['tv'\\] are fixed and also given bounds"),
        ({"fixed": ["tv"], "max_change": {"tv": 0.1}}, "\\['tv'\\] are fixed and also given max_change"),
        ({"target_marginal_return": 0}, "target_marginal_return 0.0 must be positive"),
        ({"target_marginal_return": 1.5, "total": 100.0}, "total \\(100.0\\) and target_marginal_return \\(1.5\\) are"),
        ({"target_marginal_return": 1.5, "total": "current"}, "are exclusive: the target mode chooses the total"),
    ],
)
def test_budget_constraints_are_validated(budget: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DecisionsMeta.model_validate({"spend_nodes": ["tv", "social"], "budget": budget})


def test_budget_constraints_parse_and_reach_the_engine() -> None:
    meta = DecisionsMeta.model_validate(
        {"spend_nodes": ["tv", "social"], "budget": {"max_change": 0.2, "fixed": ["social"]}}
    )
    assert meta.budget is not None and meta.budget.total == "current"
    assert meta.budget.constraints() == {
        "bounds": {},
        "max_change": 0.2,
        "fixed": ["social"],
        "target_marginal_return": None,
        "move_not_identified": False,
    }
    opted = DecisionsMeta.model_validate({"spend_nodes": ["tv"], "budget": {"move_not_identified": True}})
    assert opted.budget is not None and opted.budget.constraints()["move_not_identified"] is True
    target = DecisionsMeta.model_validate(
        {"spend_nodes": ["tv"], "budget": {"target_marginal_return": 2, "max_change": {"tv": 0.5}}}
    )
    assert target.budget is not None and target.budget.constraints()["target_marginal_return"] == 2


def test_a_bad_budget_constraint_names_the_model_and_the_key() -> None:
    from ici_assets.spec.parse import IciMetaError, parse_model_spec
    from tests.spec.test_meta import model

    decisions = {"spend_nodes": ["a"], "budget": {"total": 10.0, "target_marginal_return": 1.5}}
    with pytest.raises(IciMetaError) as err:
        parse_model_spec(model({"target": "y", "decisions": decisions}))
    message = str(err.value)
    assert "dbt model 'weekly_nodes'" in message and "meta.ici.decisions.budget total (10.0) and" in message
