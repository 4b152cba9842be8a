"""The quantdesk error tree.

Every error a caller is expected to handle derives from :class:`QuantdeskError`::

    QuantdeskError
    ├── ConfigError                 settings that cannot work (bad URL, missing secret)
    ├── ValidationError             input that breaks a rule; carries the field/row issues
    ├── NotFound                    an unknown symbol, resource or dataset
    ├── Conflict                    the request clashes with the current state (duplicate email)
    ├── Unauthenticated             missing, expired or invalid credentials
    ├── PermissionDenied            authenticated, but the role or scope does not allow it
    ├── Throttled                   too many requests; carries ``retry_after`` seconds
    ├── OrderRejected               an order the simulated account refuses; carries ``reason``
    └── DataError                   market data could not be read or written
        ├── StorageError            a store failed (connection, schema, constraint)
        └── ProviderError           an external data source failed
            └── RateLimited         the source asked us to slow down

Adapter errors say whether retrying can help (``retryable``). Broken invariants inside the
compute core (a NaN price, a negative quantity) raise plain ``ValueError`` instead: they are
programming errors, not conditions a caller handles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class QuantdeskError(Exception):
    """Base of every error quantdesk raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(QuantdeskError):
    """The configuration cannot work; the message names the setting to change."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found while validating input.

    ``location`` names where the problem is (a parameter, a field, ``row 12``); ``field`` the
    offending field when there is one; ``reason`` says what is wrong and what to do.
    """

    location: str
    reason: str
    field: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = self.location if self.field is None else f"{self.location}, field '{self.field}'"
        return f"{where}: {self.reason}"


class ValidationError(QuantdeskError):
    """Input broke one or more rules; ``issues`` lists every one of them."""

    def __init__(self, message: str, issues: Sequence[Issue] = ()) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        if self.issues:
            shown = "; ".join(str(issue) for issue in self.issues[:5])
            more = len(self.issues) - 5
            message = f"{message}: {shown}" + (f" (and {more} more)" if more > 0 else "")
        super().__init__(message)


class NotFound(QuantdeskError):
    """A named thing does not exist; ``suggestions`` lists close matches when known."""

    def __init__(self, message: str, suggestions: Sequence[str] = ()) -> None:
        self.suggestions: tuple[str, ...] = tuple(suggestions)
        if self.suggestions:
            message = f"{message}. Did you mean: {', '.join(self.suggestions)}?"
        super().__init__(message)


class Conflict(QuantdeskError):
    """The request clashes with the current state, e.g. an email that is already registered."""


class Unauthenticated(QuantdeskError):
    """Credentials are missing, expired or invalid. Messages stay generic on purpose."""


class PermissionDenied(QuantdeskError):
    """The caller is known but their role or API-key scope does not allow the action."""


class Throttled(QuantdeskError):
    """Too many requests or failed logins; retry after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DataError(QuantdeskError):
    """Market data could not be read, parsed or written."""


class StorageError(DataError):
    """A store failed to read or write."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ProviderError(DataError):
    """An external data source failed; ``retryable`` says whether trying again can help."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retryable: bool = False,
        status_code: int | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retryable = retryable
        self.status_code = status_code


class RateLimited(ProviderError):
    """The source refused the request because of its rate limit."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, retryable=True, status_code=status_code)
        self.retry_after = retry_after


class OrderRejected(QuantdeskError):
    """An order was refused (buying power, leverage, short selling); ``reason`` says why.

    ``code`` is a stable machine-readable tag (``insufficient_buying_power``,
    ``short_not_allowed``, ...); ``order_id`` names the order when known.
    """

    def __init__(self, reason: str, *, code: str = "rejected", order_id: str | None = None) -> None:
        super().__init__(reason if order_id is None else f"order {order_id}: {reason}")
        self.reason = reason
        self.code = code
        self.order_id = order_id
