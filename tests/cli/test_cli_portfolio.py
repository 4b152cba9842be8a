"""``quantdesk portfolio`` on the real bundled 20-stock history (``sp500-20``, skfolio)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from skfolio.datasets import load_sp500_dataset
from typer.testing import CliRunner

from quantdesk.cli.context import open_runtime
from quantdesk.cli.main import app
from quantdesk.runtime.demo import DEMO_PORTFOLIO_NAME, ensure_demo_portfolio

runner = CliRunner()
IMPORTS = Path(__file__).parents[1] / "fixtures" / "imports"
FAST = {
    "QUANTDESK_AUTH__ARGON2_MEMORY_KIB": "1024",
    "QUANTDESK_AUTH__ARGON2_TIME_COST": "1",
    "QUANTDESK_AUTH__ARGON2_PARALLELISM": "1",
}


def _env_for(patch: pytest.MonkeyPatch, home: Path) -> None:
    for key in list(os.environ):
        if key.startswith("QUANTDESK_") and not key.startswith("QUANTDESK_TEST_"):
            patch.delenv(key)
    patch.setenv("QUANTDESK_HOME", str(home))
    patch.setenv("COLUMNS", "200")
    for key, value in FAST.items():
        patch.setenv(key, value)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qd-cli-portfolio")
    with pytest.MonkeyPatch.context() as patch:
        _env_for(patch, path)
        loaded = runner.invoke(app, ["ingest", "demo", "--dataset", "sp500-20"])
        assert loaded.exit_code == 0, loaded.output
        for email, command in (("root@example.com", "create-admin"),):
            made = runner.invoke(
                app, ["users", command, "--email", email, "--password", "a long passphrase!"]
            )
            assert made.exit_code == 0, made.output
        made = runner.invoke(
            app,
            ["users", "create", "--email", "ana@example.com", "--role", "analyst"],
            input="a long passphrase!\na long passphrase!\n",
        )
        assert made.exit_code == 0, made.output
    return path


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    _env_for(monkeypatch, home)


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["portfolio", *args])
    return result.exit_code, result.output


def test_create_add_show_and_list() -> None:
    code, out = _run("create", "Core")
    assert code == 0, out
    assert "created portfolio 'Core'" in out
    assert "root@example.com" in out  # the first administrator by default
    close = load_sp500_dataset().loc["2016-01-04", "AAPL"]
    assert _run("add", "Core", "deposit", "2016-01-04", "--amount", "10000")[0] == 0
    code, out = _run(
        "add", "Core", "buy", "2016-01-04", "--symbol", "AAPL", "--quantity", "100",
        "--price", f"{close:.2f}",
    )  # fmt: skip
    assert code == 0, out
    code, out = _run("show", "Core")
    assert code == 0, out
    last = load_sp500_dataset()["AAPL"].iloc[-1]
    # 100 AAPL at the last close of the dataset.
    assert f"{100 * last:,.2f}" in out
    assert "2022-12-28" in out
    code, out = _run("list")
    assert code == 0
    assert "Core" in out


def test_bad_input_exits_2_with_the_field() -> None:
    assert _run("create", "Bad")[0] == 0
    code, out = _run(
        "add", "Bad", "sell", "2016-01-04", "--symbol", "AAPL", "--quantity", "5", "--price", "1"
    )
    assert code == 2
    assert "quantity" in out
    assert "only 0 are held" in out
    code, out = _run("add", "Bad", "buy", "2016-13-01", "--symbol", "AAPL", "--quantity", "1")
    assert code == 2
    assert "YYYY-MM-DD" in out
    code, out = _run("add", "Bad", "buy", "2016-01-04", "--symbol", "AAPL", "--quantity", "x")
    assert code == 2
    assert "not a decimal number" in out
    code, out = _run("show", "Nope")
    assert code == 2
    assert "no portfolio 'Nope'" in out
    code, out = _run("list", "--user", "nobody@example.com")
    assert code == 2
    assert "no user nobody@example.com" in out


def test_import_refuses_bad_rows_then_skips_them() -> None:
    assert _run("create", "Imported")[0] == 0
    bad = str(IMPORTS / "generic_bad.csv")
    code, out = _run("import", "Imported", bad)
    assert code == 2
    assert "row 3" in out
    assert "date" in out
    assert "nothing was written" in out
    code, out = _run("import", "Imported", bad, "--dry-run")
    assert code == 2
    assert "would import 2 of 9 rows" in out
    code, out = _run("import", "Imported", bad, "--skip-bad-rows")
    assert code == 0, out
    assert "imported 2 of 9 rows" in out


def test_each_user_sees_only_their_portfolios() -> None:
    code, out = _run("create", "Mine", "--user", "ana@example.com")
    assert code == 0, out
    assert _run("show", "Mine", "--user", "ana@example.com")[0] == 0
    # The admin does not own "Mine", so the name does not resolve for them ...
    assert _run("show", "Mine")[0] == 2
    code, out = _run("list", "--all")
    assert "Mine" in out  # ... but an admin lists everyone's with --all


def test_demo_portfolio_supports_every_view() -> None:
    with open_runtime() as runtime:
        made = ensure_demo_portfolio(runtime)
        again = ensure_demo_portfolio(runtime)
    assert made is not None
    assert made[1]
    assert again is not None
    assert again == (made[0], False)
    name = DEMO_PORTFOLIO_NAME
    code, out = _run("show", name)
    assert code == 0, out
    for symbol in ("AAPL", "MSFT", "JPM", "JNJ", "KO", "XOM", "PG"):
        assert symbol in out
    code, out = _run("performance", name)
    assert code == 0, out
    assert "2015-06-01 to 2022-12-28" in out
    assert "Information Technology" in out
    code, out = _run("optimize", name, "--method", "min_variance", "--max-weight", "0.3")
    assert code == 0, out
    assert "min_variance on 756 daily returns" in out
    code, out = _run("rebalance", name, "--target", "AAPL=0.2", "--target", "MSFT=0.2")
    assert code == 0, out
    assert "sell" in out
    code, out = _run("rebalance", name, "--method", "hrp", "--band", "0.02")
    assert code == 0, out
    code, out = _run("optimize", name, "--method", "magic")
    assert code == 2
    assert "unknown method" in out
