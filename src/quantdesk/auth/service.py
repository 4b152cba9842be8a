"""The account service: users, sign-in, token rotation, MFA, API keys, secrets and audit.

Every public method runs in one store transaction, so a failure leaves nothing half-written.
Failed sign-ins and token misuse are audited in their own transaction before the error is
raised, so the record survives the failure it describes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from quantdesk.auth import mfa
from quantdesk.auth.apikeys import new_api_key, parse_prefix
from quantdesk.auth.models import (
    ApiKey,
    AuditContext,
    AuditEntry,
    Principal,
    RefreshToken,
    TokenPair,
    UserAccount,
)
from quantdesk.auth.passwords import PasswordHasher, check_password_policy
from quantdesk.auth.ports import (
    AuditQuery,
    AuthStore,
    AuthUnitOfWork,
    LoginGuard,
    SecretCipher,
    StoredSecret,
)
from quantdesk.auth.rbac import Permission, Role, Scope
from quantdesk.auth.tokens import TokenIssuer, digest, new_secret, same_digest
from quantdesk.core.clock import Clock
from quantdesk.core.errors import (
    Conflict,
    Issue,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from quantdesk.core.ids import new_id

BAD_CREDENTIALS = "incorrect email, password or one-time code"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")


class MfaRequired(Unauthenticated):
    """The password was right but the account needs a one-time code too."""

    mfa_required = True


def normalise_email(email: str) -> str:
    """Return ``email`` trimmed and lower-cased; raise when it is not an address."""
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 320:
        raise ValidationError(
            "invalid email", [Issue("email", "is not a valid email address", field="email")]
        )
    return cleaned


def _public(user: UserAccount) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role.value,
        "tier": user.tier,
        "is_active": user.is_active,
        "mfa_enabled": user.mfa_enabled,
    }


@dataclass(frozen=True, slots=True)
class MfaEnrolment:
    """What a user needs to add quantdesk to an authenticator app."""

    secret: str
    otpauth_uri: str


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    """A new API key; ``key`` is shown this once and never again."""

    key: str
    record: ApiKey


class AuthService:
    """Accounts and credentials over an :class:`AuthStore`."""

    def __init__(
        self,
        store: AuthStore,
        *,
        hasher: PasswordHasher,
        issuer: TokenIssuer,
        cipher: SecretCipher,
        guard: LoginGuard,
        clock: Clock,
        refresh_ttl: timedelta = timedelta(days=7),
        min_password_length: int = 12,
        self_registration: bool = False,
        default_role: Role = Role.VIEWER,
        mfa_issuer: str = "quantdesk",
        default_tier: str = "free",
    ) -> None:
        self._store = store
        self._hasher = hasher
        self.issuer = issuer
        self._cipher = cipher
        self._guard = guard
        self._clock = clock
        self._refresh_ttl = refresh_ttl
        self._min_password_length = min_password_length
        self.self_registration = self_registration
        self._default_role = default_role
        self._mfa_issuer = mfa_issuer
        self._default_tier = default_tier

    # -- audit -------------------------------------------------------------------------------

    def record(
        self,
        action: str,
        *,
        actor: Principal | UserAccount | None,
        context: AuditContext,
        outcome: Literal["success", "failure"] = "success",
        target: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        uow: AuthUnitOfWork | None = None,
    ) -> None:
        """Append an audit entry (inside ``uow`` when given, else in its own transaction)."""
        actor_id: str | None = None
        email: str | None = None
        role: str | None = None
        if isinstance(actor, Principal):
            actor_id, email, role = actor.user_id, actor.email, actor.role.value
        elif isinstance(actor, UserAccount):
            actor_id, email, role = actor.id, actor.email, actor.role.value
        entry = AuditEntry(
            action=action,
            outcome=outcome,
            at=self._clock.now(),
            actor_id=actor_id,
            actor_email=email,
            role=role,
            target=target,
            context=context,
            before=before,
            after=after,
        )
        if uow is not None:
            uow.append_audit(entry)
            return
        with self._store.transaction() as own:
            own.append_audit(entry)

    def audit_log(self, query: AuditQuery) -> list[AuditEntry]:
        """Return audit entries matching ``query``, newest first."""
        with self._store.transaction() as uow:
            return uow.list_audit(query)

    # -- users -------------------------------------------------------------------------------

    def create_user(
        self,
        *,
        email: str,
        password: str,
        display_name: str | None = None,
        role: Role,
        tier: str | None = None,
        actor: Principal | None,
        context: AuditContext,
    ) -> UserAccount:
        """Create a user; ``actor`` is the admin doing it (``None`` for bootstrap/registration)."""
        email = normalise_email(email)
        check_password_policy(password, min_length=self._min_password_length, email=email)
        user = UserAccount(
            id=new_id("usr"),
            email=email,
            display_name=(display_name or email.split("@")[0]).strip()[:200],
            role=role,
            password_hash=self._hasher.hash(password),
            tier=tier or self._default_tier,
            created_at=self._clock.now(),
        )
        with self._store.transaction() as uow:
            if uow.user_by_email(email) is not None:
                raise Conflict(f"a user with email {email} already exists")
            uow.add_user(user)
            self.record(
                "user.create",
                actor=actor or user,
                context=context,
                target=user.id,
                after=_public(user),
                uow=uow,
            )
        return user

    def register(
        self, *, email: str, password: str, display_name: str | None, context: AuditContext
    ) -> UserAccount:
        """Self-register with the default role, when the setting allows it."""
        if not self.self_registration:
            raise PermissionDenied(
                "self-registration is switched off; ask an administrator for an account "
                "(or set QUANTDESK_AUTH__SELF_REGISTRATION=true)"
            )
        return self.create_user(
            email=email,
            password=password,
            display_name=display_name,
            role=self._default_role,
            actor=None,
            context=context,
        )

    def has_admin(self) -> bool:
        """Return whether an active administrator exists."""
        with self._store.transaction() as uow:
            return uow.count_users(role=Role.ADMIN) > 0

    def list_users(self, *, offset: int = 0, limit: int = 100) -> list[UserAccount]:
        """Return users ordered by creation."""
        with self._store.transaction() as uow:
            return uow.list_users(offset=offset, limit=limit)

    def get_user(self, user_id: str) -> UserAccount:
        """Return one user or raise :class:`NotFound`."""
        with self._store.transaction() as uow:
            return self._user(uow, user_id)

    def update_user(
        self,
        user_id: str,
        *,
        actor: Principal,
        context: AuditContext,
        role: Role | None = None,
        is_active: bool | None = None,
        display_name: str | None = None,
        tier: str | None = None,
    ) -> UserAccount:
        """Change a user's role, tier, name or active flag (admins only, checked by the API)."""
        with self._store.transaction() as uow:
            user = self._user(uow, user_id)
            changed = replace(
                user,
                role=role if role is not None else user.role,
                is_active=is_active if is_active is not None else user.is_active,
                display_name=display_name.strip()[:200] if display_name else user.display_name,
                tier=tier or user.tier,
            )
            demoted = user.role is Role.ADMIN and (
                changed.role is not Role.ADMIN or not changed.is_active
            )
            if demoted and uow.count_users(role=Role.ADMIN) <= 1:
                raise Conflict(
                    "this is the last active administrator; create or promote another first"
                )
            uow.update_user(changed)
            if not changed.is_active or changed.role is not user.role:
                uow.revoke_user_refresh_tokens(user.id, self._clock.now())
            self.record(
                "user.update",
                actor=actor,
                context=context,
                target=user.id,
                before=_public(user),
                after=_public(changed),
                uow=uow,
            )
        return changed

    def change_password(
        self, principal: Principal, *, current: str, new: str, context: AuditContext
    ) -> None:
        """Change the caller's password and sign out their other sessions."""
        with self._store.transaction() as uow:
            user = self._user(uow, principal.user_id)
            if not self._hasher.verify(user.password_hash, current):
                raise ValidationError(
                    "password not changed",
                    [Issue("current_password", "is incorrect", field="current_password")],
                )
            check_password_policy(new, min_length=self._min_password_length, email=user.email)
            uow.update_user(replace(user, password_hash=self._hasher.hash(new)))
            uow.revoke_user_refresh_tokens(user.id, self._clock.now())
            self.record("auth.password_change", actor=principal, context=context, uow=uow)

    # -- sign-in and tokens ----------------------------------------------------------------

    def login(
        self, email: str, password: str, *, otp: str | None = None, context: AuditContext
    ) -> TokenPair:
        """Check credentials (and the one-time code when MFA is on); return fresh tokens."""
        key = email.strip().lower()
        self._guard.check(key, context.ip)
        with self._store.transaction() as uow:
            user = uow.user_by_email(key)
            ok = self._hasher.verify(user.password_hash if user else None, password)
            if user is None or not ok or not user.is_active:
                failure: str = "bad password" if user else "unknown email"
                if user is not None and ok:
                    failure = "inactive account"
            elif user.mfa_enabled:
                if not otp:
                    raise MfaRequired(
                        "a one-time code is required: send the code from your authenticator "
                        "app (or a recovery code) in the 'otp' form field"
                    )
                failure = "" if self._check_second_factor(uow, user, otp) else "bad one-time code"
            else:
                failure = ""
            if not failure and user is not None:
                if self._hasher.needs_rehash(user.password_hash):
                    user = replace(user, password_hash=self._hasher.hash(password))
                user = replace(user, last_login_at=self._clock.now())
                uow.update_user(user)
                pair = self._issue_pair(uow, user, family_id=new_id("fam"))
                self.record("auth.login", actor=user, context=context, uow=uow)
        if failure:
            self._guard.record_failure(key, context.ip)
            self.record(
                "auth.login",
                actor=user,
                context=context,
                outcome="failure",
                target=key if user is None else user.id,
                after={"reason": failure},
            )
            raise Unauthenticated(BAD_CREDENTIALS)
        self._guard.record_success(key, context.ip)
        return pair

    def refresh(self, refresh_token: str, *, context: AuditContext) -> TokenPair:
        """Rotate a refresh token; reusing an old one revokes its whole family."""
        now = self._clock.now()
        token_hash = digest(refresh_token)
        reused: RefreshToken | None = None
        with self._store.transaction() as uow:
            stored = uow.refresh_token_by_hash(token_hash)
            if stored is None or not same_digest(stored.token_hash, token_hash):
                raise Unauthenticated("invalid refresh token; sign in again")
            if stored.used_at is not None or stored.revoked_at is not None:
                reused = stored
                uow.revoke_refresh_family(stored.family_id, now)
            else:
                if _aware(stored.expires_at) <= now:
                    raise Unauthenticated("refresh token expired; sign in again")
                user = uow.user_by_id(stored.user_id)
                if user is None or not user.is_active:
                    raise Unauthenticated("invalid refresh token; sign in again")
                uow.mark_refresh_token_used(stored.id, now)
                pair = self._issue_pair(uow, user, family_id=stored.family_id)
                self.record("auth.refresh", actor=user, context=context, uow=uow)
        if reused is not None:
            with self._store.transaction() as uow:
                owner = uow.user_by_id(reused.user_id)
            self.record(
                "auth.refresh_reuse",
                actor=owner,
                context=context,
                outcome="failure",
                target=reused.family_id,
                after={"revoked_family": reused.family_id},
            )
            raise Unauthenticated(
                "this refresh token was already used; every session of its sign-in has been "
                "revoked as a precaution. Sign in again"
            )
        return pair

    def logout(
        self, refresh_token: str, *, principal: Principal | None, context: AuditContext
    ) -> None:
        """Revoke the refresh token's family (idempotent for unknown tokens)."""
        with self._store.transaction() as uow:
            stored = uow.refresh_token_by_hash(digest(refresh_token))
            if stored is None:
                return
            if principal is not None and stored.user_id != principal.user_id:
                return
            uow.revoke_refresh_family(stored.family_id, self._clock.now())
            owner = uow.user_by_id(stored.user_id)
            self.record(
                "auth.logout", actor=owner, context=context, target=stored.family_id, uow=uow
            )

    def authenticate_token(self, token: str) -> Principal:
        """Return the principal of a valid access token."""
        claims = self.issuer.verify(token)
        with self._store.transaction() as uow:
            user = uow.user_by_id(claims.subject)
            if user is None or not user.is_active:
                raise Unauthenticated("invalid or expired access token; sign in again")
            return self._principal(uow, user, via="token")

    def authenticate_api_key(self, key: str) -> Principal:
        """Return the principal of a valid API key."""
        prefix = parse_prefix(key)
        if prefix is None:
            raise Unauthenticated("invalid API key")
        now = self._clock.now()
        with self._store.transaction() as uow:
            record = uow.api_key_by_prefix(prefix)
            if (
                record is None
                or not same_digest(record.key_hash, digest(key.strip()))
                or not record.is_usable(now)
            ):
                raise Unauthenticated("invalid, expired or revoked API key")
            user = uow.user_by_id(record.user_id)
            if user is None or not user.is_active:
                raise Unauthenticated("invalid, expired or revoked API key")
            uow.touch_api_key(record.id, now)
            return self._principal(
                uow, user, via="api_key", scopes=record.scopes, api_key_id=record.id
            )

    # -- MFA ---------------------------------------------------------------------------------

    def mfa_enrol(self, principal: Principal, *, context: AuditContext) -> MfaEnrolment:
        """Start MFA enrolment: store a new (inactive) secret and return it with its URI."""
        secret = mfa.new_totp_secret()
        with self._store.transaction() as uow:
            user = self._user(uow, principal.user_id)
            if user.mfa_enabled:
                raise Conflict("MFA is already on; disable it first to enrol a new device")
            uow.update_user(replace(user, mfa_secret=self._cipher.encrypt(secret)))
            self.record("auth.mfa.enrol", actor=principal, context=context, uow=uow)
        uri = mfa.provisioning_uri(secret, email=principal.email, issuer=self._mfa_issuer)
        return MfaEnrolment(secret=secret, otpauth_uri=uri)

    def mfa_activate(self, principal: Principal, code: str, *, context: AuditContext) -> list[str]:
        """Confirm enrolment with a code; switch MFA on and return ten recovery codes."""
        with self._store.transaction() as uow:
            user = self._user(uow, principal.user_id)
            if user.mfa_secret is None:
                raise Conflict("no MFA enrolment in progress; call the enrol endpoint first")
            if user.mfa_enabled:
                raise Conflict("MFA is already on")
            secret = self._cipher.decrypt(user.mfa_secret)
            if not mfa.verify_totp(secret, code, at=self._clock.now()):
                raise ValidationError(
                    "MFA not enabled",
                    [Issue("code", "is not the current code of the enrolled secret", field="code")],
                )
            codes = mfa.new_recovery_codes()
            uow.set_recovery_codes(user.id, [digest(mfa.normalise_recovery_code(c)) for c in codes])
            uow.update_user(replace(user, mfa_enabled=True))
            self.record("auth.mfa.enable", actor=principal, context=context, uow=uow)
        return codes

    def mfa_disable(self, principal: Principal, code: str, *, context: AuditContext) -> None:
        """Switch MFA off after checking a current code or a recovery code."""
        with self._store.transaction() as uow:
            user = self._user(uow, principal.user_id)
            if not user.mfa_enabled:
                raise Conflict("MFA is not on")
            if not self._check_second_factor(uow, user, code):
                raise ValidationError(
                    "MFA not disabled",
                    [Issue("code", "is neither a current nor a recovery code", field="code")],
                )
            uow.update_user(replace(user, mfa_enabled=False, mfa_secret=None))
            uow.set_recovery_codes(user.id, [])
            self.record("auth.mfa.disable", actor=principal, context=context, uow=uow)

    def regenerate_recovery_codes(
        self, principal: Principal, code: str, *, context: AuditContext
    ) -> list[str]:
        """Replace the recovery codes after checking a current one-time code."""
        with self._store.transaction() as uow:
            user = self._user(uow, principal.user_id)
            if not user.mfa_enabled or user.mfa_secret is None:
                raise Conflict("MFA is not on")
            if not mfa.verify_totp(self._cipher.decrypt(user.mfa_secret), code, at=self._now()):
                raise ValidationError(
                    "recovery codes not replaced",
                    [Issue("code", "is not the current one-time code", field="code")],
                )
            codes = mfa.new_recovery_codes()
            uow.set_recovery_codes(user.id, [digest(mfa.normalise_recovery_code(c)) for c in codes])
            self.record("auth.mfa.recovery_codes", actor=principal, context=context, uow=uow)
        return codes

    def mfa_policy(self) -> frozenset[Role]:
        """Return the roles that must use MFA."""
        with self._store.transaction() as uow:
            return uow.mfa_required_roles()

    def set_mfa_policy(
        self, role: Role, required: bool, *, actor: Principal, context: AuditContext
    ) -> frozenset[Role]:
        """Require (or stop requiring) MFA for every user of ``role``."""
        with self._store.transaction() as uow:
            before = uow.mfa_required_roles()
            uow.set_mfa_required(role, required)
            after = uow.mfa_required_roles()
            self.record(
                "policy.mfa",
                actor=actor,
                context=context,
                target=role.value,
                before={"required": sorted(r.value for r in before)},
                after={"required": sorted(r.value for r in after)},
                uow=uow,
            )
        return after

    # -- API keys ----------------------------------------------------------------------------

    def create_api_key(
        self,
        principal: Principal,
        *,
        name: str,
        scopes: Iterable[Scope],
        expires_in_days: int | None,
        context: AuditContext,
    ) -> CreatedApiKey:
        """Create an API key for the caller; the key is returned once."""
        wanted = frozenset(scopes)
        if not wanted:
            raise ValidationError(
                "API key not created", [Issue("scopes", "choose at least one scope", "scopes")]
            )
        if principal.via == "api_key":
            raise PermissionDenied("API keys cannot create API keys; sign in with a password")
        if Scope.ADMIN in wanted and principal.role is not Role.ADMIN:
            raise ValidationError(
                "API key not created",
                [Issue("scopes", "only administrators may create admin-scoped keys", "scopes")],
            )
        now = self._clock.now()
        key, prefix, key_hash = new_api_key()
        record = ApiKey(
            id=new_id("key"),
            user_id=principal.user_id,
            name=name.strip()[:100] or "api key",
            prefix=prefix,
            key_hash=key_hash,
            scopes=wanted,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        with self._store.transaction() as uow:
            uow.add_api_key(record)
            self.record(
                "apikey.create",
                actor=principal,
                context=context,
                target=record.id,
                after={"prefix": prefix, "scopes": sorted(wanted), "name": record.name},
                uow=uow,
            )
        return CreatedApiKey(key=key, record=record)

    def list_api_keys(self, principal: Principal, *, all_users: bool = False) -> list[ApiKey]:
        """Return the caller's keys (every key for an admin asking for all)."""
        with self._store.transaction() as uow:
            return uow.list_api_keys(
                None if all_users and principal.is_admin else principal.user_id
            )

    def revoke_api_key(self, principal: Principal, key_id: str, *, context: AuditContext) -> None:
        """Revoke a key the caller owns (admins: any key); others get :class:`NotFound`."""
        with self._store.transaction() as uow:
            record = uow.api_key_by_id(key_id)
            if record is None or not principal.owns(record.user_id):
                raise NotFound(f"no API key {key_id}")
            if record.revoked_at is None:
                uow.revoke_api_key(key_id, self._clock.now())
            self.record(
                "apikey.revoke",
                actor=principal,
                context=context,
                target=key_id,
                before={"prefix": record.prefix},
                uow=uow,
            )

    # -- stored third-party secrets ----------------------------------------------------------

    def put_secret(
        self, principal: Principal, name: str, value: str, *, context: AuditContext
    ) -> StoredSecret:
        """Store (or replace) a credential of the caller's, encrypted at rest."""
        if not _SECRET_NAME.match(name):
            raise ValidationError(
                "secret not stored",
                [
                    Issue(
                        "name",
                        "use 1-64 lower-case letters, digits, '.', '_' or '-'",
                        field="name",
                    )
                ],
            )
        if not value:
            raise ValidationError(
                "secret not stored", [Issue("value", "must not be empty", field="value")]
            )
        with self._store.transaction() as uow:
            existing = uow.get_secret(principal.user_id, name)
            secret = StoredSecret(
                id=existing.id if existing else new_id("sec"),
                user_id=principal.user_id,
                name=name,
                ciphertext=self._cipher.encrypt(value),
                updated_at=self._clock.now(),
            )
            uow.put_secret(secret)
            self.record("secret.put", actor=principal, context=context, target=name, uow=uow)
        return secret

    def list_secrets(self, principal: Principal) -> list[StoredSecret]:
        """Return the caller's stored credentials (names and dates; values stay encrypted)."""
        with self._store.transaction() as uow:
            return uow.list_secrets(principal.user_id)

    def reveal_secret(self, user_id: str, name: str) -> str:
        """Return a decrypted credential for a service acting on ``user_id``'s behalf."""
        with self._store.transaction() as uow:
            secret = uow.get_secret(user_id, name)
        if secret is None:
            raise NotFound(f"no stored secret named {name}")
        return self._cipher.decrypt(secret.ciphertext)

    def delete_secret(self, principal: Principal, name: str, *, context: AuditContext) -> None:
        """Delete one of the caller's credentials."""
        with self._store.transaction() as uow:
            if not uow.delete_secret(principal.user_id, name):
                raise NotFound(f"no stored secret named {name}")
            self.record("secret.delete", actor=principal, context=context, target=name, uow=uow)

    def rotate_secrets(self, *, context: AuditContext) -> int:
        """Re-encrypt every stored credential and MFA secret with the newest master key."""
        count = 0
        with self._store.transaction() as uow:
            for secret in uow.all_secrets():
                uow.put_secret(replace(secret, ciphertext=self._cipher.rotate(secret.ciphertext)))
                count += 1
            offset = 0
            while batch := uow.list_users(offset=offset, limit=500):
                for user in batch:
                    if user.mfa_secret is not None:
                        rotated = self._cipher.rotate(user.mfa_secret)
                        uow.update_user(replace(user, mfa_secret=rotated))
                        count += 1
                offset += len(batch)
            self.record(
                "secrets.rotate", actor=None, context=context, after={"count": count}, uow=uow
            )
        return count

    # -- internals ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.now()

    @staticmethod
    def _user(uow: AuthUnitOfWork, user_id: str) -> UserAccount:
        user = uow.user_by_id(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        return user

    def _principal(
        self,
        uow: AuthUnitOfWork,
        user: UserAccount,
        *,
        via: Literal["token", "api_key"],
        scopes: frozenset[Scope] | None = None,
        api_key_id: str | None = None,
    ) -> Principal:
        principal = Principal.of(user, via=via, scopes=scopes, api_key_id=api_key_id)
        if not user.mfa_enabled and user.role in uow.mfa_required_roles():
            # Until they enrol, users of a role that requires MFA can only manage their account.
            principal = replace(principal, permissions=frozenset({Permission.ACCOUNT}))
        return principal

    def _check_second_factor(self, uow: AuthUnitOfWork, user: UserAccount, code: str) -> bool:
        if user.mfa_secret is not None and mfa.verify_totp(
            self._cipher.decrypt(user.mfa_secret), code, at=self._clock.now()
        ):
            return True
        normalised = mfa.normalise_recovery_code(code)
        return uow.consume_recovery_code(user.id, digest(normalised), self._clock.now())

    def _issue_pair(self, uow: AuthUnitOfWork, user: UserAccount, *, family_id: str) -> TokenPair:
        access, claims = self.issuer.issue(user.id, user.role)
        refresh = new_secret(32)
        now = self._clock.now()
        expires = now + self._refresh_ttl
        uow.add_refresh_token(
            RefreshToken(
                id=new_id("rt"),
                user_id=user.id,
                family_id=family_id,
                token_hash=digest(refresh),
                issued_at=now,
                expires_at=expires,
            )
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int((claims.expires_at - claims.issued_at).total_seconds()),
            refresh_expires_at=expires,
        )


def _aware(moment: datetime) -> datetime:
    """Return ``moment`` as UTC-aware (SQLite hands back naive datetimes)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def scopes_from(values: Sequence[str]) -> frozenset[Scope]:
    """Parse scope names, naming the bad one."""
    try:
        return frozenset(Scope(v) for v in values)
    except ValueError as exc:
        raise ValidationError(
            "unknown scope",
            [Issue("scopes", f"{exc}; use read, trade or admin", field="scopes")],
        ) from exc
