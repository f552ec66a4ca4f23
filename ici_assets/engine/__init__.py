"""Pure-Python causal engine: additive noise SCMs, intrinsic causal influence (ICI), and the decisions a fitted
SCM answers (spend response curves, attribution of a change between two samples, budget split, the
nodes behind one unit-period's anomaly).

Every entry point (estimate_ici, spend_response, optimise_budget, change_attribution, attribute_anomalies,
fit_transforms, calibrate_scm, confounding_sensitivity) returns an :class:`EngineResult`: ``.table`` (a DataFrame)
and ``.facts`` (a :class:`Facts`, one vocabulary for all), and
takes the interval keywords of :class:`Bootstrap`. ``compute_ici`` and ``ici_from_scm`` return only the ICI table.
No Dagster or DuckDB here; usable from a notebook.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .anomalies import attribute_anomalies
    from .attribution import change_attribution
    from .budget import optimise_budget
    from .calibration import CalibrationFacts, NonlinearCalibrationError, calibrate_scm, lift_test_disagreements
    from .effects import level_effects, linear_ici, total_effects
    from .experiments import validate_lift_tests
    from .holdout import time_split_fit
    from .ici import compute_ici, estimate_ici, ici_from_scm
    from .interventions import Interventional
    from .markov import local_markov_test, suggest_edits
    from .mechanisms import (
        BoostingMechanism,
        EmpiricalRoot,
        LinearMechanism,
        Mechanism,
        Poly2Mechanism,
        SplineMechanism,
        make_mechanism,
    )
    from .montecarlo import MonteCarlo
    from .resampling import Bootstrap, optimal_block_length, resampling_plan
    from .response import spend_response
    from .result import (
        AnomalyFacts,
        BudgetFacts,
        ChangeFacts,
        EngineResult,
        Facts,
        HoldoutFacts,
        IciFacts,
        IciResult,
        ResponseFacts,
        ReturnsFacts,
        TransformFacts,
    )
    from .returns import channel_returns
    from .rowwise import contributions
    from .scm import FittedSCM, fit_scm
    from .selection import Selection
    from .sensitivity import confounding_sensitivity, robustness_value
    from .sparse import SparseNode, flag_sparse_nodes, sparse_columns
    from .transformfit import fit_transforms, transform_table
    from .transforms import Transform, TransformSpec, apply_transform
    from .validation import validate_inputs

#: Where each public name lives: the package imports a module (and its numeric stack: scipy, scikit-learn)
#: only when one of its names is first used, so code that only declares assets loads fast. No public name may
#: be a submodule's name: importing that submodule would set it as the package's attribute, hiding the function
#: (tests/test_lazy_imports.py checks every name after importing every submodule).
_LAZY = {
    "attribute_anomalies": "anomalies",
    "AnomalyFacts": "result",
    "change_attribution": "attribution",
    "time_split_fit": "holdout",
    "HoldoutFacts": "result",
    "channel_returns": "returns",
    "optimise_budget": "budget",
    "calibrate_scm": "calibration",
    "CalibrationFacts": "calibration",
    "lift_test_disagreements": "calibration",
    "NonlinearCalibrationError": "calibration",
    "validate_lift_tests": "experiments",
    "suggest_edits": "markov",
    "confounding_sensitivity": "sensitivity",
    "robustness_value": "sensitivity",
    "contributions": "rowwise",
    "level_effects": "effects",
    "linear_ici": "effects",
    "total_effects": "effects",
    "compute_ici": "ici",
    "estimate_ici": "ici",
    "ici_from_scm": "ici",
    "Interventional": "interventions",
    "local_markov_test": "markov",
    "BoostingMechanism": "mechanisms",
    "EmpiricalRoot": "mechanisms",
    "LinearMechanism": "mechanisms",
    "Mechanism": "mechanisms",
    "Poly2Mechanism": "mechanisms",
    "SplineMechanism": "mechanisms",
    "make_mechanism": "mechanisms",
    "MonteCarlo": "montecarlo",
    "Bootstrap": "resampling",
    "optimal_block_length": "resampling",
    "resampling_plan": "resampling",
    "spend_response": "response",
    "BudgetFacts": "result",
    "ChangeFacts": "result",
    "EngineResult": "result",
    "Facts": "result",
    "IciFacts": "result",
    "IciResult": "result",
    "ResponseFacts": "result",
    "ReturnsFacts": "result",
    "FittedSCM": "scm",
    "fit_scm": "scm",
    "Selection": "selection",
    "fit_transforms": "transformfit",
    "transform_table": "transformfit",
    "Transform": "transforms",
    "TransformSpec": "transforms",
    "apply_transform": "transforms",
    "TransformFacts": "result",
    "SparseNode": "sparse",
    "flag_sparse_nodes": "sparse",
    "sparse_columns": "sparse",
    "validate_inputs": "validation",
}

ENGINE_VERSION = "0.2.0"

__all__ = [
    "ENGINE_VERSION",
    "AnomalyFacts",
    "BoostingMechanism",
    "Bootstrap",
    "BudgetFacts",
    "CalibrationFacts",
    "NonlinearCalibrationError",
    "ChangeFacts",
    "EmpiricalRoot",
    "EngineResult",
    "Facts",
    "FittedSCM",
    "HoldoutFacts",
    "IciFacts",
    "IciResult",
    "Interventional",
    "LinearMechanism",
    "Mechanism",
    "Poly2Mechanism",
    "ResponseFacts",
    "ReturnsFacts",
    "Selection",
    "SparseNode",
    "SplineMechanism",
    "Transform",
    "TransformFacts",
    "TransformSpec",
    "apply_transform",
    "attribute_anomalies",
    "calibrate_scm",
    "confounding_sensitivity",
    "change_attribution",
    "channel_returns",
    "compute_ici",
    "contributions",
    "estimate_ici",
    "fit_scm",
    "fit_transforms",
    "flag_sparse_nodes",
    "ici_from_scm",
    "lift_test_disagreements",
    "level_effects",
    "linear_ici",
    "transform_table",
    "local_markov_test",
    "make_mechanism",
    "MonteCarlo",
    "optimal_block_length",
    "optimise_budget",
    "resampling_plan",
    "robustness_value",
    "sparse_columns",
    "spend_response",
    "time_split_fit",
    "suggest_edits",
    "total_effects",
    "validate_inputs",
    "validate_lift_tests",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
