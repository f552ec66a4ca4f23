"""The ``experiments_agree`` check of a model calibrated to lift tests, evaluated on plain data (no Dagster here).

Per test: the lift the uncalibrated and the calibrated SCM imply, the measured lift and both z-scores. One test per
node always fits after calibration (its bias is a free parameter), so a failure means tests that conflict (several on
one node, or nested ones that cannot all hold): the graph or the tests are wrong, and the message says which test and
which path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ici_assets.checks.ici import CheckOutcome, rounded

if TYPE_CHECKING:
    from ici_assets.engine import CalibrationFacts, EngineResult

EXPERIMENTS_CHECK = "experiments_agree"
#: |z| beyond which the calibrated model disagrees with a test.
MAX_Z = 3.0
EXPERIMENTS_DESCRIPTION = (
    "The SCM calibrated to the lift tests of meta.ici.experiments.model implies, for every test, a lift within "
    f"{MAX_Z:g} standard errors of the measured one (metadata: per test the lift implied before and after "
    "calibration, the measured lift and the z-scores)."
)


def experiments_check(result: EngineResult[CalibrationFacts], max_z: float = MAX_Z) -> CheckOutcome:
    """Passes when every test's calibrated z-score is within ``max_z``; fails naming each test and its path."""
    from ici_assets.engine import lift_test_disagreements

    metadata: dict[str, Any] = {}
    for row in result.table.to_dict("records"):
        label = str(row["test"])
        for column in ("implied_before", "implied_after", "lift", "lift_se", "z_before", "z_after"):
            metadata[f"{label}/{column}"] = rounded(float(row[column]), 4)
    metadata["chi2"] = rounded(result.facts.chi2, 4)
    problems = lift_test_disagreements(result, max_z=max_z)
    n = len(result.table)
    if problems:
        text = f"{len(problems)} of {n} lift test(s) disagree with the calibrated SCM: " + "; ".join(problems)
    else:
        worst = float(result.table["z_after"].abs().max())
        text = (
            f"All {n} lift test(s) agree with the calibrated SCM within {max_z:g} standard errors "
            f"(largest |z| {rounded(worst, 2)}; before calibration "
            f"{rounded(float(result.table['z_before'].abs().max()), 3)})."
        )
    return CheckOutcome(EXPERIMENTS_CHECK, not problems, text, metadata)
