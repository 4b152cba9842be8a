"""User administration (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from quantdesk.api.deps import AuditContextDep, AuthDep, requires
from quantdesk.api.schemas.auth import (
    MfaPolicyPublic,
    MfaPolicyUpdate,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdate,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission

router = APIRouter(prefix="/users", tags=["users"])

AdminDep = Annotated[Principal, requires(Permission.USERS_ADMIN)]
UserId = Annotated[str, Path(min_length=1, max_length=32)]


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, admin: AdminDep, auth: AuthDep, context: AuditContextDep
) -> UserPublic:
    """Create a user with a role."""
    user = auth.create_user(
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        role=body.role,
        tier=body.tier,
        actor=admin,
        context=context,
    )
    return UserPublic.of(user)


@router.get("", response_model=UsersPublic)
def list_users(
    admin: AdminDep,
    auth: AuthDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> UsersPublic:
    """List users in creation order."""
    users = auth.list_users(offset=offset, limit=limit)
    return UsersPublic(data=[UserPublic.of(u) for u in users], count=len(users))


@router.get("/policies/mfa", response_model=MfaPolicyPublic)
def read_mfa_policy(admin: AdminDep, auth: AuthDep) -> MfaPolicyPublic:
    """Return the roles whose users must use MFA."""
    return MfaPolicyPublic(required_roles=sorted(auth.mfa_policy()))


@router.put("/policies/mfa", response_model=MfaPolicyPublic)
def update_mfa_policy(
    body: MfaPolicyUpdate, admin: AdminDep, auth: AuthDep, context: AuditContextDep
) -> MfaPolicyPublic:
    """Require MFA for a role (its users can only enrol until they do), or stop requiring it."""
    roles = auth.set_mfa_policy(body.role, body.required, actor=admin, context=context)
    return MfaPolicyPublic(required_roles=sorted(roles))


@router.get("/{user_id}", response_model=UserPublic)
def read_user(user_id: UserId, admin: AdminDep, auth: AuthDep) -> UserPublic:
    """Return one user."""
    return UserPublic.of(auth.get_user(user_id))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: UserId, body: UserUpdate, admin: AdminDep, auth: AuthDep, context: AuditContextDep
) -> UserPublic:
    """Change a user's role, tier, name or active flag (deactivating signs them out)."""
    user = auth.update_user(
        user_id,
        actor=admin,
        context=context,
        role=body.role,
        is_active=body.is_active,
        display_name=body.display_name,
        tier=body.tier,
    )
    return UserPublic.of(user)
