"""Build the application object graph from settings.

Only the API, the CLI and the live runner call this; library code receives its collaborators
as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from quantdesk.config import Settings
from quantdesk.core.clock import Clock, SystemClock
from quantdesk.core.errors import ConfigError, QuantdeskError
from quantdesk.data.ports import BarStore
from quantdesk.data.service import MarketDataService
from quantdesk.db import SqlInstrumentStore, current_revision, make_engine, upgrade

if TYPE_CHECKING:
    from quantdesk.auth.ratelimit import LoginThrottle, RateLimiter
    from quantdesk.auth.service import AuthService
    from quantdesk.backtest.service import BacktestService
    from quantdesk.ml.training import MLService
    from quantdesk.portfolio.service import PortfolioService
    from quantdesk.risk.service import RiskService
    from quantdesk.sentiment.ports import NewsSource
    from quantdesk.sentiment.service import SentimentService
    from quantdesk.signals.service import AnalysisService


def build_bar_store(settings: Settings) -> BarStore:
    """Return the bar store selected by ``settings.storage.backend``."""
    if settings.storage.backend == "postgres":
        from quantdesk.data.storage.postgres import PostgresBarStore

        url = settings.postgres_bar_store_url
        if url is None:
            raise ConfigError("storage.backend is postgres but no URL is configured")
        return PostgresBarStore(url)
    from quantdesk.data.storage.duckdb import DuckDBBarStore

    return DuckDBBarStore(settings.duckdb_path, threads=settings.storage.duckdb_threads)


@dataclass
class Runtime:
    """The wired application: stores, services and the settings they came from."""

    settings: Settings
    engine: Engine
    bar_store: BarStore
    instrument_store: SqlInstrumentStore
    market: MarketDataService
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def analysis(self) -> AnalysisService:
        """Return the analysis service (built on first use: the indicator catalogue loads then)."""
        from quantdesk.indicators.catalog import REGISTRY
        from quantdesk.signals.service import AnalysisService

        return AnalysisService(self.market, REGISTRY)

    @cached_property
    def risk(self) -> RiskService:
        """Return the risk service (metrics, VaR, stress tests, simulations, sizing)."""
        from quantdesk.risk.service import RiskService

        return RiskService(self.market, self.clock)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        """Return the brute-force guard for sign-ins."""
        from quantdesk.runtime.security import build_login_throttle

        return build_login_throttle(self.settings)

    @cached_property
    def auth(self) -> AuthService:
        """Return the account service (users, tokens, MFA, API keys, secrets, audit)."""
        from quantdesk.runtime.security import build_auth_service

        return build_auth_service(self.settings, self.engine, self.clock, self.login_throttle)

    @cached_property
    def portfolios(self) -> PortfolioService:
        """Return the portfolio service (ledgers, imports, holdings, performance, optimisation);
        its changes are audited through the account service."""
        from quantdesk.db.portfolios import SqlPortfolioStore
        from quantdesk.portfolio.service import PortfolioService

        return PortfolioService(
            SqlPortfolioStore(self.engine), self.market, self.clock, self.auth.record
        )

    @cached_property
    def background(self) -> ThreadPoolExecutor:
        """Return the worker thread that runs submitted backtests one at a time."""
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="quantdesk-background")

    @cached_property
    def backtests(self) -> BacktestService:
        """Return the backtest service; submitted runs execute on :attr:`background` and their
        artifacts live in ``QUANTDESK_HOME/backtests``."""
        from quantdesk.backtest.service import BacktestService
        from quantdesk.db.backtests import SqlBacktestStore

        def launch(work: Callable[[], None]) -> None:
            self.background.submit(work)

        return BacktestService(
            self.market,
            SqlBacktestStore(self.engine),
            self.settings.home_dir / "backtests",
            self.clock,
            launch,
        )

    @cached_property
    def ml(self) -> MLService:
        """Return the forecasting service; runs and models are tracked in MLflow (SQLite under
        ``QUANTDESK_HOME`` unless ``QUANTDESK_ML__TRACKING_URI`` points elsewhere)."""
        from quantdesk.ml.registry import MlflowModelRegistry
        from quantdesk.ml.training import MLService

        registry = MlflowModelRegistry(
            self.settings.mlflow_tracking_uri,
            self.settings.mlflow_artifacts_dir,
            self.settings.ml.experiment,
        )
        return MLService(self.market, registry, self.clock, self.sentiment.daily_frame)

    @cached_property
    def sentiment(self) -> SentimentService:
        """Return the news-sentiment service (articles and daily rows in the relational store;
        the embedding scorer caches its fitted head in ``QUANTDESK_HOME/sentiment``)."""
        from quantdesk.db.news import SqlNewsStore
        from quantdesk.sentiment.service import SentimentService

        return SentimentService(
            self.market,
            SqlNewsStore(self.engine),
            self.clock,
            self.settings.home_dir / "sentiment",
        )

    def recover(self) -> int:
        """Mark work a stopped process left queued or running as interrupted; return how many.

        Run at API start-up. The embedded profile has one API process, so nothing else can
        still be working on those runs.
        """
        from quantdesk.db.backtests import SqlBacktestStore

        return SqlBacktestStore(self.engine).interrupt_unfinished(self.clock.now())

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Return the request rate limiter (memory, or Redis when configured)."""
        from quantdesk.runtime.security import build_rate_limiter

        return build_rate_limiter(self.settings)

    def readiness(self) -> dict[str, dict[str, Any]]:
        """Return the state of every store: ``{"name": {"ok": bool, "detail": str}}``."""
        checks: dict[str, dict[str, Any]] = {}
        for name, ping in (
            (f"bar_store ({self.bar_store.name})", self.bar_store.ping),
            (f"relational ({self.engine.dialect.name})", self.instrument_store.ping),
        ):
            try:
                ping()
                checks[name] = {"ok": True, "detail": "ok"}
            except QuantdeskError as exc:
                checks[name] = {"ok": False, "detail": exc.message}
        return checks

    def close(self) -> None:
        """Stop the background worker (waiting for the running task) and release connections."""
        if "background" in self.__dict__:
            self.background.shutdown(wait=True, cancel_futures=True)
        self.bar_store.close()
        self.engine.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def build_news_source(
    kind: str, target: str, *, api_key: str | None = None, name: str | None = None
) -> NewsSource:
    """Return the news source ``kind`` reading ``target``, for the interfaces.

    Parameters
    ----------
    kind
        ``rss`` (``target`` is an http(s) feed URL or a feed file), ``jsonl`` (a JSON Lines
        file) or ``newsapi`` (``target`` is the search query).
    target
        URL, path or query.
    api_key
        Key of the news API (``newsapi`` only).
    name
        Source name; each adapter's default when None.

    Raises
    ------
    ValidationError
        For an unknown ``kind`` or an empty ``target``.
    """
    from quantdesk.core.errors import Issue, ValidationError
    from quantdesk.sentiment.sources import JsonlSource, NewsApiSource, RssSource

    text = target.strip()
    if not text:
        raise ValidationError(
            "no news source given", [Issue(kind, "give a URL, a file or a query", kind)]
        )
    if kind == "rss":
        if text.lower().startswith(("http://", "https://")):
            return RssSource(text, name=name)
        return RssSource.from_file(text, name=name)
    if kind == "jsonl":
        return JsonlSource(text, name=name)
    if kind == "newsapi":
        return NewsApiSource(text, api_key=api_key, name=name or "newsapi")
    raise ValidationError(
        "unknown news source",
        [Issue("kind", f"unknown source kind {kind!r}; use rss, jsonl or newsapi", "kind")],
    )


def migrate(settings: Settings) -> tuple[str | None, str]:
    """Migrate the relational store and the bar store; return (revision, bar-store name)."""
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    try:
        upgrade(engine)
        revision = current_revision(engine)
    finally:
        engine.dispose()
    store = build_bar_store(settings)
    try:
        store.migrate()
        return revision, store.name
    finally:
        store.close()


def database_revision(settings: Settings) -> str | None:
    """Return the relational store's migration revision (``None`` before the first)."""
    engine = make_engine(settings.database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Return a :class:`Runtime` for ``settings``, migrating both stores when ``migrate``."""
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    bar_store = build_bar_store(settings)
    try:
        if migrate:
            upgrade(engine)
            bar_store.migrate()
    except Exception:
        bar_store.close()
        engine.dispose()
        raise
    instruments = SqlInstrumentStore(engine)
    return Runtime(
        settings=settings,
        engine=engine,
        bar_store=bar_store,
        instrument_store=instruments,
        market=MarketDataService(bar_store, instruments),
    )
