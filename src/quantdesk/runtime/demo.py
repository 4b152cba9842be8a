"""Load the demo dataset: bundled real history plus the synthetic market."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from quantdesk import __version__
from quantdesk.core.errors import NotFound
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.data.providers.bundled import (
    DEMO_DATASETS,
    BundledDatasetProvider,
    dataset_fingerprint,
)
from quantdesk.data.providers.synthetic import SyntheticMarketConfig, SyntheticMarketProvider
from quantdesk.data.service import IngestProgress, IngestReport
from quantdesk.domain import Interval
from quantdesk.runtime.bootstrap import Runtime

if TYPE_CHECKING:
    from quantdesk.auth.models import UserAccount
    from quantdesk.portfolio.ports import Portfolio


class SyntheticAllIntervals:
    """Every interval the synthetic market serves (daily and intraday), as one dataset."""

    def __init__(self, market: SyntheticMarketProvider) -> None:
        self._market = market
        self.name = market.name

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield the synthetic bars of every interval, restricted like ``request``."""
        for interval in self._market.intervals:
            yield from self._market.fetch(
                FetchRequest(request.symbols, interval, request.start, request.end)
            )


def synthetic_fingerprint(config: SyntheticMarketConfig) -> str:
    """Return a fingerprint of the synthetic market's configuration and generator version."""
    text = f"{config.model_dump_json()}|quantdesk=={__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_demo(
    runtime: Runtime,
    *,
    force: bool = False,
    synthetic: bool = True,
    progress: Callable[[IngestProgress], None] | None = None,
) -> dict[str, IngestReport]:
    """Load every bundled dataset (and the synthetic market) not already loaded.

    Re-running is cheap: each dataset is skipped when its recorded fingerprint matches.
    """
    reports: dict[str, IngestReport] = {}
    for name in DEMO_DATASETS:
        reports[name] = runtime.market.ingest_dataset(
            name,
            dataset_fingerprint(name),
            BundledDatasetProvider((name,)),
            force=force,
            progress=progress,
        )
    if synthetic:
        config = SyntheticMarketConfig()
        reports["synthetic"] = runtime.market.ingest_dataset(
            "synthetic",
            synthetic_fingerprint(config),
            SyntheticAllIntervals(SyntheticMarketProvider(config)),
            force=force,
            progress=progress,
        )
    return reports


DEMO_ADMIN_EMAIL = "admin@quantdesk.local"


def ensure_demo_admin(runtime: Runtime) -> tuple[str, str] | None:
    """Create the demo administrator with a random password unless an admin exists.

    Returns ``(email, password)`` when one was created, so the caller can show the password
    once; it is stored only as an Argon2id hash.
    """
    from quantdesk.auth.models import AuditContext
    from quantdesk.auth.rbac import Role

    if runtime.auth.has_admin():
        return None
    password = secrets.token_urlsafe(18)
    runtime.auth.create_user(
        email=DEMO_ADMIN_EMAIL,
        password=password,
        display_name="Demo administrator",
        role=Role.ADMIN,
        actor=None,
        context=AuditContext(user_agent="quantdesk demo"),
    )
    return DEMO_ADMIN_EMAIL, password


DEMO_PORTFOLIO_NAME = "Demo portfolio"
_DEMO_BUY_DATE = date(2015, 6, 2)
_DEMO_SYMBOLS = ("AAPL", "MSFT", "JPM", "JNJ", "KO", "XOM", "PG")
_DEMO_BUDGET = Decimal(12_000)  # per name, in USD
_CENT = Decimal("0.01")


def first_admin(runtime: Runtime) -> UserAccount | None:
    """Return the earliest-created active administrator, if there is one."""
    from quantdesk.auth.rbac import Role

    for user in runtime.auth.list_users(limit=10_000):
        if user.role is Role.ADMIN and user.is_active:
            return user
    return None


def _close_on(runtime: Runtime, symbol: str, day: date) -> Decimal:
    start = datetime.combine(day, time(), UTC)
    page = runtime.market.history(symbol, Interval.D1, start, start + timedelta(days=1))
    if page.bars.height == 0:
        raise NotFound(f"no {symbol} close on {day}")
    close = Decimal(str(page.bars.item(0, "close")))
    return close.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def ensure_demo_portfolio(runtime: Runtime) -> tuple[Portfolio, bool] | None:
    """Create the demo portfolio of the first administrator unless it exists.

    It is built on the bundled ``sp500-20`` real closes (split- and dividend-adjusted, from
    ``skfolio``): a 100,000 USD deposit on 2015-06-01, about 12,000 USD of each of AAPL, MSFT,
    JPM, JNJ, KO, XOM and PG bought on 2015-06-02 at that day's close (rounded to the cent,
    no fees), Coca-Cola's quarterly dividend of 0.35 USD a share paid on 2016-04-01 (the
    closes are dividend-adjusted, so this cash comes on top of them), and half of the XOM
    position sold at the close of 2018-06-01. The benchmark is the S&P 500 index (``SPX``)
    when it is loaded.

    Returns
    -------
    tuple or None
        ``(portfolio, created)``, or ``None`` when there is no administrator or the
        ``sp500-20`` closes are not loaded.
    """
    from quantdesk.auth.models import AuditContext, Principal
    from quantdesk.domain.portfolio import Transaction, TransactionType

    admin = first_admin(runtime)
    if admin is None:
        return None
    principal = Principal.of(admin, via="token")
    service = runtime.portfolios
    owned, _ = service.list_portfolios(principal, limit=1000)
    for portfolio in owned:
        if portfolio.name == DEMO_PORTFOLIO_NAME:
            return portfolio, False
    try:
        buys = {symbol: _close_on(runtime, symbol, _DEMO_BUY_DATE) for symbol in _DEMO_SYMBOLS}
        xom_sale = _close_on(runtime, "XOM", date(2018, 6, 1))
    except NotFound:
        return None
    try:
        benchmark: str | None = runtime.market.resolve("SPX").symbol
    except NotFound:
        benchmark = None
    shares = {
        symbol: (_DEMO_BUDGET / price).to_integral_value(ROUND_FLOOR)
        for symbol, price in buys.items()
    }
    transactions = [
        Transaction.cash(TransactionType.DEPOSIT, date(2015, 6, 1), 100_000, note="demo funding"),
        *(
            Transaction(
                TransactionType.BUY, _DEMO_BUY_DATE, symbol, shares[symbol], price,
                note="at the day's adjusted close",
            )
            for symbol, price in buys.items()
        ),
        Transaction(
            TransactionType.DIVIDEND, date(2016, 4, 1), "KO", shares["KO"], Decimal("0.35"),
            note="quarterly dividend, 0.35 USD a share",
        ),
        Transaction(
            TransactionType.SELL, date(2018, 6, 1), "XOM", shares["XOM"] // 2, xom_sale,
            note="trim half at the day's adjusted close",
        ),
    ]  # fmt: skip
    context = AuditContext(user_agent="quantdesk demo")
    portfolio = service.create_portfolio(
        principal,
        name=DEMO_PORTFOLIO_NAME,
        base_currency="USD",
        benchmark_symbol=benchmark,
        context=context,
    )
    service.add_transactions(principal, portfolio.id, transactions, context=context)
    return portfolio, True
