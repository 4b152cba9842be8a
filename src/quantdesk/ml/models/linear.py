"""A regularised linear model of forward returns (scikit-learn pipeline).

Pipeline: median imputation of missing features (medians of the training rows), z-scoring
(training means and standard deviations), then ridge ``min ||y - Xb||^2 + alpha ||b||^2``
(``l1_ratio = 0``) or elastic net ``min ||y - Xb||^2 / (2n) + alpha (l1_ratio ||b||_1 +
(1 - l1_ratio) ||b||^2 / 2)`` (scikit-learn's conventions). Every statistic comes from the
training rows only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError
from quantdesk.ml.models.base import FloatArray, Task, check_training

__all__ = ["LinearReturn"]


class LinearReturn:
    """Ridge or elastic-net regression of the forward-return label on scaled features.

    Parameters
    ----------
    alpha
        Penalty strength, > 0.
    l1_ratio
        0 for ridge; in (0, 1] for elastic net (1 = lasso).
    seed
        Seed of the elastic net's coordinate order.
    """

    task: Task = "return"

    def __init__(self, alpha: float = 1.0, l1_ratio: float = 0.0, seed: int = 0) -> None:
        if not (np.isfinite(alpha) and alpha > 0):
            raise ValidationError("invalid alpha", [Issue("alpha", f"got {alpha}; use > 0")])
        if not (np.isfinite(l1_ratio) and 0 <= l1_ratio <= 1):
            raise ValidationError(
                "invalid l1_ratio", [Issue("l1_ratio", f"got {l1_ratio}; use 0..1")]
            )
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.seed = seed
        self._pipeline: Any = None
        self._columns: list[str] = []

    @property
    def name(self) -> str:
        """``ridge_return`` or ``elastic_net_return``."""
        return "ridge_return" if self.l1_ratio == 0 else "elastic_net_return"

    @property
    def params(self) -> dict[str, Any]:
        """The penalty settings."""
        return {"alpha": self.alpha, "l1_ratio": self.l1_ratio, "seed": self.seed}

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> LinearReturn:
        """Fit imputer, scaler and regression on the training rows."""
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import ElasticNet, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        frame, values = check_training(features, labels, self.name)
        self._columns = [str(c) for c in frame.columns]
        regression = (
            Ridge(alpha=self.alpha)
            if self.l1_ratio == 0
            else ElasticNet(
                alpha=self.alpha, l1_ratio=self.l1_ratio, random_state=self.seed, max_iter=10_000
            )
        )
        self._pipeline = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            regression,
        )
        self._pipeline.fit(frame.to_numpy(np.float64), values)
        return self

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return the forecast forward return per row."""
        if self._pipeline is None:
            raise ValueError(f"{self.name}: call fit before predicting")
        matrix = features[self._columns].to_numpy(np.float64)
        return np.asarray(self._pipeline.predict(matrix), dtype=np.float64)

    def coefficients(self) -> pd.Series[float]:
        """Return the coefficients on the z-scored features (empty before fit)."""
        if self._pipeline is None:
            return pd.Series(dtype=np.float64)
        coefficients = np.asarray(self._pipeline[-1].coef_, dtype=np.float64)
        return pd.Series(coefficients, index=self._columns)
