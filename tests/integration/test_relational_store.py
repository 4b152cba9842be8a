"""Alembic migrations and the instrument repository on SQLite and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from quantdesk.db import SqlInstrumentStore, current_revision, make_engine, upgrade
from quantdesk.db.migrate import alembic_config
from quantdesk.domain import AssetClass, Instrument


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qd.db'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    created = make_engine(url)
    yield created
    created.dispose()


HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_upgrade_creates_tables_and_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == HEAD
    tables = set(inspect(engine).get_table_names())
    assert {"instruments", "datasets", "alembic_version", "users", "audit_log"} <= tables


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    upgrade(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "instruments" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "instruments" in inspect(engine).get_table_names()


def test_instrument_upsert_and_search(engine: Engine) -> None:
    upgrade(engine)
    store = SqlInstrumentStore(engine)
    store.upsert_instruments(
        [
            Instrument("MSFT", "Microsoft Corporation", sector="Information Technology"),
            Instrument("SPX", "S&P 500 Index", AssetClass.INDEX, exchange="INDEX"),
            Instrument("SYN-TEC1", "Synthetic Technology 1 (synthetic)", synthetic=True),
        ]
    )
    store.upsert_instruments([Instrument("MSFT", "Microsoft Corp.", sector="Technology")])
    msft = store.get_instrument("MSFT")
    assert msft == Instrument("MSFT", "Microsoft Corp.", sector="Technology")
    assert store.all_symbols() == ["MSFT", "SPX", "SYN-TEC1"]
    assert [i.symbol for i in store.search_instruments("s&p")] == ["SPX"]
    # An exact symbol match ranks first even when other names contain the text.
    assert next(i.symbol for i in store.search_instruments("spx")) == "SPX"
    synthetic = store.get_instrument("SYN-TEC1")
    assert synthetic is not None
    assert synthetic.synthetic
    assert set(store.get_instruments(["SPX", "NOPE"])) == {"SPX"}


def test_dataset_fingerprints(engine: Engine) -> None:
    upgrade(engine)
    store = SqlInstrumentStore(engine)
    assert store.get_dataset_fingerprint("demo") is None
    store.record_dataset("demo", "abc", 10)
    store.record_dataset("demo", "def", 12)
    assert store.get_dataset_fingerprint("demo") == "def"


def test_ping(engine: Engine) -> None:
    SqlInstrumentStore(engine).ping()
