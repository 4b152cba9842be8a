"""The auth service's store on SQLite or PostgreSQL (SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from quantdesk.auth.models import ApiKey, AuditContext, AuditEntry, RefreshToken, UserAccount
from quantdesk.auth.ports import AuditQuery, StoredSecret
from quantdesk.auth.rbac import Role, Scope
from quantdesk.core.errors import Conflict
from quantdesk.db.models import (
    ApiKeyRecord,
    AuditRecord,
    RecoveryCodeRecord,
    RefreshTokenRecord,
    RolePolicyRecord,
    UserRecord,
    UserSecretRecord,
)
from quantdesk.db.session import aware as _aware
from quantdesk.db.session import make_session_factory, transaction


def _must(moment: datetime | None) -> datetime:
    value = _aware(moment)
    assert value is not None
    return value


def _user(row: UserRecord) -> UserAccount:
    return UserAccount(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=Role(row.role),
        password_hash=row.password_hash,
        is_active=row.is_active,
        tier=row.tier,
        mfa_enabled=row.mfa_enabled,
        mfa_secret=row.mfa_secret,
        created_at=_aware(row.created_at),
        last_login_at=_aware(row.last_login_at),
    )


def _refresh(row: RefreshTokenRecord) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        user_id=row.user_id,
        family_id=row.family_id,
        token_hash=row.token_hash,
        issued_at=_must(row.issued_at),
        expires_at=_must(row.expires_at),
        used_at=_aware(row.used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _api_key(row: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        key_hash=row.key_hash,
        scopes=frozenset(Scope(s) for s in row.scopes.split(",") if s),
        created_at=_must(row.created_at),
        expires_at=_aware(row.expires_at),
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _audit(row: AuditRecord) -> AuditEntry:
    outcome: Literal["success", "failure"] = "failure" if row.outcome == "failure" else "success"
    return AuditEntry(
        id=row.id,
        action=row.action,
        outcome=outcome,
        at=_must(row.at),
        actor_id=row.actor_id,
        actor_email=row.actor_email,
        role=row.role,
        target=row.target,
        context=AuditContext(ip=row.ip, user_agent=row.user_agent, request_id=row.request_id),
        before=row.before,
        after=row.after,
    )


def _secret(row: UserSecretRecord) -> StoredSecret:
    return StoredSecret(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        ciphertext=row.ciphertext,
        updated_at=_must(row.updated_at),
    )


class SqlAuthUnitOfWork:
    """One transaction's worth of account reads and writes."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # users
    def user_by_id(self, user_id: str) -> UserAccount | None:
        row = self._s.get(UserRecord, user_id)
        return _user(row) if row else None

    def user_by_email(self, email: str) -> UserAccount | None:
        row = self._s.scalar(select(UserRecord).where(UserRecord.email == email))
        return _user(row) if row else None

    def list_users(self, *, offset: int, limit: int) -> list[UserAccount]:
        rows = self._s.scalars(
            select(UserRecord)
            .order_by(UserRecord.created_at, UserRecord.id)
            .offset(offset)
            .limit(limit)
        )
        return [_user(r) for r in rows]

    def count_users(self, *, role: Role | None = None, active_only: bool = True) -> int:
        query = select(func.count()).select_from(UserRecord)
        if role is not None:
            query = query.where(UserRecord.role == role.value)
        if active_only:
            query = query.where(UserRecord.is_active.is_(True))
        return int(self._s.scalar(query) or 0)

    def add_user(self, user: UserAccount) -> None:
        self._s.add(
            UserRecord(
                id=user.id,
                email=user.email,
                display_name=user.display_name,
                password_hash=user.password_hash,
                role=user.role.value,
                tier=user.tier,
                is_active=user.is_active,
                mfa_enabled=user.mfa_enabled,
                mfa_secret=user.mfa_secret,
                created_at=user.created_at,
                last_login_at=user.last_login_at,
            )
        )
        try:
            self._s.flush()
        except IntegrityError as exc:
            raise Conflict(f"a user with email {user.email} already exists") from exc

    def update_user(self, user: UserAccount) -> None:
        self._s.execute(
            update(UserRecord)
            .where(UserRecord.id == user.id)
            .values(
                display_name=user.display_name,
                password_hash=user.password_hash,
                role=user.role.value,
                tier=user.tier,
                is_active=user.is_active,
                mfa_enabled=user.mfa_enabled,
                mfa_secret=user.mfa_secret,
                last_login_at=user.last_login_at,
            )
        )

    # refresh tokens
    def add_refresh_token(self, token: RefreshToken) -> None:
        self._s.add(
            RefreshTokenRecord(
                id=token.id,
                user_id=token.user_id,
                family_id=token.family_id,
                token_hash=token.token_hash,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
            )
        )
        self._s.flush()

    def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        row = self._s.scalar(
            select(RefreshTokenRecord).where(RefreshTokenRecord.token_hash == token_hash)
        )
        return _refresh(row) if row else None

    def mark_refresh_token_used(self, token_id: str, at: datetime) -> None:
        self._s.execute(
            update(RefreshTokenRecord).where(RefreshTokenRecord.id == token_id).values(used_at=at)
        )

    def revoke_refresh_family(self, family_id: str, at: datetime) -> int:
        result = self._s.execute(
            update(RefreshTokenRecord)
            .where(
                RefreshTokenRecord.family_id == family_id, RefreshTokenRecord.revoked_at.is_(None)
            )
            .values(revoked_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def revoke_user_refresh_tokens(self, user_id: str, at: datetime) -> int:
        result = self._s.execute(
            update(RefreshTokenRecord)
            .where(RefreshTokenRecord.user_id == user_id, RefreshTokenRecord.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # API keys
    def add_api_key(self, key: ApiKey) -> None:
        self._s.add(
            ApiKeyRecord(
                id=key.id,
                user_id=key.user_id,
                name=key.name,
                prefix=key.prefix,
                key_hash=key.key_hash,
                scopes=",".join(sorted(key.scopes)),
                created_at=key.created_at,
                expires_at=key.expires_at,
            )
        )
        self._s.flush()

    def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        row = self._s.scalar(select(ApiKeyRecord).where(ApiKeyRecord.prefix == prefix))
        return _api_key(row) if row else None

    def api_key_by_id(self, key_id: str) -> ApiKey | None:
        row = self._s.get(ApiKeyRecord, key_id)
        return _api_key(row) if row else None

    def list_api_keys(self, user_id: str | None) -> list[ApiKey]:
        query = select(ApiKeyRecord).order_by(ApiKeyRecord.created_at, ApiKeyRecord.id)
        if user_id is not None:
            query = query.where(ApiKeyRecord.user_id == user_id)
        return [_api_key(r) for r in self._s.scalars(query)]

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        self._s.execute(update(ApiKeyRecord).where(ApiKeyRecord.id == key_id).values(revoked_at=at))

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        self._s.execute(
            update(ApiKeyRecord).where(ApiKeyRecord.id == key_id).values(last_used_at=at)
        )

    # MFA
    def set_recovery_codes(self, user_id: str, code_hashes: Sequence[str]) -> None:
        self._s.execute(delete(RecoveryCodeRecord).where(RecoveryCodeRecord.user_id == user_id))
        self._s.add_all(RecoveryCodeRecord(user_id=user_id, code_hash=h) for h in code_hashes)
        self._s.flush()

    def consume_recovery_code(self, user_id: str, code_hash: str, at: datetime) -> bool:
        result = self._s.execute(
            update(RecoveryCodeRecord)
            .where(
                RecoveryCodeRecord.user_id == user_id,
                RecoveryCodeRecord.code_hash == code_hash,
                RecoveryCodeRecord.used_at.is_(None),
            )
            .values(used_at=at)
        )
        return bool(getattr(result, "rowcount", 0))

    def unused_recovery_codes(self, user_id: str) -> int:
        return int(
            self._s.scalar(
                select(func.count())
                .select_from(RecoveryCodeRecord)
                .where(RecoveryCodeRecord.user_id == user_id, RecoveryCodeRecord.used_at.is_(None))
            )
            or 0
        )

    def mfa_required_roles(self) -> frozenset[Role]:
        rows = self._s.scalars(
            select(RolePolicyRecord.role).where(RolePolicyRecord.mfa_required.is_(True))
        )
        return frozenset(Role(r) for r in rows)

    def set_mfa_required(self, role: Role, required: bool) -> None:
        row = self._s.get(RolePolicyRecord, role.value)
        if row is None:
            self._s.add(RolePolicyRecord(role=role.value, mfa_required=required))
        else:
            row.mfa_required = required
        self._s.flush()

    # audit
    def append_audit(self, entry: AuditEntry) -> None:
        self._s.add(
            AuditRecord(
                at=entry.at,
                actor_id=entry.actor_id,
                actor_email=entry.actor_email,
                role=entry.role,
                ip=entry.context.ip,
                user_agent=(entry.context.user_agent or "")[:400] or None,
                request_id=entry.context.request_id,
                action=entry.action,
                outcome=entry.outcome,
                target=(entry.target or "")[:200] or None,
                before=entry.before,
                after=entry.after,
            )
        )
        self._s.flush()

    def list_audit(self, query: AuditQuery) -> list[AuditEntry]:
        statement = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(query.limit)
        filters = {
            AuditRecord.actor_id: query.actor_id,
            AuditRecord.action: query.action,
            AuditRecord.target: query.target,
            AuditRecord.outcome: query.outcome,
        }
        for column, value in filters.items():
            if value is not None:
                statement = statement.where(column == value)
        if query.since is not None:
            statement = statement.where(AuditRecord.at >= query.since)
        if query.until is not None:
            statement = statement.where(AuditRecord.at < query.until)
        if query.before_id is not None:
            statement = statement.where(AuditRecord.id < query.before_id)
        return [_audit(r) for r in self._s.scalars(statement)]

    # secrets
    def put_secret(self, secret: StoredSecret) -> None:
        row = self._s.get(UserSecretRecord, secret.id)
        if row is None:
            self._s.add(
                UserSecretRecord(
                    id=secret.id,
                    user_id=secret.user_id,
                    name=secret.name,
                    ciphertext=secret.ciphertext,
                    updated_at=secret.updated_at,
                )
            )
        else:
            row.ciphertext = secret.ciphertext
            row.updated_at = secret.updated_at
        self._s.flush()

    def get_secret(self, user_id: str, name: str) -> StoredSecret | None:
        row = self._s.scalar(
            select(UserSecretRecord).where(
                UserSecretRecord.user_id == user_id, UserSecretRecord.name == name
            )
        )
        return _secret(row) if row else None

    def list_secrets(self, user_id: str) -> list[StoredSecret]:
        rows = self._s.scalars(
            select(UserSecretRecord)
            .where(UserSecretRecord.user_id == user_id)
            .order_by(UserSecretRecord.name)
        )
        return [_secret(r) for r in rows]

    def delete_secret(self, user_id: str, name: str) -> bool:
        result = self._s.execute(
            delete(UserSecretRecord).where(
                UserSecretRecord.user_id == user_id, UserSecretRecord.name == name
            )
        )
        return bool(getattr(result, "rowcount", 0))

    def all_secrets(self) -> list[StoredSecret]:
        return [_secret(r) for r in self._s.scalars(select(UserSecretRecord))]


class SqlAuthStore:
    """The :class:`~quantdesk.auth.ports.AuthStore` on SQLAlchemy."""

    def __init__(self, engine: Engine, sessions: sessionmaker[Session] | None = None) -> None:
        self._sessions = sessions or make_session_factory(engine)

    @contextmanager
    def transaction(self) -> Iterator[SqlAuthUnitOfWork]:
        """Open a transaction; commit when the block ends, roll back when it raises."""
        with transaction(self._sessions, "account store") as session:
            yield SqlAuthUnitOfWork(session)
