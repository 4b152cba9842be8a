"""API keys and stored third-party credentials of the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from quantdesk.api.deps import AuditContextDep, AuthDep, requires
from quantdesk.api.schemas.auth import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeysPublic,
    SecretPublic,
    SecretPut,
    SecretsPublic,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission

router = APIRouter(tags=["account"])

AccountDep = Annotated[Principal, requires(Permission.ACCOUNT)]
KeyId = Annotated[str, Path(min_length=1, max_length=32)]
SecretName = Annotated[str, Path(min_length=1, max_length=64, examples=["alphavantage"])]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(
    body: ApiKeyCreate, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> ApiKeyCreated:
    """Create an API key for scripts; send it as `X-API-Key`. It is shown only in this reply."""
    created = auth.create_api_key(
        principal,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        context=context,
    )
    return ApiKeyCreated(**ApiKeyPublic.of(created.record).model_dump(), key=created.key)


@router.get("/api-keys", response_model=ApiKeysPublic)
def list_api_keys(
    principal: AccountDep,
    auth: AuthDep,
    all_users: Annotated[bool, Query(description="Admins: every user's keys")] = False,
) -> ApiKeysPublic:
    """List your API keys by prefix."""
    keys = auth.list_api_keys(principal, all_users=all_users)
    return ApiKeysPublic(data=[ApiKeyPublic.of(k) for k in keys], count=len(keys))


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(
    key_id: KeyId, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> Response:
    """Revoke one of your API keys."""
    auth.revoke_api_key(principal, key_id, context=context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/secrets", response_model=SecretsPublic)
def list_secrets(principal: AccountDep, auth: AuthDep) -> SecretsPublic:
    """List the names of your stored credentials (values are never returned)."""
    secrets = auth.list_secrets(principal)
    return SecretsPublic(data=[SecretPublic.of(s) for s in secrets], count=len(secrets))


@router.put("/secrets/{name}", response_model=SecretPublic)
def put_secret(
    name: SecretName,
    body: SecretPut,
    principal: AccountDep,
    auth: AuthDep,
    context: AuditContextDep,
) -> SecretPublic:
    """Store a credential (e.g. a data-provider API key), encrypted at rest."""
    return SecretPublic.of(auth.put_secret(principal, name, body.value, context=context))


@router.delete("/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_secret(
    name: SecretName, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> Response:
    """Delete a stored credential."""
    auth.delete_secret(principal, name, context=context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
