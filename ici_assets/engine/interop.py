"""DoWhy interoperability: a fitted FittedSCM as a dowhy.gcm InvertibleStructuralCausalModel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from dowhy import gcm
from dowhy.gcm.causal_models import PARENTS_DURING_FIT
from dowhy.gcm.ml.prediction_model import PredictionModel
from dowhy.graph import get_ordered_predecessors

from .mechanisms import Mechanism

if TYPE_CHECKING:
    from .scm import FittedSCM


class MechanismPredictionModel(PredictionModel):
    """A dowhy.gcm prediction model backed by one of our mechanism objects."""

    def __init__(self, mechanism: Mechanism):
        self.mechanism = mechanism

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.mechanism.fit(np.asarray(X, dtype=float), np.asarray(Y, dtype=float).ravel())

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.mechanism.predict(np.asarray(X, dtype=float)).reshape(-1, 1)

    def clone(self) -> MechanismPredictionModel:
        return MechanismPredictionModel(self.mechanism.clone())


def to_dowhy(scm: FittedSCM) -> Any:
    """Fitted InvertibleStructuralCausalModel: empirical roots, additive noise models with our mechanisms."""
    model = gcm.InvertibleStructuralCausalModel(nx.DiGraph(scm.graph))
    for node in scm.order:
        if not scm.parents[node]:
            mech: Any = gcm.EmpiricalDistribution()
            mech.fit(scm.noise[node].reshape(-1, 1))
        else:
            if get_ordered_predecessors(model.graph, node) != scm.parents[node]:
                raise ValueError(f"parent order of node {node!r} differs from DoWhy's sorted order")
            mech = gcm.AdditiveNoiseModel(
                MechanismPredictionModel(scm.mechanisms[node]), noise_model=gcm.EmpiricalDistribution()
            )
            mech.noise_model.fit(scm.noise[node].reshape(-1, 1))
        model.set_causal_mechanism(node, mech)
        model.graph.nodes[node][PARENTS_DURING_FIT] = get_ordered_predecessors(model.graph, node)
    return model
