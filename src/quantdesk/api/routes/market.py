"""Market data: quotes, history and symbol search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from quantdesk.api.deps import MarketDep, SettingsDep, requires
from quantdesk.api.schemas.market import (
    BarPublic,
    BatchQuotesRequest,
    HistoryPublic,
    QuotePublic,
    QuotesPublic,
    SymbolPublic,
    SymbolsPublic,
)
from quantdesk.auth.rbac import Permission
from quantdesk.core.errors import Issue, ValidationError
from quantdesk.data.service import parse_time
from quantdesk.domain import Interval

router = APIRouter(
    prefix="/market", tags=["market"], dependencies=[requires(Permission.MARKET_READ)]
)

SymbolPath = Annotated[str, Path(min_length=1, max_length=32, description="Ticker, e.g. SPX")]


@router.get("/quote/{symbol}", response_model=QuotePublic)
def read_quote(symbol: SymbolPath, market: MarketDep) -> QuotePublic:
    """Return the latest price of a symbol."""
    return QuotePublic.of(market.quote(symbol))


@router.post("/batch-quotes", response_model=QuotesPublic)
def read_batch_quotes(body: BatchQuotesRequest, market: MarketDep) -> QuotesPublic:
    """Return the latest prices of several symbols; unknown ones are listed in `missing`."""
    quotes, missing = market.quotes(body.symbols)
    return QuotesPublic(
        data=[QuotePublic.of(q) for q in quotes], count=len(quotes), missing=missing
    )


@router.get("/history/{symbol}", response_model=HistoryPublic)
def read_history(
    symbol: SymbolPath,
    market: MarketDep,
    settings: SettingsDep,
    start: Annotated[
        str | None, Query(description="First date/time, YYYY-MM-DD or ISO 8601 (inclusive)")
    ] = None,
    end: Annotated[
        str | None,
        Query(description="Last date (inclusive) or an exclusive ISO 8601 time"),
    ] = None,
    interval: Annotated[
        str, Query(description="1m, 5m, 15m, 1h, 1d, 1w or 1mo; coarser ones are resampled")
    ] = "1d",
    limit: Annotated[int | None, Query(ge=1, description="Page size")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="Oldest or newest first")] = "asc",
) -> HistoryPublic:
    """Return OHLCV bars of a symbol, paged with a cursor."""
    try:
        bar_interval = Interval.parse(interval)
    except ValueError as exc:
        raise ValidationError("invalid interval", [Issue("interval", str(exc))]) from None
    page_size = limit or settings.api.default_page_size
    if page_size > settings.api.max_page_size:
        raise ValidationError(
            "invalid limit",
            [Issue("limit", f"at most {settings.api.max_page_size} bars per page; use the cursor")],
        )
    page = market.history(
        symbol,
        bar_interval,
        parse_time(start, "start"),
        parse_time(end, "end", end=True),
        limit=page_size,
        cursor=cursor,
        newest_first=order == "desc",
    )
    bars = [
        BarPublic.model_construct(**row) for row in page.bars.drop("symbol", "interval").to_dicts()
    ]
    return HistoryPublic(
        symbol=page.symbol,
        interval=page.interval.value,
        source_interval=page.source_interval.value,
        synthetic=page.synthetic,
        count=len(bars),
        bars=bars,
        next_cursor=page.next_cursor,
    )


@router.get("/symbols", response_model=SymbolsPublic)
def read_symbols(
    market: MarketDep,
    q: Annotated[str | None, Query(max_length=64, description="Part of a symbol or name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SymbolsPublic:
    """Search instruments by symbol or name."""
    found = market.search(q, limit=limit)
    return SymbolsPublic(data=[SymbolPublic.of_info(i) for i in found], count=len(found))
