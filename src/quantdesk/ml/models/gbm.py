"""Gradient-boosted trees (LightGBM) for direction and return forecasts.

Small, regularised defaults that train in well under a second on a few thousand daily rows:
shallow trees (15 leaves), at least 50 samples a leaf, row and column subsampling, L2
penalty, learning rate 0.03. Runs are reproducible: every LightGBM seed derives from
``seed``, ``deterministic=True`` with row-wise histograms, and ``n_jobs`` threads (1 by
default, so results do not depend on the machine's cores). Missing feature values (NaN) are
handled by LightGBM itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.ml.models.base import FloatArray, Task, check_training, up_labels

__all__ = ["LightGBMDirection", "LightGBMReturn", "LightGBMSettings"]


@dataclass(frozen=True, slots=True)
class LightGBMSettings:
    """LightGBM hyper-parameters (names as in LightGBM's scikit-learn API).

    Attributes
    ----------
    n_estimators
        Boosting rounds.
    learning_rate
        Shrinkage per round.
    num_leaves, max_depth, min_child_samples
        Tree size limits (``max_depth=-1``: no depth limit beyond the leaves).
    subsample, subsample_freq, colsample_bytree
        Row bagging fraction and frequency, feature fraction per tree.
    reg_lambda
        L2 penalty on leaf values.
    seed
        Seed of every random choice.
    n_jobs
        Threads.
    """

    n_estimators: int = 200
    learning_rate: float = 0.03
    num_leaves: int = 15
    max_depth: int = -1
    min_child_samples: int = 50
    subsample: float = 0.8
    subsample_freq: int = 1
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    seed: int = 0
    n_jobs: int = 1

    def lightgbm_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of ``LGBMClassifier`` / ``LGBMRegressor``."""
        kwargs = asdict(self)
        kwargs["random_state"] = kwargs.pop("seed")
        return {**kwargs, "deterministic": True, "force_row_wise": True, "verbose": -1}


def _matrix(features: pd.DataFrame) -> pd.DataFrame:
    return features.astype(np.float64)


class LightGBMDirection:
    """LightGBM binary classifier of the direction label (P(up) = class 1).

    Parameters
    ----------
    settings
        Hyper-parameters; :class:`LightGBMSettings` defaults when omitted.
    threshold
        ``predict`` calls up when P(up) > threshold.

    Notes
    -----
    A training set with one class only gives a constant P(up) of 0 or 1 (nothing to learn).
    """

    task: Task = "direction"

    def __init__(self, settings: LightGBMSettings | None = None, threshold: float = 0.5) -> None:
        self.settings = settings or LightGBMSettings()
        self.threshold = threshold
        self._model: Any = None
        self._constant: float | None = None
        self._columns: list[str] = []

    @property
    def name(self) -> str:
        """``lightgbm_direction``."""
        return "lightgbm_direction"

    @property
    def params(self) -> dict[str, Any]:
        """The hyper-parameters and the threshold."""
        return {**asdict(self.settings), "threshold": self.threshold}

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> LightGBMDirection:
        """Fit on the rows of ``features``; labels +1 / -1 (up when > 0)."""
        from lightgbm import LGBMClassifier

        frame, values = check_training(features, labels, self.name)
        target = up_labels(values)
        self._columns = [str(c) for c in frame.columns]
        if np.unique(target).size < 2:
            self._model, self._constant = None, float(target[0])
            return self
        self._constant = None
        self._model = LGBMClassifier(**self.settings.lightgbm_kwargs())
        self._model.fit(_matrix(frame), target)
        return self

    def predict_proba(self, features: pd.DataFrame) -> FloatArray:
        """Return P(up) per row."""
        if self._constant is not None:
            return np.full(len(features), self._constant)
        if self._model is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        probabilities = self._model.predict_proba(_matrix(features[self._columns]))
        return np.asarray(probabilities[:, 1], dtype=np.float64)

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return +1.0 where P(up) > threshold, else -1.0."""
        return np.where(self.predict_proba(features) > self.threshold, 1.0, -1.0)

    def feature_importance(self) -> pd.Series[float]:
        """Return the split-gain importance per feature (empty before a real fit)."""
        if self._model is None:
            return pd.Series(dtype=np.float64)
        gains = self._model.booster_.feature_importance(importance_type="gain")
        return pd.Series(np.asarray(gains, np.float64), index=self._columns)


class LightGBMReturn:
    """LightGBM regressor (squared error) of the forward-return label.

    Parameters
    ----------
    settings
        Hyper-parameters; :class:`LightGBMSettings` defaults when omitted.
    """

    task: Task = "return"

    def __init__(self, settings: LightGBMSettings | None = None) -> None:
        self.settings = settings or LightGBMSettings()
        self._model: Any = None
        self._columns: list[str] = []

    @property
    def name(self) -> str:
        """``lightgbm_return``."""
        return "lightgbm_return"

    @property
    def params(self) -> dict[str, Any]:
        """The hyper-parameters."""
        return asdict(self.settings)

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> LightGBMReturn:
        """Fit on the rows of ``features``."""
        from lightgbm import LGBMRegressor

        frame, values = check_training(features, labels, self.name)
        self._columns = [str(c) for c in frame.columns]
        self._model = LGBMRegressor(**self.settings.lightgbm_kwargs())
        self._model.fit(_matrix(frame), values)
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return the forecast forward return per row."""
        if self._model is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        result: npt.NDArray[Any] = self._model.predict(_matrix(features[self._columns]))
        return np.asarray(result, dtype=np.float64)
