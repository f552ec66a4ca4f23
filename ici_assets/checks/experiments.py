"""The ``experiments_agree`` check of a model calibrated to lift tests, evaluated on plain data (no Dagster here).

Per test: the lift the uncalibrated and the calibrated SCM imply, the measured lift and both z-scores. A test fails
when the calibrated SCM still implies a lift more than 3 standard errors from the measured one. One test per node
always fits after calibration (its bias is a free parameter), so a failure means the graph or the tests are wrong:
the tested node has no directed path to the target in the graph (the graph implies a lift of 0), or tests on one
node (or nested nodes) conflict. The message names each test and the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ici_assets.checks.ici import CheckOutcome, rounded

if TYPE_CHECKING:
    import pandas as pd

EXPERIMENTS_CHECK = "experiments_agree"
#: |z| beyond which the calibrated model disagrees with a test.
MAX_Z = 3.0
EXPERIMENTS_DESCRIPTION = (
    "The SCM calibrated to the lift tests of meta.ici.experiments.model implies, for every test, a lift within "
    f"{MAX_Z:g} standard errors of the measured one (metadata: per test the lift implied before and after "
    "calibration, the measured lift and the z-scores)."
)
#: The per-test columns reported in the check's metadata, as ``<test>/<column>``.
METADATA_COLUMNS = ("implied_before", "implied_after", "lift", "lift_se", "z_before", "z_after")


def _where(row: Mapping[Any, Any]) -> str:
    """'tv_spend, all units, 2025-03-03 to 2025-03-30': what a test was."""
    from ici_assets.engine.experiments import format_period

    unit = row["unit"]
    unit_text = "all units" if unit is None or unit != unit else f"unit {unit!r}"
    return f"{row['node']}, {unit_text}, {format_period(row['start_period'])} to {format_period(row['end_period'])}"


def disagreement(row: Mapping[Any, Any], target: str) -> str:
    """The sentence naming a test the calibrated SCM disagrees with, and the path at fault."""
    head = f"lift test {row['test']!r} ({_where(row)}): measured {row['lift']:,.0f} +- {row['lift_se']:,.0f}"
    if row["child"] is None or row["child"] != row["child"]:
        return (
            f"{head}, but the graph has no directed path from {row['node']} to {target}, so the model implies 0 "
            f"(z {float(row['z_after']):+.1f}): add the path the test measured (an edge from {row['node']} towards "
            f"{target}) or drop the test"
        )
    return (
        f"{head}, the calibrated model implies {row['implied_after']:,.0f} (z {float(row['z_after']):+.1f}) through "
        f"{row['node']} -> {row['child']}: another test on {row['node']} or on a node downstream of it disagrees; "
        "check the tests and the graph's paths from it"
    )


def experiments_check(table: pd.DataFrame, target: str, max_z: float = MAX_Z) -> CheckOutcome:
    """Passes when every test's calibrated |z| is within ``max_z``; fails naming each test beyond it and its path.
    ``table``: one row per test with the columns of ``engine.calibration.CALIBRATION_COLUMNS``."""
    metadata: dict[str, Any] = {}
    rows = table.to_dict("records")
    for row in rows:
        for column in METADATA_COLUMNS:
            metadata[f"{row['test']}/{column}"] = rounded(float(row[column]), 4)
    metadata["chi2"] = rounded(float((table["z_after"].astype(float) ** 2).sum()), 4)
    problems = [disagreement(row, target) for row in rows if abs(float(row["z_after"])) > max_z]
    if problems:
        text = f"{len(problems)} of {len(rows)} lift test(s) disagree with the calibrated SCM: " + "; ".join(problems)
    else:
        text = (
            f"All {len(rows)} lift test(s) agree with the calibrated SCM within {max_z:g} standard errors "
            f"(largest |z| {rounded(float(table['z_after'].abs().max()), 2)}; before calibration "
            f"{rounded(float(table['z_before'].abs().max()), 3)})."
        )
    return CheckOutcome(EXPERIMENTS_CHECK, not problems, text, metadata)
