"""The ``quantdesk`` command end to end, on a throw-away QUANTDESK_HOME."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from quantdesk.cli.main import app
from quantdesk.db.migrate import alembic_config

runner = CliRunner()

GOOD_CSV = """Date,Open,High,Low,Close,Volume
2024-01-02,100,105,99,104,1000
2024-01-03,104,106,101,102,1500
2024-01-04,102,103,98,99,1200
"""

# Line 3 has high below close, line 4 a negative volume, line 5 an unreadable price.
BAD_CSV = """Date,Open,High,Low,Close,Volume
2024-01-02,100,105,99,104,1000
2024-01-03,104,101,100,102,1500
2024-01-04,102,103,98,99,-5
2024-01-05,99,abc,97,98,1000
2024-01-08,98,100,97,99,1000
"""


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("QUANTDESK_") and not key.startswith("QUANTDESK_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("QUANTDESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ingest_csv_then_quote_and_history(tmp_path: Path) -> None:
    path = _write(tmp_path, "acme.csv", GOOD_CSV)
    result = runner.invoke(app, ["ingest", "csv", str(path), "--name", "Acme Corp"])
    assert result.exit_code == 0, result.output
    assert "3 bars written for 1 symbols" in result.output

    quote = runner.invoke(app, ["quote", "ACME", "--format", "json"])
    assert quote.exit_code == 0, quote.output
    body = json.loads(quote.stdout)
    assert body["name"] == "Acme Corp"
    assert body["price"] == 99.0
    assert body["previous_close"] == 102.0
    assert body["change"] == -3.0

    history = runner.invoke(app, ["history", "acme", "--format", "csv", "--end", "2024-01-03"])
    assert history.exit_code == 0, history.output
    assert history.stdout.splitlines() == [
        "symbol,ts,open,high,low,close,volume",
        "ACME,2024-01-02T00:00:00Z,100.0,105.0,99.0,104.0,1000.0",
        "ACME,2024-01-03T00:00:00Z,104.0,106.0,101.0,102.0,1500.0",
    ]


def test_reingest_does_not_duplicate(tmp_path: Path) -> None:
    path = _write(tmp_path, "acme.csv", GOOD_CSV)
    for _ in range(2):
        assert runner.invoke(app, ["ingest", "csv", str(path)]).exit_code == 0
    history = runner.invoke(app, ["history", "ACME", "--format", "json"])
    assert len(json.loads(history.stdout)) == 3


def test_bad_rows_are_reported_and_nothing_is_written(tmp_path: Path) -> None:
    path = _write(tmp_path, "acme.csv", BAD_CSV)
    result = runner.invoke(app, ["ingest", "csv", str(path)])
    assert result.exit_code == 2
    output = result.output
    assert "acme.csv line 3" in output
    assert "high 101.0 is below" in output
    assert "acme.csv line 4" in output
    assert "volume -5.0 is negative" in output
    assert "acme.csv line 5" in output
    assert "could not read 'abc' as a number" in output
    assert "nothing was written" in output
    missing = runner.invoke(app, ["quote", "ACME"])
    assert missing.exit_code == 2
    assert "unknown symbol 'ACME'" in missing.output


def test_skip_invalid_loads_the_good_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, "acme.csv", BAD_CSV)
    result = runner.invoke(app, ["ingest", "csv", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "2 bars written" in result.output
    assert "3 rows rejected" in result.output
    history = runner.invoke(app, ["history", "ACME", "--format", "json"])
    assert [row["ts"][:10] for row in json.loads(history.stdout)] == ["2024-01-02", "2024-01-08"]


def test_column_mapping_and_date_format(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "export.csv",
        "Ticker;Day;Last\nXYZ;05/01/2024;10,5\nXYZ;08/01/2024;11\n".replace(",", "."),
    )
    result = runner.invoke(
        app,
        [
            "ingest",
            "csv",
            str(path),
            "--delimiter",
            ";",
            "--map",
            "ts=Day",
            "--map",
            "close=Last",
            "--date-format",
            "%d/%m/%Y",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(runner.invoke(app, ["history", "XYZ", "--format", "json"]).stdout)
    assert rows == [
        {
            "symbol": "XYZ",
            "ts": "2024-01-05T00:00:00Z",
            "open": None,
            "high": None,
            "low": None,
            "close": 10.5,
            "volume": None,
        },
        {
            "symbol": "XYZ",
            "ts": "2024-01-08T00:00:00Z",
            "open": None,
            "high": None,
            "low": None,
            "close": 11.0,
            "volume": None,
        },
    ]


def test_bad_map_option_is_explained(tmp_path: Path) -> None:
    path = _write(tmp_path, "acme.csv", GOOD_CSV)
    result = runner.invoke(app, ["ingest", "csv", str(path), "--map", "close"])
    assert result.exit_code == 2
    assert "must look like field=column" in result.output


def test_missing_file_is_explained(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "csv", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_history_bad_interval_and_date() -> None:
    result = runner.invoke(app, ["history", "SPX", "--interval", "2h"])
    assert result.exit_code == 2
    assert "unknown interval '2h'" in result.output
    result = runner.invoke(app, ["history", "SPX", "--start", "yesterday"])
    assert result.exit_code == 2


def test_demo_dataset_loads_once() -> None:
    first = runner.invoke(app, ["ingest", "demo", "--dataset", "sp500-index"])
    assert first.exit_code == 0, first.output
    assert "5,031 bars written" in first.output
    again = runner.invoke(app, ["ingest", "demo", "--dataset", "sp500-index"])
    assert "already loaded, skipped" in again.output
    quote = json.loads(runner.invoke(app, ["quote", "SPX", "--format", "json"]).stdout)
    assert quote["price"] == 2506.850098


def test_unknown_demo_dataset() -> None:
    result = runner.invoke(app, ["ingest", "demo", "--dataset", "nope"])
    assert result.exit_code == 2
    assert "available: sp500-index" in result.output


def test_synthetic_ingest_is_flagged() -> None:
    result = runner.invoke(app, ["ingest", "synthetic", "--days", "30", "--no-intraday"])
    assert result.exit_code == 0, result.output
    symbols = runner.invoke(app, ["symbols", "SYN-IDX"])
    assert "SYNTHETIC" in symbols.output
    quote = runner.invoke(app, ["quote", "SYN-IDX"])
    assert "SYNTHETIC DATA" in quote.output


def test_db_upgrade_and_current(home: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert f"at revision {head}" in result.output
    assert (home / "quantdesk.db").exists()
    assert (home / "market.duckdb").exists()
    assert runner.invoke(app, ["db", "current"]).output.strip() == head


def test_config_show_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY", "SECRETKEY42")
    monkeypatch.setenv("QUANTDESK_DATABASE__URL", "postgresql://qd:hunter2@db/qd")
    result = runner.invoke(app, ["config", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "SECRETKEY42" not in result.output
    assert "hunter2" not in result.output
    data = json.loads(result.stdout)
    assert data["database"]["url"] == "postgresql://qd:****@db/qd"
    assert data["providers"]["alphavantage_api_key"] == "**********"


def test_invalid_settings_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_STORAGE__BACKEND", "oracle")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 1
    assert "storage.backend" in result.output


FIXTURES = Path(__file__).parents[1] / "fixtures" / "http"


def test_ingest_stooq_through_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx
    import respx

    base = "https://stooq.example.test"
    monkeypatch.setenv("QUANTDESK_PROVIDERS__STOOQ_BASE_URL", base)
    body = (FIXTURES / "stooq" / "aapl_us_d.csv").read_bytes()
    with respx.mock(base_url=base) as mock:
        route = mock.get("/q/d/l/", params={"s": "aapl.us", "i": "d"}).mock(
            return_value=httpx.Response(200, content=body)
        )
        result = runner.invoke(app, ["ingest", "stooq", "AAPL", "--start", "2013-01-02"])
    assert route.called
    assert result.exit_code == 0, result.output
    assert "15 bars written for 1 symbols" in result.output
    quote = json.loads(runner.invoke(app, ["quote", "AAPL", "--format", "json"]).stdout)
    # Last row of the recorded response: 2013-01-23, close 514.005.
    assert quote["ts"].startswith("2013-01-23")
    assert quote["price"] == 514.005


def test_provider_failure_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    import respx

    base = "https://stooq.example.test"
    monkeypatch.setenv("QUANTDESK_PROVIDERS__STOOQ_BASE_URL", base)
    body = (FIXTURES / "stooq" / "no_data.txt").read_bytes()
    with respx.mock(base_url=base) as mock:
        mock.get("/q/d/l/").respond(200, content=body)
        result = runner.invoke(app, ["ingest", "stooq", "NOSUCH"])
    assert result.exit_code == 1
    assert "stooq" in result.output
    assert "NOSUCH" in result.output
