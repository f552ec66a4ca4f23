"""Pure-Python causal engine: additive noise SCMs and intrinsic causal influence (ICI).

No Dagster or DuckDB here; usable from a notebook.
"""

from .contributions import contributions
from .ici import compute_ici, ici_from_scm
from .linear import total_effects
from .markov import local_markov_test
from .scm import FittedSCM, fit_scm
from .validation import validate_inputs

ENGINE_VERSION = "0.1.0"

__all__ = [
    "ENGINE_VERSION",
    "FittedSCM",
    "compute_ici",
    "contributions",
    "fit_scm",
    "ici_from_scm",
    "local_markov_test",
    "total_effects",
    "validate_inputs",
]
