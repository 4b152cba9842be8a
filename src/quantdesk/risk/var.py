"""Value at risk (VaR) and expected shortfall (CVaR/ES) of a return series or a portfolio.

Conventions used by every function here:

- **Inputs.** ``returns`` holds simple (not log) periodic returns: a 1-D array or Series for a
  single series, or a 2-D array / DataFrame of asset returns (rows = periods, columns = assets)
  together with ``weights`` (fractions of portfolio value; whatever does not add up to 1 is cash
  earning zero). Rows with a missing value in a used column are dropped and counted in
  ``details["dropped_rows"]``; infinite values or returns of -100 % or worse are rejected.
- **Portfolio.** Weights are held at the start of the horizon and not rebalanced within it
  (buy and hold): the portfolio's h-period return is ``sum_i w_i R_i`` where ``R_i`` is asset
  ``i``'s compounded h-period return. For one period this is the usual ``w · r``.
- **Sign.** ``var`` and ``cvar`` are *losses* reported as positive fractions of portfolio value
  (0.023 = a 2.3 % loss); ``var_amount``/``cvar_amount`` are the same in currency when a
  ``portfolio_value`` is given. At confidence ``c`` the tail probability is ``alpha = 1 - c``.
- **Historical VaR** is minus the empirical ``alpha``-quantile with linear interpolation
  (``numpy.percentile``'s default, the definition of empyrical's ``value_at_risk``).
  **Historical CVaR** is minus the mean of the ``k + 1`` smallest outcomes with
  ``k = floor((n - 1) * alpha)`` (empyrical's ``conditional_value_at_risk``); this equals the
  mean of the outcomes at or below the VaR quantile except when several outcomes tie at the
  cut-off (quantstats' historical CVaR then averages all tied values).
- **Horizon.** Historical VaR over ``h > 1`` periods uses overlapping h-period compounded
  returns when at least ``min_windows`` windows exist (``scaling="overlapping"``), else the
  one-period figures times ``sqrt(h)`` (``scaling="sqrt_time"``). Parametric methods scale an
  i.i.d. sum: mean ``h * mu``, volatility ``sqrt(h) * sigma``, skewness ``S / sqrt(h)`` and
  excess kurtosis ``K / h`` (``scaling="iid_moments"``). Monte Carlo simulates every period of
  every path and compounds it (``scaling="simulated"``).
- **Parametric normal** uses the sample mean and the sample standard deviation (``ddof=1``),
  the definition of quantstats' ``value_at_risk`` and parametric CVaR; ``include_mean=False``
  drops the mean.
- **Cornish–Fisher** replaces the normal quantile ``z`` by
  ``z + (z² - 1) S/6 + (z³ - 3z) K/24 - (2z³ - 5z) S²/36`` with the bias-corrected sample
  skewness ``S`` and excess kurtosis ``K`` (pandas' ``skew``/``kurt``). Its CVaR integrates that
  quantile over the tail in closed form:
  ``ES = -mu + sigma * phi(z)/alpha * (1 + zS/6 + (z² - 1)K/24 + (1 - 2z²)S²/36)``. The
  expansion is only a valid distribution while the quantile map stays increasing (moderate
  ``S`` and ``K``); extreme moments give unreliable figures.

Monte Carlo VaR (``method="mc_*"``) lives in :mod:`quantdesk.risk.montecarlo`, which
simulates scenarios from the same inputs and measures them with the historical definitions.

Component VaR (:func:`component_var`) is the parametric Euler decomposition: components are
``w_i * dVaR/dw_i`` and add up to the total VaR (``simulated_component_var`` in
:mod:`quantdesk.risk.montecarlo` does the same from simulated scenarios).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from quantdesk.core.errors import Issue, ValidationError

FloatArray: TypeAlias = npt.NDArray[np.float64]
#: Returns of one series (1-D) or of several assets (2-D, rows = periods).
ReturnsLike: TypeAlias = "pd.Series[float] | pd.DataFrame | npt.ArrayLike"
#: Portfolio weights by column name, or in column order.
WeightsLike: TypeAlias = "Mapping[str, float] | pd.Series[float] | npt.ArrayLike"
#: A seed or a ready generator; ``None`` draws fresh entropy.
SeedLike: TypeAlias = "int | np.random.Generator | None"
Details: TypeAlias = Mapping[str, float | int | str]
SimulationMethod = Literal["normal", "student_t", "bootstrap", "filtered"]
VolatilityFilter = Literal["garch", "ewma"]
HorizonRule = Literal["auto", "overlapping", "sqrt_time"]
VaRMethod = Literal[
    "historical",
    "parametric",
    "cornish_fisher",
    "mc_normal",
    "mc_student_t",
    "mc_bootstrap",
    "mc_filtered",
]

_SIMULATION_METHODS: tuple[str, ...] = ("normal", "student_t", "bootstrap", "filtered")


@dataclass(frozen=True, slots=True)
class VaRResult:
    """Value at risk and expected shortfall of one estimate.

    ``var``/``cvar`` are positive loss fractions; ``scaling`` says how the horizon was reached
    (``"none"``, ``"overlapping"``, ``"sqrt_time"``, ``"iid_moments"`` or ``"simulated"``);
    ``details`` carries the method's own figures (mean, volatility, skewness, degrees of
    freedom, paths, seed...).
    """

    method: str
    confidence: float
    horizon: int
    var: float
    cvar: float
    scaling: str
    observations: int
    var_amount: float | None = None
    cvar_amount: float | None = None
    details: Details = field(default_factory=dict)

    @property
    def expected_shortfall(self) -> float:
        """Return ``cvar`` under its other name."""
        return self.cvar


@dataclass(frozen=True, slots=True)
class ComponentVaR:
    """Per-position decomposition of VaR and CVaR; components add up to the totals."""

    method: str
    confidence: float
    horizon: int
    symbols: tuple[str, ...]
    weights: FloatArray
    var: float
    cvar: float
    marginal_var: FloatArray
    component_var: FloatArray
    marginal_cvar: FloatArray
    component_cvar: FloatArray
    portfolio_value: float | None = None
    details: Details = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per position: weight, marginal/component VaR and CVaR, shares.

        With a ``portfolio_value`` the frame also has ``component_var_amount`` and
        ``component_cvar_amount`` in currency.
        """
        frame = pd.DataFrame(
            {
                "weight": self.weights,
                "marginal_var": self.marginal_var,
                "component_var": self.component_var,
                "var_share": self.component_var / self.var if self.var != 0 else np.nan,
                "marginal_cvar": self.marginal_cvar,
                "component_cvar": self.component_cvar,
                "cvar_share": self.component_cvar / self.cvar if self.cvar != 0 else np.nan,
            },
            index=pd.Index(list(self.symbols), name="symbol"),
        )
        if self.portfolio_value is not None:
            frame["component_var_amount"] = self.component_var * self.portfolio_value
            frame["component_cvar_amount"] = self.component_cvar * self.portfolio_value
        return frame


# --- input checks ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedReturns:
    """Validated returns: a periods × assets ``matrix``, ``weights`` and column ``symbols``."""

    matrix: FloatArray
    weights: FloatArray
    symbols: tuple[str, ...]
    dropped_rows: int

    @property
    def portfolio(self) -> FloatArray:
        """Return the portfolio's one-period returns ``matrix @ weights``."""
        return np.asarray(self.matrix @ self.weights, dtype=np.float64)


def _invalid(location: str, reason: str, message: str | None = None) -> ValidationError:
    return ValidationError(message or f"invalid {location}", [Issue(location, reason)])


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float or raise ``ValidationError`` unless 0.5 < c < 1."""
    value = float(confidence)
    if not 0.5 < value < 1.0:
        raise _invalid(
            "confidence",
            f"got {confidence!r}; give the probability of not exceeding the loss, strictly "
            "between 0.5 and 1 (e.g. 0.95 or 0.99), not the tail probability",
        )
    return value


def check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    """Return ``value`` or raise ``ValidationError`` unless it is an int ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise _invalid(name, f"got {value!r}; give a whole number >= {minimum}")
    return int(value)


def check_positive(name: str, value: float | None, *, allow_none: bool = True) -> float | None:
    """Return ``value`` or raise ``ValidationError`` unless it is finite and > 0."""
    if value is None:
        if allow_none:
            return None
        raise _invalid(name, "a value is required")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise _invalid(name, f"got {value!r}; give a finite number > 0")
    return number


def _weights_vector(
    weights: WeightsLike, columns: list[str]
) -> tuple[FloatArray, list[int], tuple[str, ...]]:
    if isinstance(weights, Mapping | pd.Series):
        items = [(str(key), float(value)) for key, value in dict(weights).items()]
        unknown = [key for key, _ in items if key not in columns]
        if unknown:
            raise ValidationError(
                "weights name symbols that are not in the returns",
                [
                    Issue("weights", f"no returns column '{key}' (have: {', '.join(columns)})")
                    for key in unknown
                ],
            )
        positions = [columns.index(key) for key, _ in items]
        vector = np.array([value for _, value in items], dtype=np.float64)
        names = tuple(key for key, _ in items)
    else:
        vector = np.asarray(weights, dtype=np.float64).reshape(-1)
        if vector.shape[0] != len(columns):
            raise _invalid(
                "weights", f"got {vector.shape[0]} weights for {len(columns)} return columns"
            )
        positions = list(range(len(columns)))
        names = tuple(columns)
    if vector.size == 0 or not np.all(np.isfinite(vector)):
        raise _invalid("weights", "weights must be a non-empty set of finite numbers")
    return vector, positions, names


def prepare_returns(
    returns: ReturnsLike, weights: WeightsLike | None = None, *, minimum_rows: int = 2
) -> PreparedReturns:
    """Validate returns (and weights) into a periods × assets matrix; see the module docs."""
    if isinstance(returns, pd.DataFrame):
        columns = [str(column) for column in returns.columns]
        raw = returns.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(returns, pd.Series):
        columns = [str(returns.name) if returns.name is not None else "portfolio"]
        raw = returns.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
    else:
        raw = np.asarray(returns, dtype=np.float64)
        if raw.ndim == 1:
            raw = raw.reshape(-1, 1)
            columns = ["portfolio"]
        elif raw.ndim == 2:
            columns = [f"asset_{index}" for index in range(raw.shape[1])]
        else:
            raise _invalid("returns", f"expected a 1-D or 2-D array, got shape {raw.shape}")
    if raw.shape[1] == 1 and weights is None:
        vector, positions, names = np.ones(1), [0], tuple(columns[:1])
    elif weights is None:
        raise _invalid(
            "weights",
            f"returns have {raw.shape[1]} columns; give weights to form a portfolio",
        )
    else:
        vector, positions, names = _weights_vector(weights, columns)
    matrix = raw[:, positions]
    if np.isinf(matrix).any():
        row = int(np.argwhere(np.isinf(matrix))[0, 0])
        raise ValidationError(
            "returns contain infinite values", [Issue(f"row {row}", "infinite return", row=row)]
        )
    if (matrix <= -1.0).any():
        row = int(np.argwhere(matrix <= -1.0)[0, 0])
        raise ValidationError(
            "returns must be simple returns above -100 %",
            [Issue(f"row {row}", "a return of -100 % or worse cannot be compounded", row=row)],
        )
    keep = ~np.isnan(matrix).any(axis=1)
    matrix = np.ascontiguousarray(matrix[keep])
    if matrix.shape[0] < minimum_rows:
        raise _invalid(
            "returns",
            f"{matrix.shape[0]} complete rows after dropping missing values; "
            f"need at least {minimum_rows}",
        )
    return PreparedReturns(matrix, vector, names, int((~keep).sum()))


def _amount(value: float, portfolio_value: float | None) -> float | None:
    return None if portfolio_value is None else value * portfolio_value


def _result(
    method: str,
    confidence: float,
    horizon: int,
    var: float,
    cvar: float,
    scaling: str,
    observations: int,
    portfolio_value: float | None,
    details: dict[str, float | int | str],
) -> VaRResult:
    return VaRResult(
        method=method,
        confidence=confidence,
        horizon=horizon,
        var=float(var),
        cvar=float(cvar),
        scaling=scaling,
        observations=observations,
        var_amount=_amount(float(var), portfolio_value),
        cvar_amount=_amount(float(cvar), portfolio_value),
        details=details,
    )


def tail_measures(outcomes: FloatArray, confidence: float) -> tuple[float, float]:
    """Return (VaR, CVaR) of ``outcomes`` as positive losses (empyrical's definitions)."""
    alpha = 1.0 - confidence
    quantile = float(np.percentile(outcomes, 100.0 * alpha))
    cutoff = int((outcomes.shape[0] - 1) * alpha)
    tail = np.partition(outcomes, cutoff)[: cutoff + 1]
    return -quantile, -float(tail.mean())


def compounded_windows(matrix: FloatArray, horizon: int) -> FloatArray:
    """Return every overlapping ``horizon``-period compounded return, column by column."""
    logs = np.vstack([np.zeros((1, matrix.shape[1])), np.cumsum(np.log1p(matrix), axis=0)])
    return np.asarray(np.expm1(logs[horizon:] - logs[:-horizon]), dtype=np.float64)


# --- historical and parametric ------------------------------------------------------------


def historical_var(
    returns: ReturnsLike,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    weights: WeightsLike | None = None,
    portfolio_value: float | None = None,
    horizon_rule: HorizonRule = "auto",
    min_windows: int = 250,
) -> VaRResult:
    """Return historical (empirical-quantile) VaR and CVaR.

    Parameters
    ----------
    returns
        Simple returns: one series, or asset returns (columns) with ``weights``.
    confidence
        Probability of not exceeding the loss, e.g. 0.95 or 0.99.
    horizon
        Periods ahead (days for daily returns).
    weights
        Portfolio weights by column name (mapping/Series) or in column order (array).
    portfolio_value
        Optional value in currency, to report ``var_amount``/``cvar_amount``.
    horizon_rule
        ``"auto"`` uses overlapping compounded windows when at least ``min_windows`` exist,
        else ``sqrt(horizon)`` scaling; ``"overlapping"``/``"sqrt_time"`` force one rule.
    min_windows
        Fewest overlapping windows ``"auto"`` accepts (consecutive windows share
        ``horizon - 1`` periods, so they are far from independent).

    Returns
    -------
    VaRResult
        ``scaling`` is ``"none"``, ``"overlapping"`` or ``"sqrt_time"``.

    Raises
    ------
    ValidationError
        On bad confidence, horizon, weights or returns, or ``"overlapping"`` without a window.
    """
    confidence = check_confidence(confidence)
    horizon = check_positive_int("horizon", horizon)
    value = check_positive("portfolio_value", portfolio_value)
    if horizon_rule not in ("auto", "overlapping", "sqrt_time"):
        raise _invalid("horizon_rule", f"got {horizon_rule!r}; use auto, overlapping, sqrt_time")
    inputs = prepare_returns(returns, weights)
    rows = inputs.matrix.shape[0]
    windows = rows - horizon + 1
    details: dict[str, float | int | str] = {"dropped_rows": inputs.dropped_rows}
    if horizon == 1:
        scaling = "none"
        var, cvar = tail_measures(inputs.portfolio, confidence)
    elif horizon_rule == "overlapping" or (horizon_rule == "auto" and windows >= min_windows):
        if windows < 1:
            raise _invalid("horizon", f"{rows} rows hold no {horizon}-period window")
        scaling = "overlapping"
        outcomes = compounded_windows(inputs.matrix, horizon) @ inputs.weights
        var, cvar = tail_measures(outcomes, confidence)
        details["windows"] = windows
    else:
        scaling = "sqrt_time"
        one_var, one_cvar = tail_measures(inputs.portfolio, confidence)
        var, cvar = one_var * math.sqrt(horizon), one_cvar * math.sqrt(horizon)
        details["windows"] = max(windows, 0)
    return _result("historical", confidence, horizon, var, cvar, scaling, rows, value, details)


def _moments(series: FloatArray) -> tuple[float, float]:
    mean = float(series.mean())
    std = float(series.std(ddof=1))
    return mean, std


def parametric_var(
    returns: ReturnsLike,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    weights: WeightsLike | None = None,
    portfolio_value: float | None = None,
    include_mean: bool = True,
) -> VaRResult:
    """Return normal (variance–covariance) VaR and CVaR.

    ``VaR = -(h mu + sqrt(h) sigma z)`` and ``CVaR = -h mu + sqrt(h) sigma phi(z) / alpha``
    with ``z = Phi^-1(alpha)``, ``mu``/``sigma`` the sample mean and standard deviation
    (``ddof=1``) of the portfolio's periodic returns (``sigma² = w' Sigma w``).

    Parameters
    ----------
    returns, confidence, horizon, weights, portfolio_value
        As for :func:`historical_var`.
    include_mean
        ``False`` sets ``mu = 0`` (a pure volatility VaR).

    Returns
    -------
    VaRResult
        ``details`` has ``mean``, ``volatility`` and ``z``.

    Raises
    ------
    ValidationError
        On bad confidence, horizon, weights or returns.
    """
    confidence = check_confidence(confidence)
    horizon = check_positive_int("horizon", horizon)
    value = check_positive("portfolio_value", portfolio_value)
    inputs = prepare_returns(returns, weights)
    mean, std = _moments(inputs.portfolio)
    mean = mean if include_mean else 0.0
    alpha = 1.0 - confidence
    z = float(stats.norm.ppf(alpha))
    var = -(horizon * mean + math.sqrt(horizon) * std * z)
    cvar = -horizon * mean + math.sqrt(horizon) * std * float(stats.norm.pdf(z)) / alpha
    details: dict[str, float | int | str] = {
        "mean": mean,
        "volatility": std,
        "z": z,
        "dropped_rows": inputs.dropped_rows,
    }
    scaling = "none" if horizon == 1 else "iid_moments"
    rows = inputs.matrix.shape[0]
    return _result("parametric", confidence, horizon, var, cvar, scaling, rows, value, details)


def cornish_fisher_quantile(z: float, skewness: float, excess_kurtosis: float) -> float:
    """Return the Cornish–Fisher adjusted standard quantile for normal quantile ``z``."""
    s, k = skewness, excess_kurtosis
    return (
        z
        + (z**2 - 1.0) * s / 6.0
        + (z**3 - 3.0 * z) * k / 24.0
        - (2.0 * z**3 - 5.0 * z) * s**2 / 36.0
    )


def cornish_fisher_tail_mean(confidence: float, skewness: float, excess_kurtosis: float) -> float:
    """Return the mean of the Cornish–Fisher standard quantile over the tail ``p < alpha``.

    ``(1/alpha) * integral_0^alpha z_cf(Phi^-1(p)) dp``, in closed form
    ``-phi(z)/alpha * (1 + zS/6 + (z² - 1)K/24 + (1 - 2z²)S²/36)`` with ``z = Phi^-1(alpha)``;
    the normal value ``-phi(z)/alpha`` when ``S = K = 0``.
    """
    alpha = 1.0 - check_confidence(confidence)
    z = float(stats.norm.ppf(alpha))
    s, k = skewness, excess_kurtosis
    bracket = 1.0 + z * s / 6.0 + (z**2 - 1.0) * k / 24.0 + (1.0 - 2.0 * z**2) * s**2 / 36.0
    return -float(stats.norm.pdf(z)) / alpha * bracket


def cornish_fisher_var(
    returns: ReturnsLike,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    weights: WeightsLike | None = None,
    portfolio_value: float | None = None,
    include_mean: bool = True,
) -> VaRResult:
    """Return Cornish–Fisher (skewness/kurtosis adjusted) VaR and CVaR.

    See the module docstring for the expansion and its closed-form tail integral. Over ``h``
    periods the i.i.d. sum has skewness ``S / sqrt(h)`` and excess kurtosis ``K / h``.

    Parameters
    ----------
    returns, confidence, horizon, weights, portfolio_value, include_mean
        As for :func:`parametric_var`.

    Returns
    -------
    VaRResult
        ``details`` has ``mean``, ``volatility``, ``skewness``, ``excess_kurtosis`` (one
        period, bias-corrected), ``z`` and ``z_cornish_fisher`` (at the horizon).

    Raises
    ------
    ValidationError
        On bad input, fewer than 4 rows, or a constant series.
    """
    confidence = check_confidence(confidence)
    horizon = check_positive_int("horizon", horizon)
    value = check_positive("portfolio_value", portfolio_value)
    inputs = prepare_returns(returns, weights, minimum_rows=4)
    series = inputs.portfolio
    mean, std = _moments(series)
    if std == 0.0:
        raise _invalid("returns", "the portfolio returns are constant; skewness is undefined")
    skewness = float(stats.skew(series, bias=False))
    kurtosis = float(stats.kurtosis(series, fisher=True, bias=False))
    skew_h, kurt_h = skewness / math.sqrt(horizon), kurtosis / horizon
    mean = mean if include_mean else 0.0
    alpha = 1.0 - confidence
    z = float(stats.norm.ppf(alpha))
    z_cf = cornish_fisher_quantile(z, skew_h, kurt_h)
    sigma_h = math.sqrt(horizon) * std
    var = -(horizon * mean + sigma_h * z_cf)
    cvar = -(horizon * mean + sigma_h * cornish_fisher_tail_mean(confidence, skew_h, kurt_h))
    details: dict[str, float | int | str] = {
        "mean": mean,
        "volatility": std,
        "skewness": skewness,
        "excess_kurtosis": kurtosis,
        "z": z,
        "z_cornish_fisher": z_cf,
        "dropped_rows": inputs.dropped_rows,
    }
    scaling = "none" if horizon == 1 else "iid_moments"
    rows = series.shape[0]
    return _result("cornish_fisher", confidence, horizon, var, cvar, scaling, rows, value, details)


# --- dispatch -------------------------------------------------------------------------------


def value_at_risk(
    returns: ReturnsLike,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    method: VaRMethod = "historical",
    weights: WeightsLike | None = None,
    portfolio_value: float | None = None,
    n_paths: int = 100_000,
    df: float | None = None,
    vol_filter: VolatilityFilter = "garch",
    ewma_lambda: float = 0.94,
    seed: SeedLike = None,
) -> VaRResult:
    """Return VaR and CVaR by ``method`` (one entry point over every estimator here).

    ``method`` is ``"historical"``, ``"parametric"``, ``"cornish_fisher"`` or a Monte Carlo
    ``"mc_normal"``, ``"mc_student_t"``, ``"mc_bootstrap"``, ``"mc_filtered"``; the other
    arguments go to the matching function (simulation options are ignored by the others).
    """
    if method == "historical":
        return historical_var(
            returns, confidence, horizon, weights=weights, portfolio_value=portfolio_value
        )
    if method == "parametric":
        return parametric_var(
            returns, confidence, horizon, weights=weights, portfolio_value=portfolio_value
        )
    if method == "cornish_fisher":
        return cornish_fisher_var(
            returns, confidence, horizon, weights=weights, portfolio_value=portfolio_value
        )
    # montecarlo builds on this module's input checks, so it is imported here, not on top.
    from quantdesk.risk.montecarlo import monte_carlo_var

    engine = method.removeprefix("mc_")
    if not method.startswith("mc_") or engine not in _SIMULATION_METHODS:
        raise _invalid(
            "method",
            f"got {method!r}; use historical, parametric, cornish_fisher, mc_normal, "
            "mc_student_t, mc_bootstrap or mc_filtered",
        )
    return monte_carlo_var(
        returns,
        confidence,
        horizon,
        weights=weights,
        method=engine,  # type: ignore[arg-type]
        n_paths=n_paths,
        df=df,
        vol_filter=vol_filter,
        ewma_lambda=ewma_lambda,
        seed=seed,
        portfolio_value=portfolio_value,
    )


# --- decomposition --------------------------------------------------------------------------


def component_var(
    returns: ReturnsLike,
    weights: WeightsLike,
    confidence: float = 0.95,
    horizon: int = 1,
    *,
    portfolio_value: float | None = None,
    include_mean: bool = True,
) -> ComponentVaR:
    """Return the parametric (normal) Euler decomposition of VaR and CVaR by position.

    With sample mean ``mu`` and covariance ``Sigma`` (``ddof=1``), ``sigma_p = sqrt(w' Sigma w)``:
    ``marginal VaR_i = -h mu_i - sqrt(h) z (Sigma w)_i / sigma_p`` and
    ``marginal CVaR_i = -h mu_i + sqrt(h) (Sigma w)_i / sigma_p * phi(z) / alpha``;
    components are ``w_i`` times marginals and add up to :func:`parametric_var`'s totals.

    Raises
    ------
    ValidationError
        On bad input or a zero-variance portfolio.
    """
    confidence = check_confidence(confidence)
    horizon = check_positive_int("horizon", horizon)
    value = check_positive("portfolio_value", portfolio_value)
    inputs = prepare_returns(returns, weights)
    mean = inputs.matrix.mean(axis=0) if include_mean else np.zeros(inputs.matrix.shape[1])
    covariance = np.atleast_2d(np.cov(inputs.matrix, rowvar=False))
    sigma_w = covariance @ inputs.weights
    sigma_p = math.sqrt(float(inputs.weights @ sigma_w))
    if sigma_p == 0.0:
        raise _invalid("weights", "the portfolio has zero variance; nothing to decompose")
    alpha = 1.0 - confidence
    z = float(stats.norm.ppf(alpha))
    root = math.sqrt(horizon)
    marginal_var = -horizon * mean - root * z * sigma_w / sigma_p
    marginal_cvar = -horizon * mean + root * sigma_w / sigma_p * float(stats.norm.pdf(z)) / alpha
    component = inputs.weights * marginal_var
    component_es = inputs.weights * marginal_cvar
    return ComponentVaR(
        method="parametric",
        confidence=confidence,
        horizon=horizon,
        symbols=inputs.symbols,
        weights=inputs.weights,
        var=float(component.sum()),
        cvar=float(component_es.sum()),
        marginal_var=marginal_var,
        component_var=component,
        marginal_cvar=marginal_cvar,
        component_cvar=component_es,
        portfolio_value=value,
        details={"volatility": sigma_p, "z": z, "dropped_rows": inputs.dropped_rows},
    )
