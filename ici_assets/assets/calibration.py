"""Calibrating a model's SCM to the team's lift tests (``experiments: {model: ...}`` in its ``ici`` meta).

The SCM asset reads the lift-test table (a dbt model, an upstream dependency of the SCM asset so lineage shows it),
fits the SCM by least squares as always, then calibrates it (``engine.calibrate_scm``: the experiment pins the
confounding bias of the tested edge). The calibrated SCM is the asset's model: shares, spend response and budget come
from it; the least-squares one travels beside it (``ModelFit.uncalibrated``) and its results are published next to
the calibrated ones with ``calibrated = false``. Kept apart from ``ici.py`` so the SCM asset only calls in here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import dagster as dg

from ici_assets.assets.nodes import ModelFit
from ici_assets.publish.rows import ResultKey
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import MissingColumnsError, MissingRelationError, Read, Relation, Warehouse

if TYPE_CHECKING:
    import pandas as pd

    from ici_assets.engine import CalibrationFacts, EngineResult, FittedSCM

#: The columns of a lift-test table (engine.experiments.LIFT_TEST_COLUMNS; here so loading the definitions does not
#: import the engine), and an optional ``test`` column naming each test.
LIFT_TEST_COLUMNS = ("node", "unit", "start_period", "end_period", "spend_change", "lift", "lift_se")


@dataclass(frozen=True)
class ExperimentsSource:
    """The dbt model holding a model's lift tests: its asset key and its table."""

    key: dg.AssetKey
    relation: Relation


@dataclass(frozen=True)
class Calibrated:
    """The SCM asset's calibration: the least-squares SCM (the uncalibrated fit), calibrate_scm's result on the tests
    whose node has a directed path to the target (None when none has), and the tests whose node has none (the graph
    says their lift is 0: experiments_agree reports them)."""

    uncalibrated: FittedSCM
    result: EngineResult[CalibrationFacts] | None
    pathless: pd.DataFrame

    @property
    def scm(self) -> FittedSCM:
        """The calibrated SCM (the least-squares one when no test could calibrate it)."""
        return self.uncalibrated if self.result is None else self.result.facts.scm

    @property
    def table(self) -> pd.DataFrame:
        """Every test: implied lift before and after, measured lift, z-scores (engine.CALIBRATION_COLUMNS)."""
        import pandas as pd

        frames = [self.pathless] if self.result is None else [self.result.table, self.pathless]
        return pd.concat([f for f in frames if len(f)] or [self.pathless], ignore_index=True)


def calibrate_tests(scm: FittedSCM, target: str, tests: pd.DataFrame, units: set[Any] | None) -> Calibrated:
    """Validate every lift test (a malformed row raises, naming it), calibrate ``scm`` to the tests whose node
    reaches ``target`` in the graph, and keep the others as disagreements: the graph implies a lift of 0 for them."""
    import pandas as pd

    from ici_assets.engine import calibrate_scm, validate_lift_tests
    from ici_assets.engine.calibration import CALIBRATION_COLUMNS
    from ici_assets.engine.validation import relevant_nodes

    checked = validate_lift_tests(tests, scm.order, periods=scm.period_values, units=units)
    if checked.empty:
        raise ValueError("the lift-test table has no rows: add a test or drop meta.ici.experiments")
    reach = set(relevant_nodes(scm.graph, target)) - {target}
    has_path = checked["node"].isin(reach).to_numpy()
    result = calibrate_scm(scm, target, tests[has_path], units=units) if has_path.any() else None
    off = checked[~has_path]
    lift, se = off["lift"].to_numpy(float), off["lift_se"].to_numpy(float)
    pathless = pd.DataFrame(
        {
            "test": list(off.index),
            "node": off["node"].to_numpy(),
            "child": [None] * len(off),
            "unit": off["unit"].to_numpy(),
            "start_period": off["start_period"].to_numpy(),
            "end_period": off["end_period"].to_numpy(),
            "spend_change": off["spend_change"].to_numpy(float),
            "lift": lift,
            "lift_se": se,
            "implied_before": 0.0,
            "implied_after": 0.0,
            "z_before": -lift / se,
            "z_after": -lift / se,
        },
        columns=CALIBRATION_COLUMNS,
    )
    return Calibrated(scm, result, pathless)


def experiments_description(source: ExperimentsSource | None) -> str:
    """The SCM asset's description's paragraph on calibration (empty without lift tests)."""
    if source is None:
        return ""
    return (
        f"\n\nCalibrated to the lift tests in `{source.relation}`: each test pins the confounding bias of the "
        "tested edge; shares, response and budget come from the calibrated SCM, the least-squares results are "
        "published beside them with `calibrated = false`. Check `experiments_agree` compares each test's implied "
        "and measured lift."
    )


def lift_test_label(row: Any) -> str:
    """A lift test's name in messages and metadata: its ``test`` column, else node, unit and start period."""
    import pandas as pd

    name = row.get("test")
    if name is not None and not pd.isna(name) and str(name).strip():
        return str(name)
    unit = "all units" if pd.isna(row["unit"]) else str(row["unit"])
    start = str(row["start_period"])[:10]
    return f"{row['node']} {unit} {start}"


def read_lift_tests(warehouse: Warehouse, spec: IciSpec, relation: Relation) -> pd.DataFrame:
    """The lift tests of ``spec``'s experiments model, one row per test, indexed by the test's name."""
    try:
        try:  # with the optional `test` column naming each test when the table has it
            frame = warehouse.read(Read(relation, (*LIFT_TEST_COLUMNS, "test")))
        except MissingColumnsError as exc:
            if list(exc.missing) != ["test"]:
                raise
            frame = warehouse.read(Read(relation, LIFT_TEST_COLUMNS))
    except MissingRelationError as exc:
        raise ValueError(
            f"Lift-test table {relation} (meta.ici.experiments.model of '{spec.model}') does not exist in "
            f"{exc.location}: build the dbt model first."
        ) from exc
    except MissingColumnsError as exc:
        raise ValueError(
            f"Lift-test table {relation} (meta.ici.experiments.model of '{spec.model}') lacks column(s) "
            f"{exc.missing}: a lift-test table has the columns {', '.join(LIFT_TEST_COLUMNS)}."
        ) from exc
    labels = [lift_test_label(row) for row in frame.to_dict("records")]
    return frame.set_axis(labels, axis=0)


def lift_test_units(spec: IciSpec, frame: pd.DataFrame) -> set[Any] | None:
    """The unit values a test may name: the one non-time unit column's values, none for a national series (so a
    test naming a unit is refused), None (unchecked) when the unit spans several columns."""
    columns = [c for c in spec.unit if c != spec.time_column]
    if not columns:
        return set()
    if len(columns) == 1:
        return {str(v) for v in frame[columns[0]].unique()}
    return None


def calibrate_fit(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    spec: IciSpec,
    source: ExperimentsSource,
    scm: FittedSCM,
    frame: pd.DataFrame,
) -> Calibrated:
    """Read, validate and apply the lift tests: a malformed row fails the step with the row named."""
    tests = read_lift_tests(warehouse, spec, source.relation)
    units = lift_test_units(spec, frame)
    if units:
        tests["unit"] = [None if u is None or u != u else str(u) for u in tests["unit"]]
    try:
        calibrated = calibrate_tests(scm, spec.target, tests, units)
    except ValueError as exc:
        raise ValueError(f"Lift tests of '{spec.model}' in {source.relation}: {exc}") from exc
    for line in calibration_lines(spec, calibrated):
        context.log.info(line)
    return calibrated


def with_calibration(fit: ModelFit, calibrated: Calibrated | None) -> ModelFit:
    """The SCM asset's value: the calibrated SCM as the model (shares, response, budget come from it), the
    least-squares one beside it, and a data version that changes with the lift tests as well as the node table."""
    if calibrated is None:
        return fit
    from ici_assets.publish.versions import frame_hash, stable_hash

    tests = calibrated.table[["test", "node", "unit", "start_period", "end_period", "spend_change", "lift", "lift_se"]]
    version = stable_hash({"nodes": fit.facts.data_version, "lift_tests": frame_hash(tests.astype(str))})
    facts = replace(fit.facts, data_version=version)
    return replace(fit, scm=calibrated.scm, facts=facts, calibration=calibrated)


def calibration_lines(spec: IciSpec, calibrated: Calibrated) -> list[str]:
    """One sentence per tested node: the calibrated return beside the uncalibrated one, and the edge moved; one per
    test whose node has no path to the target."""
    lines = [
        f"Lift test {row['test']!r} on `{row['node']}` measured {row['lift']:,.0f} but the graph has no path from "
        f"`{row['node']}` to `{spec.target}`: not used to calibrate (check experiments_agree)."
        for row in calibrated.pathless.to_dict("records")
    ]
    if calibrated.result is None:
        return lines
    result = calibrated.result
    facts = result.facts
    unit = spec.units.get(spec.target, "")
    per = f" {unit} of {spec.target} per {unit}" if unit else f" {spec.target} per unit of spend"
    n = len(result.table)
    for node, after in facts.return_after.items():
        before, se = facts.return_before[node], facts.return_after_se[node]
        lines.append(
            f"Calibrated to {n} lift test(s): `{node}` returns {after:#.3g}{per} (+- {se:#.2g}; uncalibrated "
            f"{before:#.3g}), through `{node}` -> `{facts.edges[node]}`."
        )
    return lines


def calibration_metadata(spec: IciSpec, calibrated: Calibrated, metadata: dict[str, Any]) -> dict[str, Any]:
    """The SCM asset's metadata with the calibration: summary lines, each tested node's return before and after,
    the confounder strength the shift implies, and the share of Var(target) the independent-noise ICI leaves out."""
    from ici_assets.checks.ici import rounded
    from ici_assets.publish.metadata import SUMMARY

    out = dict(metadata)
    lines = "\n\n".join(calibration_lines(spec, calibrated))
    current = out.get(SUMMARY)
    text = getattr(current, "value", None) if current is not None else None
    out[SUMMARY] = dg.MetadataValue.md(f"{text}\n\n{lines}" if text else lines)
    out["lift_tests"] = dg.MetadataValue.int(len(calibrated.table))
    if calibrated.result is None:
        return out
    facts = calibrated.result.facts
    for node in facts.return_after:
        out[f"return_calibrated/{node}"] = rounded(facts.return_after[node], 4)
        out[f"return_uncalibrated/{node}"] = rounded(facts.return_before[node], 4)
        needed = facts.confounder_r2_needed.get(node)
        if needed is not None and needed == needed:
            out[f"confounder_r2_needed/{node}"] = rounded(needed, 3)
    out["noise_covariance_share"] = rounded(facts.noise_covariance_share, 3)
    return out


def uncalibrated_shares(
    spec: IciSpec, fit: ModelFit, key: ResultKey, bootstrap: Any, shares: pd.DataFrame
) -> pd.DataFrame:
    """The shares rows to publish: ``shares`` (of ``fit.scm``), and for a calibrated model the least-squares SCM's
    shares beside them (``calibrated = false``, same bootstrap), so both answers sit in ``ici.ici_shares``."""
    if fit.uncalibrated is None:
        return shares
    import pandas as pd

    from ici_assets.engine import estimate_ici
    from ici_assets.publish.rows import shares_rows

    result = estimate_ici(fit.uncalibrated, spec.target, bootstrap=bootstrap, max_samples=spec.max_samples)
    plain = shares_rows(spec, result.table, fit.facts, key, calibrated=False)
    return pd.concat([shares, plain], ignore_index=True)


def uncalibrated_shares_metadata(rows: pd.DataFrame) -> dict[str, Any]:
    """A line comparing the calibrated shares with the least-squares ones (nothing for a model without tests)."""
    if not rows["calibrated"].astype(bool).any() or rows["calibrated"].astype(bool).all():
        return {}
    plain = rows[~rows["calibrated"].astype(bool)].set_index("node")["share"]
    calibrated = rows[rows["calibrated"].astype(bool)].set_index("node")["share"]
    text = ", ".join(
        f"{n} {calibrated[n]:.1f} % (uncalibrated {plain.get(n, float('nan')):.1f} %)" for n in calibrated.index
    )
    return {"calibrated_vs_uncalibrated": dg.MetadataValue.text(f"Shares calibrated to the lift tests: {text}.")}


def least_squares_fit(fit: ModelFit) -> ModelFit | None:
    """The fit with the least-squares SCM as its model (for the ``calibrated = false`` rows), None when ``fit``
    is not calibrated."""
    if fit.calibration is None:
        return None
    return replace(fit, scm=fit.calibration.uncalibrated, calibration=None)


def beside(calibrated: pd.DataFrame, plain: pd.DataFrame | None) -> pd.DataFrame:
    """A calibrated model's table with the least-squares one's rows after it, told apart by ``calibrated``."""
    if plain is None:
        return calibrated
    import pandas as pd

    return pd.concat([calibrated.assign(calibrated=True), plain.assign(calibrated=False)], ignore_index=True)


def uncalibrated_metadata(
    spec: IciSpec, name: str, table: pd.DataFrame, plain: pd.DataFrame, metadata: dict[str, Any]
) -> dict[str, Any]:
    """A decision asset's metadata with the least-squares answer beside the calibrated one: its summary gains a
    line, and ``uncalibrated/<node>``: each spend node's uncalibrated marginal return (spend_response) or
    recommended spend (budget)."""
    from ici_assets.checks.ici import rounded
    from ici_assets.publish.metadata import SUMMARY

    out = dict(metadata)
    if name == "spend_response":
        now = table.groupby("node", sort=False)["current_marginal_return"].first()
        before = plain.groupby("node", sort=False)["current_marginal_return"].first()
        for node, value in before.items():
            out[f"uncalibrated/{node}"] = rounded(float(value), 4)  # short keys: the Overview box is 756 px
        line = "Calibrated to the lift tests; marginal return at current spend: " + ", ".join(
            f"{node} {now[node]:.3g} (uncalibrated {before[node]:.3g})" for node in now.index if node in before
        )
    elif name == "budget":
        for row in plain.to_dict("records"):
            out[f"uncalibrated/{row['node']}"] = rounded(float(row["recommended"]), 4)
        line = "Calibrated to the lift tests; the uncalibrated model would recommend " + ", ".join(
            f"{row['node']} {row['recommended']:,.0f}" for row in plain.to_dict("records")
        )
    else:
        return out
    current = out.get(SUMMARY)
    text = getattr(current, "value", None) if current is not None else None
    out[SUMMARY] = dg.MetadataValue.md(f"{text}\n\n{line}." if text else f"{line}.")
    return out
