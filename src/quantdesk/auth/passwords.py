"""Password hashing with Argon2id (argon2-cffi).

The defaults follow the OWASP recommendation for Argon2id (t=3, m=64 MiB, p=2 is well above its
minimum of t=2, m=19 MiB, p=1). Hashes carry their parameters, so raising them later only makes
:meth:`PasswordHasher.needs_rehash` true for old hashes, which are upgraded at the next login.
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from quantdesk.core.errors import Issue, ValidationError


class PasswordHasher:
    """Hash and verify passwords with Argon2id."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 64 * 1024, parallelism: int = 2):
        self._hasher = _Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # Verifying against this when a user does not exist costs the same time as a real
        # check, so response times do not reveal which emails are registered.
        self._dummy = self._hasher.hash("quantdesk-timing-equaliser")

    def hash(self, password: str) -> str:
        """Return the encoded Argon2id hash of ``password``."""
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """Return whether ``password`` matches ``encoded`` (``None`` burns the same time)."""
        try:
            return self._hasher.verify(encoded or self._dummy, password) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """Return whether ``encoded`` was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(encoded)


def check_password_policy(password: str, *, min_length: int, email: str | None = None) -> None:
    """Raise :class:`ValidationError` when ``password`` is too weak to accept."""
    issues: list[Issue] = []
    if len(password) < min_length:
        issues.append(
            Issue("password", f"must be at least {min_length} characters long", field="password")
        )
    if len(set(password)) < 4:
        issues.append(Issue("password", "uses too few distinct characters", field="password"))
    if email and password.strip().lower() == email.strip().lower():
        issues.append(Issue("password", "must not be the email address", field="password"))
    if issues:
        raise ValidationError("password rejected", issues)
