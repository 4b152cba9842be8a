"""FX rates used to value holdings in other currencies (administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from quantdesk.api.deps import AuditContextDep, RuntimeDep, requires
from quantdesk.api.schemas.portfolio import FxRatesPut, FxRatesStored
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission

router = APIRouter(prefix="/fx-rates", tags=["portfolio"])


@router.put("", response_model=FxRatesStored)
def update_fx_rates(
    body: FxRatesPut,
    admin: Annotated[Principal, requires(Permission.MARKET_WRITE)],
    runtime: RuntimeDep,
    context: AuditContextDep,
) -> FxRatesStored:
    """Store daily FX rates (1 currency = rate quote currency); same pair and day replaces."""
    stored = runtime.portfolios.add_fx_rates(
        admin, [rate.to_domain() for rate in body.rates], context=context
    )
    return FxRatesStored(stored=stored)
