"""Code and data versions: what changes an ICI number, as short stable hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ici_assets.spec.model import IciSpec
from ici_assets.spec.montecarlo import DEFAULT_MAX_SAMPLES

if TYPE_CHECKING:
    import pandas as pd


def stable_hash(payload: Any, length: int = 16) -> str:
    """Short sha256 of a JSON-serialisable payload (keys sorted), the same in every process."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def frame_hash(frame: pd.DataFrame, length: int = 16) -> str:
    """Content hash of a data frame's values, column names and dtypes (row order matters).

    pandas' ``hash_pandas_object`` uses a fixed key, so the hash is identical across processes.
    """
    import pandas as pd

    h = hashlib.sha256()
    h.update(json.dumps([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:length]


def scm_code_version(spec: IciSpec) -> str:
    """Hash of what changes the fitted model: graph, target, mechanisms, seed, engine version, and the time
    column and grain (the mechanism choice folds the rows by runs of periods), and the learned carryover and
    saturation declared on spend columns (with the unit columns that bound their windows)."""
    from ici_assets.engine import ENGINE_VERSION  # the engine's numeric stack loads only when needed

    payload: dict[str, Any] = {
        "edges": sorted(spec.edges),
        "nodes": sorted(spec.nodes),
        "target": spec.target,
        "mechanisms": spec.mechanisms,
        "seed": spec.seed,
        "time_column": spec.time_column,
        "time_grain": spec.time_grain,
        "engine": ENGINE_VERSION,
    }
    if spec.transforms:  # only when declared: models without them keep their code versions
        payload["transforms"] = {n: dict(t) for n, t in spec.transforms.items()}
        payload["unit"] = list(spec.unit)
        payload["n_bootstrap"] = spec.n_bootstrap  # the scm asset publishes the parameters' intervals
    if spec.experiments is not None:  # calibrated to lift tests (only when declared: other hashes unchanged)
        payload["experiments"] = {"model": spec.experiments.model, "calibration": "bias_of_tested_edge"}
    return stable_hash(payload)


def shares_code_version(spec: IciSpec, extra: Any = None) -> str:
    """Hash of what changes the shares: the SCM's code version (which holds the time column and grain that
    also set the resampled periods), bootstrap settings, window or segment."""
    payload = {"scm": scm_code_version(spec), "n_bootstrap": spec.n_bootstrap, "extra": extra}
    if spec.max_samples != DEFAULT_MAX_SAMPLES:  # the Monte Carlo cap of nonlinear shares (default: old hashes)
        payload["max_samples"] = spec.max_samples
    return stable_hash(payload)


@dataclass(frozen=True)
class SliceFacts:
    """What identifies the rows a result was computed on."""

    n_rows: int
    data_version: str  # content hash of the rows
    period_start: str | None  # first and last day (YYYY-MM-DD) when the model has a time column
    period_end: str | None
    period: str | None = None  # the model's time grain (meta.ici.time_grain): day, week or month

    @property
    def label(self) -> str:
        return f"{self.period_start} to {self.period_end}" if self.period_start else f"{self.n_rows:,} rows"


def slice_facts(spec: IciSpec, frame: pd.DataFrame) -> SliceFacts:
    start = end = period = None
    if spec.time_column and spec.time_column in frame and len(frame):
        start, end = (str(frame[spec.time_column].min())[:10], str(frame[spec.time_column].max())[:10])
        period = spec.time_grain
    return SliceFacts(
        n_rows=len(frame), data_version=frame_hash(frame), period_start=start, period_end=end, period=period
    )
