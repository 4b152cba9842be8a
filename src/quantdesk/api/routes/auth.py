"""Sign-in, token rotation, the caller's own account and MFA."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Response, status

from quantdesk.api.deps import AuditContextDep, AuthDep, rate_limit, requires
from quantdesk.api.schemas.auth import (
    MePublic,
    MfaCode,
    MfaEnrolPublic,
    PasswordChange,
    RecoveryCodesPublic,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UserPublic,
)
from quantdesk.auth.models import Principal
from quantdesk.auth.rbac import Permission

public_router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(rate_limit)])
router = APIRouter(prefix="/auth", tags=["auth"])

AccountDep = Annotated[Principal, requires(Permission.ACCOUNT)]

_UNAUTHORISED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong credentials, or a one-time code is needed"}
}


@public_router.post("/token", response_model=TokenResponse, responses=_UNAUTHORISED)
def issue_token(
    auth: AuthDep,
    context: AuditContextDep,
    username: Annotated[str, Form(min_length=1, max_length=320, description="Email address")],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    otp: Annotated[
        str | None, Form(max_length=32, description="TOTP or recovery code, when MFA is on")
    ] = None,
) -> TokenResponse:
    """Sign in (OAuth2 password flow): a 15-minute access token and a 7-day refresh token."""
    return TokenResponse.of(auth.login(username, password, otp=otp or None, context=context))


@public_router.post("/refresh", response_model=TokenResponse, responses=_UNAUTHORISED)
def refresh_token(body: RefreshRequest, auth: AuthDep, context: AuditContextDep) -> TokenResponse:
    """Swap a refresh token for a new pair. Each refresh token works once; presenting a used
    one revokes every token of that sign-in."""
    return TokenResponse.of(auth.refresh(body.refresh_token, context=context))


@public_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest, auth: AuthDep, context: AuditContextDep) -> Response:
    """Revoke the refresh token and every token rotated from the same sign-in."""
    auth.logout(body.refresh_token, principal=None, context=context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public_router.post(
    "/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses={403: {"description": "Self-registration is switched off"}},
)
def register(body: RegisterRequest, auth: AuthDep, context: AuditContextDep) -> UserPublic:
    """Create an account with the default role (only when self-registration is on)."""
    user = auth.register(
        email=body.email, password=body.password, display_name=body.display_name, context=context
    )
    return UserPublic.of(user)


@router.get("/me", response_model=MePublic)
def read_me(principal: AccountDep, auth: AuthDep) -> MePublic:
    """Return the signed-in caller and their effective permissions."""
    user = auth.get_user(principal.user_id)
    return MePublic(
        **UserPublic.of(user).model_dump(),
        permissions=sorted(p.value for p in principal.permissions),
        via=principal.via,
        scopes=sorted(s.value for s in principal.scopes) if principal.scopes else None,
    )


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(
    body: PasswordChange, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> Response:
    """Change your password; other sessions are signed out."""
    auth.change_password(
        principal, current=body.current_password, new=body.new_password, context=context
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/mfa/enrol", response_model=MfaEnrolPublic)
def enrol_mfa(principal: AccountDep, auth: AuthDep, context: AuditContextDep) -> MfaEnrolPublic:
    """Start MFA: returns a TOTP secret and its otpauth URI (render it as a QR code)."""
    enrolment = auth.mfa_enrol(principal, context=context)
    return MfaEnrolPublic(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post("/mfa/verify", response_model=RecoveryCodesPublic)
def verify_mfa(
    body: MfaCode, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> RecoveryCodesPublic:
    """Confirm enrolment with a current code; MFA is on from now and ten recovery codes are
    returned once."""
    return RecoveryCodesPublic(
        recovery_codes=auth.mfa_activate(principal, body.code, context=context)
    )


@router.post("/mfa/disable", status_code=status.HTTP_204_NO_CONTENT)
def disable_mfa(
    body: MfaCode, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> Response:
    """Switch MFA off (needs a current or recovery code)."""
    auth.mfa_disable(principal, body.code, context=context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/mfa/recovery-codes", response_model=RecoveryCodesPublic)
def regenerate_recovery_codes(
    body: MfaCode, principal: AccountDep, auth: AuthDep, context: AuditContextDep
) -> RecoveryCodesPublic:
    """Replace your recovery codes (needs a current one-time code)."""
    codes = auth.regenerate_recovery_codes(principal, body.code, context=context)
    return RecoveryCodesPublic(recovery_codes=codes)
