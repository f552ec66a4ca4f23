"""Edited copies of the demo's marts YAML, `dbt parse`d: wrong graphs and malformed meta.

Each graph variant replaces the graph of ``marketing_nodes`` in a project of its own; the
malformed-meta cases are models of one more project, ``bad_<case>`` (a copy of ``marketing_nodes``
with the case's edit). The three projects are parsed side by side (session fixture
``parsed_variants`` in conftest.py): a dbt parse is a 15-20 s process.
"""

from __future__ import annotations

import textwrap


def drop_demand_to_social_clicks(text):
    """The graph without the edge demand -> social_clicks (the data say social_clicks depends on demand)."""
    marker = "- name: social_clicks\n"
    head, tail = text.split(marker, 1)
    line_end = tail.index("config: {meta: {ici: {parents: [demand, ")
    tail = tail[:line_end] + tail[line_end:].replace("parents: [demand, ", "parents: [", 1)
    return head + marker + tail


def demand_impossible_r2(text):
    """min_r2 0.9: more than the R^2 of social_clicks (about 0.45) can reach."""
    return text.replace(
        "          mechanisms: auto\n", "          mechanisms: auto\n          checks: {min_r2: 0.9}\n", 1
    )


#: Graphs that parse but that the data contradict, or whose checks cannot pass (test_checks.py).
CHECK_VARIANTS = {"wrong_graph": drop_demand_to_social_clicks, "weak_mechanism": demand_impossible_r2}

#: (name, edit, expected message): meta that must fail when the definitions load (test_bad_input.py).
META_CASES = [
    (
        "cycle",
        lambda t: t.replace("{ici: {parents: [], ", "{ici: {parents: [revenue], ", 1),
        "cycle",
    ),
    ("target_missing", lambda t: t.replace("target: revenue", "target: profit", 1), "target 'profit' is not a node"),
    (
        "parent_not_column",
        lambda t: t.replace(
            "parents: [organic_clicks, social_clicks]", "parents: [organic_clicks, social_clicks, email_clicks]", 1
        ),
        "lists parent 'email_clicks'",
    ),
    (
        "bad_mechanism",
        lambda t: t.replace("mechanisms: auto", "mechanisms: quantum", 1),
        "meta.ici.mechanisms: Input should be 'auto', 'linear' or 'nonlinear'",
    ),
    (
        "misspelt_model_key",
        lambda t: t.replace("n_bootstrap: 200", "n_boostrap: 200", 1),
        "unknown key 'meta.ici.n_boostrap': did you mean 'n_bootstrap'?",
    ),
    (
        "misspelt_column_key",
        lambda t: t.replace(
            "{ici: {parents: [demand, tv_adstock, social_spend]",
            "{ici: {parent: [demand, tv_adstock, social_spend]",
            1,
        ),
        "unknown key \"column 'organic_clicks': meta.ici.parent\": did you mean 'parents'?",
    ),
    (
        "decisions_misspelt",
        lambda t: t.replace(
            "          mechanisms: auto\n",
            "          mechanisms: auto\n          decisions: {spend_nodes: [social_spend], levelz: 5}\n",
            1,
        ),
        "unknown key 'meta.ici.decisions.levelz': did you mean 'levels'?",
    ),
    (
        "decisions_not_a_node",
        lambda t: t.replace(
            "          mechanisms: auto\n",
            "          mechanisms: auto\n          decisions: {spend_nodes: [tv_spend]}\n",
            1,
        ),
        "spend node 'tv_spend' is not a node of the graph",
    ),
    (
        "no_ancestors",
        lambda t: t.replace("parents: [organic_clicks, social_clicks]", "parents: []", 1),
        "has no ancestors",
    ),
]


def malformed_models(text: str) -> str:
    """The marts YAML plus one model ``bad_<case>`` per malformed-meta case (SQL written by the fixture)."""
    block = text[text.index("  - name: marketing_nodes\n") : text.index("  - name: last_click_revenue\n")]
    extra = []
    for name, edit, _ in META_CASES:
        bad = edit(block)
        assert bad != block, f"case {name}: the edit no longer matches the YAML"
        extra.append(bad.replace("  - name: marketing_nodes\n", f"  - name: bad_{name}\n", 1))
    return text + "\n" + "".join(extra)


#: A second model with its own ``ici`` meta, beside marketing_nodes (test_factory.py).
FUNNEL_SQL = "select date, region, tv_adstock, social_spend, social_clicks from {{ ref('marketing_nodes') }}\n"
FUNNEL_YML = textwrap.dedent(
    """\
    version: 2
    models:
      - name: funnel_nodes
        description: Paid-social funnel only (a second graph over the same mart).
        config:
          materialized: table
          meta:
            ici:
              target: social_clicks
              unit: [date, region]
              mechanisms: linear
              n_bootstrap: 50
        columns:
          - name: date
          - name: region
          - name: tv_adstock
            config: {meta: {ici: {parents: []}}}
          - name: social_spend
            config: {meta: {ici: {parents: []}}}
          - name: social_clicks
            config: {meta: {ici: {parents: [tv_adstock, social_spend]}}}
    """
)

#: Project name -> (edit of models/marts/_marts.yml or None, files to add under models/marts/).
ALL_VARIANTS = {
    **{name: (edit, {}) for name, edit in CHECK_VARIANTS.items()},
    "malformed": (
        malformed_models,
        {f"bad_{case}.sql": "select * from {{ ref('marketing_nodes') }}\n" for case, _, _ in META_CASES},
    ),
    "funnel": (None, {"funnel_nodes.sql": FUNNEL_SQL, "funnel_nodes.yml": FUNNEL_YML}),
}
