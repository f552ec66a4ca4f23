"""The node table of a dbt model with an ``ici`` meta: reading it, and the facts of a slice of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ici_assets.compute.worker import with_unit_column
from ici_assets.publish.versions import SliceFacts
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import Filter, MissingColumnsError, MissingRelationError, Read, Relation, Warehouse

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ici_assets.assets.calibration import Calibrated
    from ici_assets.engine import FittedSCM
    from ici_assets.publish.transforms import LearnedTable


def node_columns(spec: IciSpec) -> tuple[str, ...]:
    """Unit columns, the time column and the node columns, each once, in that order."""
    return tuple(dict.fromkeys([*spec.unit, *([spec.time_column] if spec.time_column else []), *spec.nodes]))


def read_node_table(
    warehouse: Warehouse, spec: IciSpec, relation: Relation, where: tuple[Filter, ...] = ()
) -> pd.DataFrame:
    """The unit and node columns of the model's table (rows matching ``where``), ordered by unit."""
    columns = node_columns(spec)
    try:
        return warehouse.read(Read(relation, columns, where, order_by=tuple(spec.unit) or columns))
    except MissingRelationError as exc:
        raise ValueError(
            f"Table {relation} of dbt model '{spec.model}' does not exist in warehouse {exc.location}: "
            "build the dbt models first."
        ) from exc
    except MissingColumnsError as exc:
        raise ValueError(
            f"Table {relation} (dbt model '{spec.model}') lacks column(s) {exc.missing} that the graph declares: "
            "add them to the model's SQL, or remove them from its `ici` meta."
        ) from exc


def fit_model(spec: IciSpec, frame: pd.DataFrame) -> FittedSCM:
    """The model's SCM on ``frame`` as its meta declares it (mechanisms, seed, time column)."""
    from ici_assets.engine import fit_scm  # the engine's numeric stack loads only when needed
    from ici_assets.engine.validation import check_numeric_target

    if spec.target in frame:  # named as the target, before the fit's error for a categorical with parents
        check_numeric_target(frame[spec.target], spec.target)
    columns = [*spec.nodes, *([spec.time_column] if spec.time_column else [])]
    if not spec.transforms:
        return fit_scm(
            frame[columns], spec.graph(), mechanisms=spec.mechanisms, seed=spec.seed, time_column=spec.time_column
        )
    data, unit_column = with_unit_column(frame[list(dict.fromkeys([*columns, *spec.unit]))], unit_columns(spec))
    return fit_scm(
        data,
        spec.graph(),
        mechanisms=spec.mechanisms,
        seed=spec.seed,
        time_column=spec.time_column,
        transforms=dict(spec.transforms),
        unit_column=unit_column,
    )


def as_fitted(spec: IciSpec, scm: FittedSCM, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the node table) as the fitted SCM holds it: each node with learned transforms replaced by its
    transformed series under the fit's parameters (windows per unit in time order), what its children's fitted
    mechanisms take; the frame itself without learned transforms."""
    if not scm.transforms:
        return frame
    from ici_assets.engine import apply_transform

    data, unit_column = with_unit_column(frame, unit_columns(spec))
    out = frame.copy()
    for node, transform in scm.transforms.items():
        out[node] = apply_transform(transform, data, time_column=spec.time_column, unit_column=unit_column)
    return out


def unit_columns(spec: IciSpec) -> tuple[str, ...]:
    """The grain's unit columns besides the time column (a unit's carryover window never leaves it)."""
    return tuple(c for c in spec.unit if c != spec.time_column)


def require_rows(spec: IciSpec, frame: pd.DataFrame, where: str) -> None:
    """Refuse an empty slice with a message naming the model and the slice."""
    if frame.empty:
        raise ValueError(
            f"No rows in {where} of dbt model '{spec.model}': nothing to fit. Check that the raw tables "
            "hold data for this period/segment and that the dbt models are built."
        )


@dataclass
class ModelFit:
    """The SCM asset's value: the fitted model, the facts of its rows, each row's time (for contributions), the
    learned transforms' table and the spend edges' sensitivity to hidden confounding."""

    scm: FittedSCM
    facts: SliceFacts
    times: np.ndarray | None = None
    transforms: LearnedTable | None = None  # learned carryover/saturation with intervals (the shares publish them)
    sensitivity: pd.DataFrame | None = None  # spend edges' robustness to hidden confounding (the shares publish it)
    calibration: Calibrated | None = None  # lift-test calibration: `scm` is then the calibrated SCM

    @property
    def uncalibrated(self) -> FittedSCM | None:
        """The least-squares SCM when ``scm`` is calibrated to lift tests (its results are published beside the
        calibrated ones, ``calibrated = false``), else None."""
        return None if self.calibration is None else self.calibration.uncalibrated
