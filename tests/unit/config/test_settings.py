from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from quantdesk.config import Settings
from quantdesk.config.settings import mask_url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("QUANTDESK_"):
            monkeypatch.delenv(key)


def test_defaults_live_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QUANTDESK_HOME", str(tmp_path))
    settings = Settings()
    assert settings.storage.backend == "duckdb"
    assert settings.duckdb_path == tmp_path / "market.duckdb"
    assert settings.database_url == f"sqlite:///{tmp_path / 'quantdesk.db'}"
    assert settings.api.port == 8000


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_STORAGE__BACKEND", "postgres")
    monkeypatch.setenv("QUANTDESK_DATABASE__URL", "postgresql+psycopg://qd:s3cret@db:5432/qd")
    monkeypatch.setenv("QUANTDESK_API__PORT", "9001")
    settings = Settings()
    assert settings.storage.backend == "postgres"
    assert settings.postgres_bar_store_url == "postgresql+psycopg://qd:s3cret@db:5432/qd"
    assert settings.api.port == 9001


def test_postgres_backend_without_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_STORAGE__BACKEND", "postgres")
    with pytest.raises(pydantic.ValidationError, match="QUANTDESK_STORAGE__URL"):
        Settings()


def test_masked_hides_passwords_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_DATABASE__URL", "postgresql+psycopg://qd:s3cret@db/qd")
    monkeypatch.setenv("QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY", "ABCDEF123")
    shown = str(Settings().masked())
    assert "s3cret" not in shown
    assert "ABCDEF123" not in shown
    assert "postgresql+psycopg://qd:****@db/qd" in shown


def test_placeholder_secret_refused_outside_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_PROVIDERS__ALPHAVANTAGE_API_KEY", "demo")
    assert Settings().profile == "demo"
    monkeypatch.setenv("QUANTDESK_PROFILE", "production")
    with pytest.raises(pydantic.ValidationError, match="placeholder"):
        Settings()


def test_invalid_port_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_API__PORT", "70000")
    with pytest.raises(pydantic.ValidationError, match="port"):
        Settings()


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:****@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_masked_hides_jwt_secret_master_keys_and_redis_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANTDESK_AUTH__JWT_SECRET", "jwt-" + "s" * 40)
    monkeypatch.setenv("QUANTDESK_SECRETS__MASTER_KEYS", '["fernet-key-material"]')
    monkeypatch.setenv("QUANTDESK_REDIS__URL", "redis://default:r3dispw@cache:6379/0")
    shown = str(Settings().masked())
    assert "sssssss" not in shown
    assert "fernet-key-material" not in shown
    assert "r3dispw" not in shown


def test_production_requires_a_real_jwt_secret_and_master_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANTDESK_PROFILE", "production")
    with pytest.raises(pydantic.ValidationError, match="QUANTDESK_AUTH__JWT_SECRET"):
        Settings()
    monkeypatch.setenv("QUANTDESK_AUTH__JWT_SECRET", "changeme")
    with pytest.raises(pydantic.ValidationError, match="at least 32 characters"):
        Settings()
    monkeypatch.setenv("QUANTDESK_AUTH__JWT_SECRET", "x9" * 20)
    with pytest.raises(pydantic.ValidationError, match="QUANTDESK_SECRETS__MASTER_KEYS"):
        Settings()
    monkeypatch.setenv("QUANTDESK_SECRETS__MASTER_KEYS", '["k"]')
    assert Settings().profile == "production"
