"""What the SCM asset says about trusting its graph, on generators with a known answer (no dbt, no Dagster run):
the graph check's metadata names the contradicted statements and ranks the missing edge first; the SCM metadata
carries the same list and one sensitivity sentence per channel; ``ici.sensitivity`` covers every spend edge."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ici_assets.assets.nodes import fit_model
from ici_assets.assets.trust import graph_trust, trust_description, trust_metadata
from ici_assets.checks.ici import graph_check
from ici_assets.engine.confoundcases import (
    CONFOUNDED_EDGES,
    MISSING_EDGE,
    InjectedConfounder,
    confounded_case,
    missing_edge_case,
)
from ici_assets.publish.metadata import SUMMARY, fit_metadata
from ici_assets.publish.sensitivity import percent, spend_nodes
from ici_assets.publish.versions import slice_facts
from ici_assets.spec.model import IciSpec
from ici_assets.spec.parse import parse_model_spec
from tests.publish.test_ui_metadata import significant_digits


def spec_for(edges: list[tuple[str, str]], target: str, **meta) -> IciSpec:
    """The IciSpec of a dbt model whose columns are the edges' nodes (no time column unless given)."""
    nodes = list(dict.fromkeys(n for e in edges for n in e))
    columns = {n: {"name": n, "config": {"meta": {"ici": {"parents": [p for p, c in edges if c == n]}}}} for n in nodes}
    model_meta = {"target": target, "unit": ["row_id"], "mechanisms": "linear", "n_bootstrap": 0, **meta}
    props = {
        "resource_type": "model",
        "name": "case_nodes",
        "unique_id": "model.p.case_nodes",
        "config": {"meta": {"ici": model_meta}},
        "columns": {"row_id": {"name": "row_id"}, **columns},
    }
    return parse_model_spec(props)


def scm_metadata(spec: IciSpec, frame, scm, trust) -> dict:
    kinds, r2 = {str(n): str(k) for n, k in scm.kinds.items()}, {str(n): float(v) for n, v in scm.r2.items()}
    return trust_metadata(trust, fit_metadata(slice_facts(spec, frame), kinds, r2))


def floats(metadata: dict) -> list[float]:
    return [v for v in metadata.values() if isinstance(v, float)]


def test_missing_edge_fails_the_graph_check_and_is_ranked_first_in_its_metadata() -> None:
    data, edges = missing_edge_case()
    spec = spec_for(edges, "revenue")
    scm = fit_model(spec, data)
    trust = graph_trust(spec, data, scm)
    outcome = graph_check(spec.checks, trust.markov, trust.edits)
    assert not outcome.passed
    parent, child = MISSING_EDGE
    assert outcome.metadata["first_edit"] == f"{parent} -> {child}"
    edits = outcome.metadata["suggested_edits"].splitlines()
    assert edits[0].startswith(f"1. add {parent} -> {child} (the data contradict {child} _||_ {parent} | ")
    assert "leaves 0 of" in edits[0] and len(edits) == min(5, len(trust.edits))
    # every contradicted statement with its p-value, smallest p first
    contradicted = outcome.metadata["contradicted"].splitlines()
    assert len(contradicted) == outcome.metadata["n_rejected"] >= 1 and all(", p" in s for s in contradicted)
    assert f"{child} _||_ {parent} | " in contradicted[0]
    assert f"Adding {parent} -> {child} reconciles the most" in outcome.description
    assert all(significant_digits(v) <= 4 for v in floats(dict(outcome.metadata)))
    # the SCM asset's metadata: the same ranked list, the summary first and naming the edit
    metadata = scm_metadata(spec, data, scm, trust)
    assert metadata["suggested_edits"].value.splitlines() == edits
    assert next(iter(metadata)) == SUMMARY and f"adding {parent} -> {child}" in metadata[SUMMARY].value
    # the full graph: nothing contradicted, no edits anywhere
    full = spec_for([*edges, MISSING_EDGE], "revenue")
    trust = graph_trust(full, data, fit_model(full, data))
    passed = graph_check(full.checks, trust.markov, trust.edits)
    assert passed.passed and trust.edits is None and "suggested_edits" not in passed.metadata
    assert "suggested_edits" not in scm_metadata(full, data, fit_model(full, data), trust)


def test_time_order_keeps_spend_nodes_without_parents_in_the_edits() -> None:
    data, edges = missing_edge_case()
    spec = spec_for(edges, "revenue")
    trust = graph_trust(spec, data, fit_model(spec, data))
    assert set(spend_nodes(spec)) == {"demand", "tv_spend", "social_spend"}  # roots with a child
    assert trust.edits is not None and not set(trust.edits["child"]) & set(spend_nodes(spec))
    declared = spec_for(edges, "revenue", decisions={"spend_nodes": ["tv_spend"], "budget": None})
    assert spend_nodes(declared) == ["tv_spend"]
    assert "every edge out of a spend node (`tv_spend`)" in trust_description(declared)
    table = graph_trust(declared, data, fit_model(declared, data)).sensitivity
    assert set(table["node"]) == {"tv_spend"} and set(table["child"]) == {"social_clicks"}


def test_sensitivity_covers_every_spend_edge_and_the_summary_says_it_per_channel() -> None:
    data = confounded_case(seed=0)
    spec = spec_for(CONFOUNDED_EDGES, "revenue")
    scm = fit_model(spec, data)
    trust = graph_trust(spec, data, scm)
    table = trust.sensitivity
    expected = {(p, c) for p, c in CONFOUNDED_EDGES if p in ("tv_spend", "social_spend")}
    assert set(zip(table["node"], table["child"])) == expected and table["available"].all()
    assert table["reason"].isna().all()
    for row in table.itertuples():
        # the width column: q = interval width / |estimate|, so f = 2 t_crit / sqrt(dof) whatever the edge
        f = 2 * stats.t.ppf(0.975, row.dof) / np.sqrt(row.dof)
        assert row.robustness_value_width == pytest.approx((np.sqrt(f**4 + 4 * f**2) - f**2) / 2, abs=1e-9)
        assert 0 < row.robustness_value_interval < row.robustness_value
    summary = scm_metadata(spec, data, scm, trust)[SUMMARY].value
    tv = table[(table["node"] == "tv_spend") & (table["child"] == "revenue")].iloc[0]
    search = table[(table["node"] == "tv_spend") & (table["child"] == "search_clicks")].iloc[0]
    assert (
        "tv_spend's effect on search_clicks survives a hidden confounder explaining up to "
        f"{percent(search['robustness_value'])} % of both tv_spend and search_clicks, on revenue up to "
        f"{percent(tv['robustness_value'])} % of both tv_spend and revenue (95 % interval reaching zero at "
        f"{percent(search['robustness_value_interval'])} % and {percent(tv['robustness_value_interval'])} %)"
    ) in summary
    assert summary.count("tv_spend's effect") == 1 and summary.count("social_spend's effect") == 1
    metadata = scm_metadata(spec, data, scm, trust)
    assert metadata["rv/tv_spend"] == float(f"{table[table['node'] == 'tv_spend']['robustness_value'].min():.2g}")
    assert all(significant_digits(v) <= 4 for v in floats(metadata))


def test_the_sentences_threshold_brackets_a_confounder_that_removes_the_effect() -> None:
    case = InjectedConfounder(r2=0.10, fraction=1.0)  # explains 10 % of both; the true effect is zero
    data = case.simulate(20_000, seed=0)
    spec = spec_for([("treatment", "outcome")], "outcome")
    scm = fit_model(spec, data)
    row = graph_trust(spec, data, scm).sensitivity.iloc[0]
    assert abs(row["robustness_value"] - case.r2) < 0.01
    assert "survives a hidden confounder explaining up to 10 % of both treatment and outcome" in (
        scm_metadata(spec, data, scm, graph_trust(spec, data, scm))[SUMMARY].value
    )


def test_a_nonlinear_child_gets_its_average_slopes_robustness_value_said_as_such() -> None:
    data = confounded_case(seed=0)
    spec = spec_for(CONFOUNDED_EDGES, "revenue", mechanisms="nonlinear")
    scm = fit_model(spec, data)
    trust = graph_trust(spec, data, scm)
    table = trust.sensitivity
    nonlinear = table[[scm.kinds[c] != "linear" for c in table["child"]]]
    assert len(nonlinear) >= 1 and nonlinear["available"].all() and (nonlinear["method"] == "average_slope").all()
    assert nonlinear["reason"].str.startswith("approximate: ").all()
    row = nonlinear.iloc[0]
    summary = scm_metadata(spec, data, scm, trust)[SUMMARY].value
    assert (
        f"on {row['child']} up to {percent(row['robustness_value'])} % of both {row['node']} and {row['child']} "
        "(its average slope)"
    ) in summary.replace("survives a hidden confounder explaining up to", "up to")


def test_the_average_slopes_threshold_brackets_a_confounder_beside_a_nonlinear_parent() -> None:
    """The injected confounder (partial R^2 0.10 with both, halving the effect) beside a parent w that acts on the
    outcome as a sine and on the treatment as a tanh: the outcome's mechanism is a spline, and the average slope's
    RV_0.5 recovers 0.10."""
    case = InjectedConfounder(r2=0.10, fraction=0.5)
    data = case.simulate(20_000, seed=0)
    w = np.random.default_rng(100).uniform(-2, 2, len(data))
    data["w"] = w
    data["treatment"] += 0.5 * np.tanh(2 * w)
    data["outcome"] += case.beta * 0.5 * np.tanh(2 * w) + 2.0 * np.sin(2 * w)
    edges = [("w", "treatment"), ("w", "outcome"), ("treatment", "outcome")]
    spec = spec_for(edges, "outcome", mechanisms="nonlinear", decisions={"spend_nodes": ["treatment"], "budget": None})
    scm = fit_model(spec, data)
    assert scm.kinds["outcome"] != "linear"
    row = graph_trust(spec, data, scm).sensitivity.iloc[0]
    assert row["method"] == "average_slope" and abs(row["robustness_value_q"] - case.r2) < 0.01


def test_an_edge_without_a_slope_is_said_not_available() -> None:
    import pandas as pd

    from ici_assets.publish.sensitivity import sensitivity_lines

    table = pd.DataFrame(
        {
            "node": ["tv_spend"],
            "child": ["visits"],
            "mechanism": ["spline"],
            "available": [False],
            "robustness_value": [np.nan],
            "robustness_value_interval": [np.nan],
            "method": [None],
            "reason": [
                "not available: tv_spend explains nothing of visits beyond its other parents (no slope to test)"
            ],
        }
    )
    assert sensitivity_lines(table) == [
        "tv_spend's effect on visits: robustness value not available (tv_spend explains nothing of visits beyond "
        "its other parents (no slope to test))"
    ]
