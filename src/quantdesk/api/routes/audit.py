"""The audit log (read-only, admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from quantdesk.api.deps import AuthDep, requires
from quantdesk.api.schemas.auth import AuditEntryPublic, AuditPage
from quantdesk.auth.models import Principal
from quantdesk.auth.ports import AuditQuery
from quantdesk.auth.rbac import Permission

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def read_audit_log(
    admin: Annotated[Principal, requires(Permission.AUDIT_READ)],
    auth: AuthDep,
    actor_id: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=64, examples=["auth.login"])] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Literal["success", "failure"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: Annotated[int | None, Query(ge=1, description="Page cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Return audit entries, newest first, filtered and paged."""
    entries = auth.audit_log(
        AuditQuery(
            actor_id=actor_id,
            action=action,
            target=target,
            outcome=outcome,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )
    )
    next_id = entries[-1].id if len(entries) == limit else None
    return AuditPage(
        data=[AuditEntryPublic.of(e) for e in entries], count=len(entries), next_before_id=next_id
    )
