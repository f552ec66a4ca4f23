"""Pure-Python causal engine: additive noise SCMs, intrinsic causal influence (ICI), and the decisions a fitted
SCM answers (spend response curves, attribution of a change between two samples, budget split).

No Dagster or DuckDB here; usable from a notebook.
"""

from .attribution import change_attribution
from .budget import optimise_budget
from .contributions import contributions
from .effects import linear_ici, total_effects
from .ici import compute_ici, estimate_ici, ici_from_scm, resampling_plan
from .interventions import Interventional
from .markov import local_markov_test
from .mechanisms import (
    BoostingMechanism,
    EmpiricalRoot,
    LinearMechanism,
    Mechanism,
    Poly2Mechanism,
    SplineMechanism,
    make_mechanism,
)
from .resampling import optimal_block_length
from .response import spend_response
from .result import IciResult
from .scm import FittedSCM, fit_scm
from .selection import Selection
from .sparse import SparseNode, flag_sparse_nodes, sparse_columns
from .validation import validate_inputs

ENGINE_VERSION = "0.2.0"

__all__ = [
    "ENGINE_VERSION",
    "BoostingMechanism",
    "EmpiricalRoot",
    "FittedSCM",
    "IciResult",
    "Interventional",
    "LinearMechanism",
    "Mechanism",
    "Poly2Mechanism",
    "Selection",
    "SparseNode",
    "SplineMechanism",
    "change_attribution",
    "compute_ici",
    "contributions",
    "estimate_ici",
    "fit_scm",
    "flag_sparse_nodes",
    "ici_from_scm",
    "linear_ici",
    "local_markov_test",
    "make_mechanism",
    "optimal_block_length",
    "optimise_budget",
    "resampling_plan",
    "sparse_columns",
    "spend_response",
    "total_effects",
    "validate_inputs",
]
