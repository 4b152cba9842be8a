"""Every route × every role × anonymous/owner/non-owner, against the declared policy.

A route added without an entry in ``POLICY`` fails ``test_every_route_has_a_policy``, so new
endpoints cannot ship without saying who may call them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import PASSWORD, Account, api_settings, make_account
from fastapi.testclient import TestClient

from quantdesk.api import create_app
from quantdesk.api.main import api_routes, is_public, route_permission
from quantdesk.auth.models import AuditContext
from quantdesk.auth.rbac import ROLE_PERMISSIONS, Permission, Role, Scope
from quantdesk.data.ports import FetchRequest
from quantdesk.domain.portfolio import Transaction, TransactionType
from quantdesk.runtime import Runtime, build_runtime
from quantdesk.runtime.providers import SyntheticMarketConfig, synthetic_provider

SYMBOL = "SYN-IDX"
_counter = itertools.count()


@dataclass
class World:
    runtime: Runtime
    client: TestClient
    accounts: dict[str, Account]
    spare_user_id: str


Request = tuple[str, dict[str, Any]]  # (url, keyword arguments for client.request)
Example = Callable[[World, Account], Request]


def _unique_email() -> str:
    return f"made{next(_counter)}@example.com"


def _refresh_token(world: World, account: Account) -> str:
    return world.runtime.auth.login(
        account.user.email, PASSWORD, context=AuditContext()
    ).refresh_token


def _own_api_key(world: World, owner: Account) -> str:
    principal = world.runtime.auth.authenticate_token(owner.token)
    created = world.runtime.auth.create_api_key(
        principal, name="matrix", scopes=[Scope.READ], expires_in_days=1, context=AuditContext()
    )
    return created.record.id


def _own_secret(world: World, owner: Account) -> str:
    principal = world.runtime.auth.authenticate_token(owner.token)
    name = f"matrix-{next(_counter)}"
    world.runtime.auth.put_secret(principal, name, "value", context=AuditContext())
    return name


def _own_portfolio(world: World, owner: Account, *, holdings: bool = False) -> str:
    """Create a portfolio owned by ``owner`` through the service (as the admin, who may create
    for any user); with ``holdings``, fund it and buy two synthetic names."""
    admin = world.runtime.auth.authenticate_token(world.accounts["admin"].token)
    service = world.runtime.portfolios
    portfolio = service.create_portfolio(
        admin, name=f"matrix-{next(_counter)}", owner_id=owner.user.id
    )
    if holdings:
        day = date(2015, 1, 5)
        service.add_transactions(
            admin,
            portfolio.id,
            [
                Transaction.cash(TransactionType.DEPOSIT, day, 10_000),
                Transaction(TransactionType.BUY, day, "SYN-TEC1", Decimal(10), Decimal(100)),
                Transaction(TransactionType.BUY, day, "SYN-FIN1", Decimal(10), Decimal(100)),
            ],
        )
    return f"/api/v1/portfolio/{portfolio.id}"


def _held(world: World, owner: Account) -> str:
    return _own_portfolio(world, owner, holdings=True)


_BACKTEST = {"strategy": "sma_cross", "symbols": [SYMBOL], "params": {"fast": 5, "slow": 20}}


def _own_backtest(world: World, owner: Account) -> str:
    """Run a small backtest owned by ``owner`` through the service."""
    from quantdesk.backtest.spec import BacktestSpec

    principal = world.runtime.auth.authenticate_token(owner.token)
    outcome = world.runtime.backtests.run(BacktestSpec.parse(_BACKTEST), owner=principal)
    return f"/api/v1/analysis/backtest/{outcome.run.id}"


_CSV = b"date,type,symbol,quantity,price,currency\n2015-01-05,deposit,,1,1000,USD\n"


# (method, path) -> (declared permission or None for public, ownership kind, example builder)
# Ownership kind "owned" means the example creates a resource belonging to the "owner"
# account; the non-owner must then get 404 and an admin must succeed.
POLICY: dict[tuple[str, str], tuple[Permission | None, str | None, Example]] = {
    ("GET", "/api/v1/health"): (None, None, lambda w, a: ("/api/v1/health", {})),
    ("GET", "/api/v1/health/ready"): (None, None, lambda w, a: ("/api/v1/health/ready", {})),
    ("POST", "/api/v1/auth/token"): (
        None,
        None,
        lambda w, a: (
            "/api/v1/auth/token",
            {"data": {"username": a.user.email, "password": PASSWORD}},
        ),
    ),
    ("POST", "/api/v1/auth/refresh"): (
        None,
        None,
        lambda w, a: ("/api/v1/auth/refresh", {"json": {"refresh_token": _refresh_token(w, a)}}),
    ),
    ("POST", "/api/v1/auth/logout"): (
        None,
        None,
        lambda w, a: ("/api/v1/auth/logout", {"json": {"refresh_token": "not-a-token"}}),
    ),
    ("POST", "/api/v1/auth/register"): (
        None,
        None,
        lambda w, a: (
            "/api/v1/auth/register",
            {"json": {"email": _unique_email(), "password": PASSWORD}},
        ),
    ),
    ("GET", "/api/v1/auth/me"): (Permission.ACCOUNT, None, lambda w, a: ("/api/v1/auth/me", {})),
    ("POST", "/api/v1/auth/password"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: (
            "/api/v1/auth/password",
            {"json": {"current_password": "wrong", "new_password": "irrelevant passphrase"}},
        ),
    ),
    ("POST", "/api/v1/auth/mfa/enrol"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: ("/api/v1/auth/mfa/enrol", {}),
    ),
    ("POST", "/api/v1/auth/mfa/verify"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: ("/api/v1/auth/mfa/verify", {"json": {"code": "000000"}}),
    ),
    ("POST", "/api/v1/auth/mfa/disable"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: ("/api/v1/auth/mfa/disable", {"json": {"code": "000000"}}),
    ),
    ("POST", "/api/v1/auth/mfa/recovery-codes"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: ("/api/v1/auth/mfa/recovery-codes", {"json": {"code": "000000"}}),
    ),
    ("POST", "/api/v1/users"): (
        Permission.USERS_ADMIN,
        None,
        lambda w, a: (
            "/api/v1/users",
            {"json": {"email": _unique_email(), "password": PASSWORD, "role": "viewer"}},
        ),
    ),
    ("GET", "/api/v1/users"): (Permission.USERS_ADMIN, None, lambda w, a: ("/api/v1/users", {})),
    ("GET", "/api/v1/users/policies/mfa"): (
        Permission.USERS_ADMIN,
        None,
        lambda w, a: ("/api/v1/users/policies/mfa", {}),
    ),
    ("PUT", "/api/v1/users/policies/mfa"): (
        Permission.USERS_ADMIN,
        None,
        lambda w, a: (
            "/api/v1/users/policies/mfa",
            {"json": {"role": "viewer", "required": False}},
        ),
    ),
    ("GET", "/api/v1/users/{user_id}"): (
        Permission.USERS_ADMIN,
        None,
        lambda w, a: (f"/api/v1/users/{w.spare_user_id}", {}),
    ),
    ("PATCH", "/api/v1/users/{user_id}"): (
        Permission.USERS_ADMIN,
        None,
        lambda w, a: (f"/api/v1/users/{w.spare_user_id}", {"json": {"display_name": "Spare"}}),
    ),
    ("POST", "/api/v1/api-keys"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: ("/api/v1/api-keys", {"json": {"name": "k", "scopes": ["read"]}}),
    ),
    ("GET", "/api/v1/api-keys"): (Permission.ACCOUNT, None, lambda w, a: ("/api/v1/api-keys", {})),
    ("DELETE", "/api/v1/api-keys/{key_id}"): (
        Permission.ACCOUNT,
        "owned",
        lambda w, owner: (f"/api/v1/api-keys/{_own_api_key(w, owner)}", {}),
    ),
    ("GET", "/api/v1/secrets"): (Permission.ACCOUNT, None, lambda w, a: ("/api/v1/secrets", {})),
    ("PUT", "/api/v1/secrets/{name}"): (
        Permission.ACCOUNT,
        None,
        lambda w, a: ("/api/v1/secrets/matrix", {"json": {"value": "v"}}),
    ),
    ("DELETE", "/api/v1/secrets/{name}"): (
        Permission.ACCOUNT,
        "owned-private",
        lambda w, owner: (f"/api/v1/secrets/{_own_secret(w, owner)}", {}),
    ),
    ("GET", "/api/v1/audit"): (Permission.AUDIT_READ, None, lambda w, a: ("/api/v1/audit", {})),
    ("GET", "/api/v1/market/quote/{symbol}"): (
        Permission.MARKET_READ,
        None,
        lambda w, a: (f"/api/v1/market/quote/{SYMBOL}", {}),
    ),
    ("POST", "/api/v1/market/batch-quotes"): (
        Permission.MARKET_READ,
        None,
        lambda w, a: ("/api/v1/market/batch-quotes", {"json": {"symbols": [SYMBOL]}}),
    ),
    ("GET", "/api/v1/market/history/{symbol}"): (
        Permission.MARKET_READ,
        None,
        lambda w, a: (f"/api/v1/market/history/{SYMBOL}", {"params": {"limit": 5}}),
    ),
    ("GET", "/api/v1/market/symbols"): (
        Permission.MARKET_READ,
        None,
        lambda w, a: ("/api/v1/market/symbols", {}),
    ),
    ("GET", "/api/v1/analysis/indicators"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: ("/api/v1/analysis/indicators", {}),
    ),
    ("POST", "/api/v1/analysis/technical"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: (
            "/api/v1/analysis/technical",
            {"json": {"symbol": SYMBOL, "indicators": ["rsi"]}},
        ),
    ),
    ("GET", "/api/v1/analysis/signals/{symbol}"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: (f"/api/v1/analysis/signals/{SYMBOL}", {}),
    ),
    ("GET", "/api/v1/analysis/patterns/{symbol}"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: (f"/api/v1/analysis/patterns/{SYMBOL}", {}),
    ),
    ("POST", "/api/v1/analysis/screen"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: ("/api/v1/analysis/screen", {"json": {"expression": "close > 0"}}),
    ),
    ("POST", "/api/v1/portfolio"): (
        Permission.PORTFOLIO_WRITE,
        None,
        lambda w, a: ("/api/v1/portfolio", {"json": {"name": f"matrix-new-{next(_counter)}"}}),
    ),
    ("GET", "/api/v1/portfolio"): (
        Permission.PORTFOLIO_READ,
        None,
        lambda w, a: ("/api/v1/portfolio", {}),
    ),
    ("GET", "/api/v1/portfolio/{portfolio_id}"): (
        Permission.PORTFOLIO_READ,
        "owned",
        lambda w, owner: (_own_portfolio(w, owner), {}),
    ),
    ("PATCH", "/api/v1/portfolio/{portfolio_id}"): (
        Permission.PORTFOLIO_WRITE,
        "owned",
        lambda w, owner: (
            _own_portfolio(w, owner),
            {"json": {"name": f"renamed-{next(_counter)}"}},
        ),
    ),
    ("DELETE", "/api/v1/portfolio/{portfolio_id}"): (
        Permission.PORTFOLIO_WRITE,
        "owned",
        lambda w, owner: (_own_portfolio(w, owner), {}),
    ),
    ("POST", "/api/v1/portfolio/{portfolio_id}/transaction"): (
        Permission.PORTFOLIO_WRITE,
        "owned",
        lambda w, owner: (
            f"{_own_portfolio(w, owner)}/transaction",
            {
                "json": {
                    "type": "deposit",
                    "trade_date": "2015-01-05",
                    "quantity": "1",
                    "price": "1000",
                }
            },
        ),
    ),
    ("GET", "/api/v1/portfolio/{portfolio_id}/transactions"): (
        Permission.PORTFOLIO_READ,
        "owned",
        lambda w, owner: (f"{_own_portfolio(w, owner)}/transactions", {}),
    ),
    ("POST", "/api/v1/portfolio/{portfolio_id}/import"): (
        Permission.PORTFOLIO_WRITE,
        "owned",
        lambda w, owner: (
            f"{_own_portfolio(w, owner)}/import",
            {"files": {"file": ("t.csv", _CSV, "text/csv")}},
        ),
    ),
    ("GET", "/api/v1/portfolio/{portfolio_id}/holdings"): (
        Permission.PORTFOLIO_READ,
        "owned",
        lambda w, owner: (f"{_held(w, owner)}/holdings", {}),
    ),
    ("GET", "/api/v1/portfolio/{portfolio_id}/performance"): (
        Permission.PORTFOLIO_READ,
        "owned",
        lambda w, owner: (f"{_held(w, owner)}/performance", {"params": {"series": False}}),
    ),
    ("POST", "/api/v1/portfolio/{portfolio_id}/optimize"): (
        Permission.PORTFOLIO_READ,
        "owned",
        lambda w, owner: (f"{_held(w, owner)}/optimize", {"json": {"method": "min_variance"}}),
    ),
    ("POST", "/api/v1/portfolio/{portfolio_id}/rebalance"): (
        Permission.PORTFOLIO_READ,
        "owned",
        lambda w, owner: (
            f"{_held(w, owner)}/rebalance",
            {"json": {"target_weights": {"SYN-TEC1": 0.5, "SYN-FIN1": 0.4}}},
        ),
    ),
    ("GET", "/api/v1/analysis/strategies"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: ("/api/v1/analysis/strategies", {}),
    ),
    ("POST", "/api/v1/analysis/backtest"): (
        Permission.BACKTEST_RUN,
        None,
        lambda w, a: ("/api/v1/analysis/backtest", {"json": _BACKTEST}),
    ),
    ("GET", "/api/v1/analysis/backtest"): (
        Permission.BACKTEST_RUN,
        None,
        lambda w, a: ("/api/v1/analysis/backtest", {}),
    ),
    ("GET", "/api/v1/analysis/backtest/{run_id}"): (
        Permission.BACKTEST_RUN,
        "owned",
        lambda w, a: (_own_backtest(w, a), {}),
    ),
    ("GET", "/api/v1/analysis/backtest/{run_id}/report"): (
        Permission.BACKTEST_RUN,
        "owned",
        lambda w, a: (_own_backtest(w, a) + "/report", {}),
    ),
    ("POST", "/api/v1/ml/predict/price"): (
        Permission.ML_READ,
        None,
        lambda w, a: ("/api/v1/ml/predict/price", {"json": {"symbol": SYMBOL, "horizon": 5}}),
    ),
    ("POST", "/api/v1/ml/predict/trend"): (
        Permission.ML_READ,
        None,
        lambda w, a: ("/api/v1/ml/predict/trend", {"json": {"symbol": SYMBOL, "horizon": 5}}),
    ),
    ("POST", "/api/v1/ml/predict/volatility"): (
        Permission.ML_READ,
        None,
        lambda w, a: ("/api/v1/ml/predict/volatility", {"json": {"symbol": SYMBOL}}),
    ),
    ("GET", "/api/v1/ml/model/performance"): (
        Permission.ML_READ,
        None,
        lambda w, a: ("/api/v1/ml/model/performance", {}),
    ),
    ("GET", "/api/v1/ml/models"): (
        Permission.ML_READ,
        None,
        lambda w, a: ("/api/v1/ml/models", {}),
    ),
    ("POST", "/api/v1/ml/models/train"): (
        Permission.ML_TRAIN,
        None,
        lambda w, a: (
            "/api/v1/ml/models/train",
            {"json": {"symbol": SYMBOL, "task": "volatility", "horizon": 1}},
        ),
    ),
    ("POST", "/api/v1/ml/models/{name}/versions/{version}/promote"): (
        Permission.ML_TRAIN,
        None,
        lambda w, a: ("/api/v1/ml/models/SYN-IDX-trend-5d/versions/1/promote", {}),
    ),
    ("POST", "/api/v1/ml/sentiment"): (
        Permission.ANALYSIS_RUN,
        None,
        lambda w, a: ("/api/v1/ml/sentiment", {"json": {"texts": ["Shares jump on record sales"]}}),
    ),
    ("GET", "/api/v1/sentiment/{symbol}"): (
        Permission.MARKET_READ,
        None,
        lambda w, a: (f"/api/v1/sentiment/{SYMBOL}", {}),
    ),
    ("POST", "/api/v1/risk/calculate"): (
        Permission.RISK_RUN,
        None,
        lambda w, a: (
            "/api/v1/risk/calculate",
            {"json": {"weights": {SYMBOL: 1.0}, "lookback_days": 40}},
        ),
    ),
    ("POST", "/api/v1/risk/stress-test"): (
        Permission.RISK_RUN,
        None,
        lambda w, a: (
            "/api/v1/risk/stress-test",
            {"json": {"weights": {SYMBOL: 1.0}, "shocks": {"all": -0.1}, "scenarios": []}},
        ),
    ),
    ("POST", "/api/v1/risk/monte-carlo"): (
        Permission.RISK_RUN,
        None,
        lambda w, a: (
            "/api/v1/risk/monte-carlo",
            {
                "json": {
                    "initial_value": 100,
                    "periods": 5,
                    "expected_return": 0.01,
                    "volatility": 0.02,
                    "n_paths": 100,
                }
            },
        ),
    ),
    ("POST", "/api/v1/risk/position-size"): (
        Permission.RISK_RUN,
        None,
        lambda w, a: (
            "/api/v1/risk/position-size",
            {
                "json": {
                    "method": "fixed_fractional",
                    "equity": 1000,
                    "entry_price": 10,
                    "stop_price": 9,
                }
            },
        ),
    ),
    ("PUT", "/api/v1/fx-rates"): (
        Permission.MARKET_WRITE,
        None,
        lambda w, a: (
            "/api/v1/fx-rates",
            {
                "json": {
                    "rates": [
                        {
                            "currency": "EUR",
                            "quote_currency": "USD",
                            "day": "2024-01-02",
                            "rate": "1.0945",
                        }
                    ]
                }
            },
        ),
    ),
}

CALLERS = [*(role.value for role in Role), "anonymous"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("qd-matrix")
    runtime = build_runtime(api_settings(home))
    config = SyntheticMarketConfig(seed=5, days=80, names_per_sector=1, intraday_days=0)
    runtime.market.ingest(synthetic_provider(config), FetchRequest())
    accounts = {
        role.value: make_account(runtime, f"{role.value}@example.com", role) for role in Role
    }
    accounts["other"] = make_account(runtime, "other@example.com", Role.ANALYST)
    spare = runtime.auth.create_user(
        email="spare@example.com",
        password=PASSWORD,
        role=Role.VIEWER,
        actor=None,
        context=AuditContext(),
    )
    with TestClient(create_app(runtime=runtime)) as client:
        yield World(runtime, client, accounts, spare.id)
    runtime.close()


def test_every_route_has_a_policy(world: World) -> None:
    served = {
        (method, route.path)
        for route in api_routes(world.client.app)  # type: ignore[arg-type]
        if route.path.startswith("/api/v1")
        for method in route.methods
    }
    missing = served - POLICY.keys()
    assert not missing, f"routes without a declared policy in this test: {sorted(missing)}"
    stale = POLICY.keys() - served
    assert not stale, f"policies for routes that no longer exist: {sorted(stale)}"


def test_declared_policy_matches_the_route(world: World) -> None:
    for route in api_routes(world.client.app):  # type: ignore[arg-type]
        if not route.path.startswith("/api/v1"):
            continue
        for method in route.methods:
            expected = POLICY[(method, route.path)][0]
            if expected is None:
                assert is_public(route), f"{method} {route.path} should be public"
            else:
                assert route_permission(route) is expected, f"{method} {route.path}"


def _call(world: World, method: str, url: str, kwargs: dict[str, Any], who: str) -> int:
    headers = {} if who == "anonymous" else world.accounts[who].headers
    response = world.client.request(method, url, headers=headers, **kwargs)
    assert response.status_code < 500, f"{method} {url} as {who}: {response.text}"
    if response.status_code == 401 and "not signed in" in response.text:
        return 401
    if response.status_code in (401, 403):
        # 401/403 from the route itself (a bad refresh token, registration switched off) are
        # answers, not access-control refusals; report them apart.
        return -response.status_code if "does not allow" not in response.text else 403
    return response.status_code


@pytest.mark.parametrize("key", sorted(POLICY), ids=lambda k: f"{k[0]} {k[1]}")
def test_route_by_role(world: World, key: tuple[str, str]) -> None:
    method, _template = key
    permission, ownership, example = POLICY[key]
    for who in CALLERS:
        account = world.accounts.get(who, world.accounts["viewer"])
        url, kwargs = example(world, account)
        status = _call(world, method, url, kwargs, who)
        if permission is None:
            assert status not in (401, 403), f"public {method} {url} as {who} -> {status}"
            assert status != -401 or "refresh" not in url, "a fresh refresh token must work"
        elif who == "anonymous":
            assert status == 401, f"{method} {url} anonymous -> {status}"
        elif permission in ROLE_PERMISSIONS[Role(who)]:
            assert status not in (401, 403), f"{method} {url} as {who} -> {status}"
        else:
            assert status == 403, f"{method} {url} as {who} -> {status}"
    if ownership is not None:
        owner = world.accounts["analyst"]
        url, kwargs = example(world, owner)
        assert _call(world, method, url, kwargs, "other") == 404, "non-owner must get 404"
        if ownership == "owned":
            assert 200 <= _call(world, method, url, kwargs, "admin") < 300, "admin sees all"
        else:
            assert 200 <= _call(world, method, url, kwargs, "analyst") < 300, "owner succeeds"
