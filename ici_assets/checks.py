"""Blocking asset checks that guard every ICI materialisation.

On the SCM asset (a failure blocks the shares, so nothing is published):
  mechanisms_explain_variance, graph_not_contradicted, node_table_coverage.
On the shares asset (evaluated before the write; a failure means nothing is written):
  shares_sum_to_100, no_share_below_minus_one.
"""

import dagster as dg
import numpy as np
import pandas as pd

from ici_assets.engine import FittedSCM
from ici_assets.engine.markov import local_markov_test
from ici_assets.spec import IciSpec

SCM_CHECKS = ("mechanisms_explain_variance", "graph_not_contradicted", "node_table_coverage")
SHARES_CHECKS = ("shares_sum_to_100", "no_share_below_minus_one")
_DESCRIPTIONS = {
    "mechanisms_explain_variance": (
        "Each non-root node's fitted mechanism explains at least meta.ici.checks.min_r2 of its variance (R^2)."
    ),
    "graph_not_contradicted": (
        "The data do not contradict the graph's local Markov statements (partial correlations, Bonferroni)."
    ),
    "node_table_coverage": "The node table has enough rows and every day x unit between its first and last day.",
    "shares_sum_to_100": "ICI shares sum to 100 within 1e-6.",
    "no_share_below_minus_one": "No ICI share below -1 percentage point.",
}


def check_specs(key: dg.AssetKey, names: tuple[str, ...]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(n, asset=key, blocking=True, description=_DESCRIPTIONS[n]) for n in names]


def _result(name: str, passed: bool, description: str, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=bool(passed),
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def scm_check_results(spec: IciSpec, scm: FittedSCM, frame: pd.DataFrame) -> list[dg.AssetCheckResult]:
    """Evaluate the SCM checks on the fitted model and the frame it was fitted on."""
    c = spec.checks
    r2 = {str(n): float(v) for n, v in scm.r2.items() if scm.kinds.get(n) != "root" and pd.notna(v)}
    weak = {n: v for n, v in r2.items() if v < c.min_r2}
    results = [
        _result(
            "mechanisms_explain_variance",
            not weak,
            (
                f"Mechanisms of {sorted(weak)} explain less than R^2 {c.min_r2} of their variance: check the graph "
                "(missing parents?) or the mechanism choice."
                if weak
                else f"Every mechanism has R^2 >= {c.min_r2}."
            ),
            min_r2=c.min_r2,
            **{f"r2/{n}": v for n, v in r2.items()},
        )
    ]

    tests = local_markov_test(frame[spec.nodes], spec.graph(), alpha=c.markov_alpha)
    bad = tests[tests["rejected_bonferroni"] & (tests["partial_corr"].abs() >= c.markov_min_abs_corr)]
    worst = bad.sort_values("p_value").head(5)
    statements = [
        f"{r.node} _||_ {r.independent_of} | {r.given or '-'} (r={r.partial_corr:.3f}, p={r.p_value:.1e})"
        for r in worst.itertuples()
    ]
    results.append(
        _result(
            "graph_not_contradicted",
            bad.empty,
            (
                "The data contradict the graph: " + "; ".join(statements) + ". Add the missing edge(s) or fix the data."
                if len(bad)
                else f"All {len(tests)} local Markov statements hold at family-wise level {c.markov_alpha}."
            ),
            n_statements=len(tests),
            n_rejected=len(bad),
            min_p_value=float(tests["p_value"].min()) if len(tests) else 1.0,
        )
    )

    problems = []
    if len(frame) < c.min_rows:
        problems.append(f"{len(frame)} rows < minimum {c.min_rows}")
    meta: dict = {"n_rows": len(frame)}
    if spec.time_column and spec.time_column in frame and len(frame):
        days = pd.to_datetime(frame[spec.time_column])
        expected_days = (days.max() - days.min()).days + 1
        units = [u for u in spec.unit if u != spec.time_column and u in frame]
        n_units = int(frame[units].drop_duplicates().shape[0]) if units else 1
        missing_days = expected_days - days.nunique()
        meta.update(
            first_day=str(days.min().date()),
            last_day=str(days.max().date()),
            n_days=int(days.nunique()),
            n_units=n_units,
            missing_days=int(missing_days),
        )
        if missing_days:
            all_days = pd.date_range(days.min(), days.max(), freq="D")
            gaps = sorted(set(all_days.date) - set(days.dt.date))[:5]
            problems.append(
                f"{missing_days} day(s) missing between {days.min().date()} and {days.max().date()} (e.g. {gaps})"
            )
        if len(frame) != days.nunique() * n_units:
            problems.append(
                f"{len(frame)} rows but {days.nunique()} days x {n_units} units = {days.nunique() * n_units}"
            )
    results.append(
        _result(
            "node_table_coverage",
            not problems,
            (
                "Node table incomplete: " + "; ".join(problems) + ". Check the raw tables and dbt models."
                if problems
                else "Every day x unit present."
            ),
            **meta,
        )
    )
    return results


def shares_check_results(shares: pd.Series) -> list[dg.AssetCheckResult]:
    """Evaluate the shares checks on the computed shares (before anything is written)."""
    total = float(shares.sum())
    low = float(shares.min()) if len(shares) else 0.0
    return [
        _result(
            "shares_sum_to_100",
            np.isfinite(total) and abs(total - 100.0) <= 1e-6,
            f"Shares sum to {total:.9f}.",
            total=total,
        ),
        _result("no_share_below_minus_one", low >= -1.0, f"Smallest share {low:.3f} points.", min_share=low),
    ]
