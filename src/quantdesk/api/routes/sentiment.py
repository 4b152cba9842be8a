"""News sentiment: score texts, and read a symbol's daily sentiment.

Articles are ingested from the command line (``quantdesk ingest news``) or by jobs; the API
reads what is stored and scores texts on demand.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from quantdesk.api.deps import RuntimeDep, requires
from quantdesk.api.schemas.sentiment import (
    DailySentimentPublic,
    DailySentimentsPublic,
    ScorerName,
    SentimentScoreRequest,
    TextSentimentPublic,
    TextSentimentsPublic,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission
from quantdesk.domain import normalize_symbol
from quantdesk.sentiment.service import SentimentService

ml_router = APIRouter(prefix="/ml", tags=["ml"])
"""``/ml/sentiment``: next to the forecasting routes, served from this module."""

router = APIRouter(prefix="/sentiment", tags=["sentiment"])

AnalysisDep = Annotated[Principal, requires(Permission.ANALYSIS_RUN)]
MarketReadDep = Annotated[Principal, requires(Permission.MARKET_READ)]


def get_sentiment_service(runtime: RuntimeDep) -> SentimentService:
    """Return the news-sentiment service."""
    return runtime.sentiment


ServiceDep = Annotated[SentimentService, Depends(get_sentiment_service)]


@ml_router.post("/sentiment", response_model=TextSentimentsPublic)
def score_sentiment(
    body: SentimentScoreRequest, principal: AnalysisDep, service: ServiceDep
) -> TextSentimentsPublic:
    """Score each text (score, label, confidence) and list the known symbols it mentions."""
    results = service.score_texts(body.items(), body.scorer)
    return TextSentimentsPublic(
        scorer=body.scorer,
        data=[TextSentimentPublic.of(result) for result in results],
        count=len(results),
    )


@router.get("/{symbol}", response_model=DailySentimentsPublic)
def read_daily_sentiment(
    symbol: Annotated[str, Path(min_length=1, max_length=32, examples=["AAPL"])],
    principal: MarketReadDep,
    service: ServiceDep,
    start: Annotated[date | None, Query(description="First day, YYYY-MM-DD")] = None,
    end: Annotated[date | None, Query(description="Last day (inclusive), YYYY-MM-DD")] = None,
    scorer: Annotated[ScorerName, Query()] = "lexicon",
) -> DailySentimentsPublic:
    """A symbol's daily news sentiment (mean, count, dispersion), oldest first."""
    rows = service.daily(symbol, start, end, scorer)
    return DailySentimentsPublic(
        symbol=normalize_symbol(symbol),
        scorer=scorer,
        data=[DailySentimentPublic.of(row) for row in rows],
        count=len(rows),
    )
