"""The blocking checks that guard every ICI result, evaluated on plain data (no Dagster here).

Before anything is published, every fitted model and its shares must pass:
  mechanisms_explain_variance, graph_not_contradicted, node_table_coverage (on the fit), and
  shares_sum_to_100, no_share_below_minus_one (on the shares).
The whole-period assets report the first three on ``scm`` and the last two on ``shares``; each
partitioned asset reports all five, for every partition of its run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ici_assets.spec.meta import ChecksMeta

if TYPE_CHECKING:
    import pandas as pd

SCM_CHECKS = ("mechanisms_explain_variance", "graph_not_contradicted", "node_table_coverage")
#: A warning on the SCM asset of a model whose spend columns declare carryover or saturation.
TRANSFORMS_CHECK = "transforms_identified"
SHARES_CHECKS = ("shares_sum_to_100", "no_share_below_minus_one")
DESCRIPTIONS = {
    "mechanisms_explain_variance": (
        "The fitted mechanism of each node with parents explains at least meta.ici.checks.min_r2 of its variance (R^2)."
    ),
    "graph_not_contradicted": (
        "The data do not contradict the graph's local Markov statements (partial correlations, Bonferroni)."
    ),
    "node_table_coverage": (
        "The node table has enough rows and one row per unit for every period (meta.ici.time_grain: day, week "
        "or month) from each unit's first to its last: the table's first and last unless "
        "meta.ici.coverage.staggered_units, with at most meta.ici.coverage.max_missing_share missing."
    ),
    "transforms_identified": (
        "Warns (never blocks) when the data cannot pin down the learned carryover or saturation of a spend node "
        "(a flat profile, constant or collinear spend): its interval is then wide, and the node is named."
    ),
    "shares_sum_to_100": "ICI shares sum to 100 within 1e-6.",
    "no_share_below_minus_one": "No ICI share below -1 percentage point.",
}


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict, with a sentence saying why and the numbers behind it."""

    name: str
    passed: bool
    description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


def rounded(x: float, digits: int) -> float:
    """``x`` with ``digits`` significant digits: check metadata shows what the check's threshold can tell apart
    (a p-value to 2 digits, a total to its tolerance), not a float's 17."""
    import math

    x = float(x)
    if not math.isfinite(x) or x == 0.0:
        return x
    return float(f"{x:.{digits}g}")


def mechanisms_check(limits: ChecksMeta, kinds: Mapping[str, str], r2: Mapping[str, float]) -> CheckOutcome:
    """Every non-root mechanism explains at least ``min_r2`` of its node's variance."""
    import pandas as pd

    fitted = {n: float(v) for n, v in r2.items() if kinds.get(n) != "root" and pd.notna(v)}
    weak = sorted(n for n, v in fitted.items() if v < limits.min_r2)
    return CheckOutcome(
        "mechanisms_explain_variance",
        not weak,
        (
            f"Mechanisms of {weak} explain less than R^2 {limits.min_r2} of their variance: check the graph "
            "(missing parents?) or the mechanism choice."
            if weak
            else f"Every mechanism has R^2 >= {limits.min_r2}."
        ),
        {"min_r2": limits.min_r2, **{f"r2/{n}": rounded(v, 3) for n, v in fitted.items()}},
    )


def graph_check(limits: ChecksMeta, markov: pd.DataFrame, edits: pd.DataFrame | None = None) -> CheckOutcome:
    """No local Markov statement of the graph is rejected by a partial correlation of practical size. A failure's
    metadata names every contradicted statement with its p-value (`contradicted`) and, given ``edits``
    (:func:`ici_assets.engine.suggest_edits` on the same data), the ranked smallest graph edits (`suggested_edits`,
    best first; `first_edit`)."""
    bad = markov[markov["rejected_bonferroni"] & (markov["partial_corr"].abs() >= limits.markov_min_abs_corr)]
    bad = bad.sort_values("p_value", kind="stable")
    statements = [_statement(r) for r in bad.to_dict("records")]
    fix = "Add the missing edge(s) or fix the data."
    if edits is not None and len(edits):
        first = edits.iloc[0]
        edit = f"{first['parent']} -> {first['child']}"
        fix = f"Adding {edit} reconciles the most (see suggested_edits), or fix the data."
    metadata: dict[str, Any] = {
        "n_statements": len(markov),
        "n_rejected": len(bad),
        "min_p_value": rounded(markov["p_value"].min(), 2) if len(markov) else 1.0,
    }
    if len(bad):
        metadata["contradicted"] = "\n".join(statements[:MAX_STATEMENTS]) + (
            f"\n... and {len(bad) - MAX_STATEMENTS} more" if len(bad) > MAX_STATEMENTS else ""
        )
    if edits is not None and len(edits):
        metadata["suggested_edits"] = "\n".join(edit_lines(edits))
        metadata["first_edit"] = f"{edits.iloc[0]['parent']} -> {edits.iloc[0]['child']}"
    return CheckOutcome(
        "graph_not_contradicted",
        bad.empty,
        (
            "The data contradict the graph: " + "; ".join(statements[:5]) + ". " + fix
            if len(bad)
            else f"All {len(markov)} local Markov statements hold at family-wise level {limits.markov_alpha}."
        ),
        metadata,
    )


#: Contradicted statements the graph check's metadata lists (the rest are counted).
MAX_STATEMENTS = 20
#: Suggested graph edits the graph check's and the SCM asset's metadata list, best first.
MAX_EDITS = 5


def _statement(r: Mapping[Any, Any]) -> str:
    """'organic_clicks _||_ tv_spend | demand, social_spend (r=0.231, p=3.1e-52)': one contradicted statement."""
    return (
        f"{r['node']} _||_ {r['independent_of']} | {r['given'] or '-'} "
        f"(r={float(r['partial_corr']):.3f}, {p_text(r['p_value'])})"
    )


def p_text(p: float) -> str:
    """'p=2.3e-280', or 'p<1e-300' where the p-value underflows to zero (never 'p=0')."""
    return f"p={float(p):.1e}" if float(p) > 0 else "p<1e-300"


def edit_lines(edits: pd.DataFrame, limit: int = MAX_EDITS) -> list[str]:
    """'1. add tv_spend -> organic_clicks (the data contradict organic_clicks _||_ tv_spend | demand, p=1.0e-50;
    leaves 0 of 1 contradicted statements)': the ranked smallest graph edits, best first."""
    return [
        f"{int(r['rank'])}. add {r['parent']} -> {r['child']} (the data contradict {r['statement']}, "
        f"{p_text(r['p_value'])}; leaves {int(r['rejected_after'])} of {int(r['rejected_before'])} contradicted "
        "statements)"
        for r in edits.head(limit).to_dict("records")
    ]


def shares_checks(shares: pd.Series) -> list[CheckOutcome]:
    """The shares add up to 100 and none is clearly negative."""
    import numpy as np

    total = float(shares.sum())
    low = float(shares.min()) if len(shares) else 0.0
    return [
        CheckOutcome(
            "shares_sum_to_100",
            bool(np.isfinite(total) and abs(total - 100.0) <= 1e-6),
            f"Shares sum to {total:.9f}.",
            {"total": round(total, 6)},  # to the check's tolerance (1e-6): 100.0, not 99.99999999999999
        ),
        CheckOutcome(
            "no_share_below_minus_one", low >= -1.0, f"Smallest share {low:.3f} points.", {"min_share": rounded(low, 3)}
        ),
    ]


def transforms_check(flags: Mapping[str, list[str]]) -> CheckOutcome:
    """Whether every learned transform is identified; a failure names each node and why (a warning: the node
    keeps its wide interval and the results are published all the same)."""
    if not flags:
        return CheckOutcome(TRANSFORMS_CHECK, True, "Every learned carryover and saturation is identified.")
    lines = "; ".join(f"{n}: {'; '.join(why)}" for n, why in flags.items())
    return CheckOutcome(
        TRANSFORMS_CHECK,
        False,
        f"Not identified by the data: {lines}. Their intervals are wide: vary the spend more (flights of different "
        "sizes), declare a simpler family, or shorten max_lag.",
        {"not_identified": ", ".join(sorted(flags))},
    )
