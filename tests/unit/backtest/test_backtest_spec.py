"""The backtest spec: resolution, hashing, cost models and bad input."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from quantdesk.backtest.spec import BacktestSpec
from quantdesk.core.errors import ValidationError
from quantdesk.execution.sim import FixedBpsSlippage, PercentFee, PerShareFee
from quantdesk.execution.sim.fills import MarketFill


def _spec(**changes: object) -> BacktestSpec:
    base: dict[str, object] = {"strategy": "sma_cross", "symbols": ["MSFT", "AAPL"]}
    return BacktestSpec.parse({**base, **changes})


def test_resolution_fills_strategy_defaults_and_sorts_symbols() -> None:
    resolved = _spec(params={"fast": 10}).resolved()
    assert resolved.params == {"fast": 10, "slow": 30, "weight": 0.95}
    assert resolved.symbols == ["AAPL", "MSFT"]


def test_specs_that_mean_the_same_run_hash_the_same() -> None:
    implicit = _spec(params={"fast": 20}, symbols=["msft", "aapl"])
    explicit = _spec(params={"fast": 20, "slow": 30, "weight": 0.95}, symbols=["AAPL", "MSFT"])
    assert implicit.spec_hash() == explicit.spec_hash()
    assert implicit.spec_hash() != _spec(params={"fast": 21}).spec_hash()
    assert implicit.spec_hash() != _spec(params={"fast": 20}, capital=50_000).spec_hash()


def test_hash_is_the_sha256_of_the_canonical_resolved_json() -> None:
    spec = _spec(params={"fast": 5, "slow": 30}, start="2010-01-04")
    payload = {
        "strategy": "sma_cross",
        "params": {"fast": 5, "slow": 30, "weight": 0.95},
        "symbols": ["AAPL", "MSFT"],
        "start": "2010-01-04",
        "end": None,
        "interval": "1d",
        "capital": 100_000.0,
        "fee": {"kind": "none", "rate": 0.0, "minimum": 0.0, "maximum_rate": None},
        "slippage": {
            "kind": "none",
            "bps": 0.0,
            "coefficient": 1.0,
            "volatility": None,
            "adv": None,
        },
        "market_fill": "next_open",
        "participation": None,
        "max_leverage": 1.0,
        "allow_short": True,
        "borrow_rate": 0.0,
        "benchmark": None,
        "risk_free": 0.0,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert spec.spec_hash() == hashlib.sha256(text.encode()).hexdigest()


def test_cost_models_charge_what_the_spec_says() -> None:
    spec = _spec(
        fee={"kind": "percent", "rate": 0.001, "minimum": 1.0},
        slippage={"kind": "fixed_bps", "bps": 5},
    )
    config = spec.execution_config()
    assert isinstance(config.fee_model, PercentFee)
    assert isinstance(config.slippage_model, FixedBpsSlippage)
    # 100 shares at 50: 0.1 % of 5,000 = 5 (above the minimum); 10 shares: 0.5 -> minimum 1
    assert config.fee_model.fee(100, 50.0) == pytest.approx(5.0)
    assert config.fee_model.fee(10, 50.0) == pytest.approx(1.0)
    per_share = _spec(
        fee={"kind": "per_share", "rate": 0.005, "minimum": 1.0, "maximum_rate": 0.01}
    )
    model = per_share.execution_config().fee_model
    assert isinstance(model, PerShareFee)
    assert model.fee(1_000, 20.0) == pytest.approx(5.0)  # 1,000 x 0.005
    assert model.fee(100, 0.5) == pytest.approx(0.5)  # minimum 1, capped at 1 % of 50


def test_account_and_fill_timing() -> None:
    spec = _spec(capital=25_000, max_leverage=2, market_fill="same_close_optimistic")
    assert spec.account_config().initial_cash == 25_000
    assert spec.account_config().max_leverage == 2
    assert spec.execution_config().market_fill is MarketFill.SAME_CLOSE_OPTIMISTIC


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"symbols": []}, "symbols"),
        ({"symbols": ["AAPL", "aapl"]}, "symbols"),
        ({"capital": -5}, "capital"),
        ({"capital": float("nan")}, "capital"),
        ({"start": "2020-01-02", "end": "2020-01-01"}, None),
        ({"fee": {"kind": "flat"}}, "fee.kind"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_specs_name_the_field(changes: dict[str, object], field: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        _spec(**changes)
    fields = [issue.field for issue in caught.value.issues]
    if field is None:
        assert any("end must be after start" in issue.reason for issue in caught.value.issues)
    else:
        assert field in fields


def test_unknown_strategy_and_parameter_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        _spec(strategy="moon_phase").resolved()
    assert "sma_cross" in caught.value.issues[0].reason  # lists the valid names
    with pytest.raises(ValidationError) as caught:
        _spec(params={"fats": 3}).resolved()
    assert caught.value.issues[0].field == "fats"
    with pytest.raises(ValidationError) as caught:
        _spec(params={"fast": 60, "slow": 50}).resolved()
    assert "fast" in str(caught.value.issues[0].reason)


def test_dates_are_kept_as_dates() -> None:
    spec = _spec(start="2011-03-01", end=date(2012, 3, 1))
    assert spec.start == date(2011, 3, 1)
    assert spec.end == date(2012, 3, 1)
