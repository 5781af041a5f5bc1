"""AutoML: neural architecture search with an RNN controller, and KerasTuner hyperparameter search.

* :mod:`kerasdl.automl.nas` — :func:`nas_search` (LSTM controller + REINFORCE, Zoph & Le 2017),
  :func:`random_search` (the same budget, uniform sampling), :class:`SearchSpace`, :func:`child_cnn`.
* :mod:`kerasdl.automl.tuner` — :func:`make_hypermodel` / :func:`tune` (KerasTuner RandomSearch,
  Hyperband) over any kerasdl builder.
"""

from kerasdl.automl.nas import (
    NASController,
    SearchResult,
    SearchSpace,
    child_cnn,
    controller_update,
    nas_search,
    plot_search,
    random_search,
    train_child,
)
from kerasdl.automl.tuner import TUNERS, make_hypermodel, tune

__all__ = [
    "NASController",
    "SearchResult",
    "SearchSpace",
    "TUNERS",
    "child_cnn",
    "controller_update",
    "make_hypermodel",
    "nas_search",
    "plot_search",
    "random_search",
    "train_child",
    "tune",
]
