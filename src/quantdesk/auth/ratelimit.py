"""Request rate limits and sign-in throttling.

:class:`RateLimiter` counts requests per caller (``user:<id>``, or ``ip:<address>`` without
credentials) and per route group with the moving-window strategy of the ``limits`` library:
a request is allowed when fewer than ``limit`` requests of the same caller and group fall in
the last window, so there is no burst of twice the limit at a window boundary. Counts live in
memory, or in Redis when a ``redis://`` URL is given, which makes them cluster-wide. The limit
of a group is the caller's tier limit times the group factor, rounded down, at least 1.

:meth:`RateLimiter.headers` renders a decision as the fields of
draft-ietf-httpapi-ratelimit-headers-06: ``RateLimit-Limit``, ``RateLimit-Remaining``,
``RateLimit-Reset`` (delta-seconds until the oldest counted request leaves the window, so at
least one more request is allowed), ``RateLimit-Policy`` (``<limit>;w=<window seconds>``), and
``Retry-After`` (RFC 9110) on refusals.

:class:`LoginThrottle` slows down password guessing. It counts failed sign-ins per account
(the normalised email) and per client IP in a :class:`FailureStore` (in memory, or Redis for a
cluster). A counter forgets its failures ``lockout_seconds`` after the latest one. With ``n``
recent failures on either counter:

- ``n < delay_after``: no wait;
- ``delay_after <= n < lockout_after``: the next attempt must wait
  ``min(2 ** (n - delay_after), 60)`` seconds after the latest failure (1, 2, 4, 8, ... s);
- ``n >= lockout_after``: locked until ``lockout_seconds`` after the latest failure.

The throttle keeps its own timestamps (from an injectable clock) instead of relying on store
expiry, so tests move time without sleeping; Redis expiry only collects stale keys.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol, cast, runtime_checkable
from urllib.parse import urlsplit

import redis
import structlog
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.errors import StorageError as LimitsStorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from quantdesk.config.settings import RateLimitSettings, SecurityLimits
from quantdesk.core.errors import ConfigError, StorageError, Throttled

__all__ = [
    "MAX_LOGIN_DELAY_SECONDS",
    "FailureCount",
    "FailureStore",
    "LoginThrottle",
    "MemoryFailureStore",
    "RateLimitDecision",
    "RateLimiter",
    "RedisFailureStore",
    "failure_store_from_url",
]

log = structlog.get_logger("quantdesk.auth")

MAX_LOGIN_DELAY_SECONDS = 60
"""Cap of the progressive delay between failed sign-ins."""

_LIMIT_FORM = "use one limit such as '100/minute', '10 per second' or '1000/2 hours'"


# --------------------------------------------------------------------------- request limits


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    """The outcome of one rate-limit check.

    ``limit`` requests are allowed per ``window_seconds``; ``remaining`` are left after this
    one. ``reset_after`` is the number of seconds until the oldest counted request leaves the
    window; ``retry_after`` is set only when the request is refused. ``enforced`` is false when
    limiting is disabled (or its store failed open); such a decision always allows.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float | None
    window_seconds: int
    enforced: bool = True


def _parse_limit(value: str, setting: str) -> RateLimitItem:
    env = "QUANTDESK_" + setting.split(".")[0].upper() + "__" + setting.split(".")[1].upper()
    try:
        items = parse_many(value)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{setting} is not a valid rate limit ({value!r}); {_LIMIT_FORM} (set {env})"
        ) from None
    if len(items) != 1:
        raise ConfigError(f"{setting} holds several limits ({value!r}); {_LIMIT_FORM} (set {env})")
    if items[0].amount < 1:
        raise ConfigError(f"{setting} allows no request at all ({value!r}); {_LIMIT_FORM}")
    return items[0]


def _parse_factor(value: float, setting: str) -> Decimal:
    try:
        factor = Decimal(str(value))
    except (InvalidOperation, ValueError):
        factor = Decimal("NaN")
    if not factor.is_finite() or factor <= 0:
        raise ConfigError(
            f"{setting} must be a positive number (got {value!r}); a factor below 1 makes the "
            "group stricter, e.g. 0.2 (set QUANTDESK_RATE_LIMITS__GROUPS)"
        )
    return factor


class RateLimiter:
    """Limit requests per caller and route group.

    Parameters
    ----------
    storage_url:
        ``None`` or ``"memory://"`` for in-process counts, ``"redis://host:6379/0"`` to share
        them across API workers.
    anonymous:
        Limit of callers without credentials, in ``limits`` notation (``"60/minute"``).
    tiers:
        Limit of each user tier, e.g. ``{"free": "100/minute", "pro": "10000/minute"}``.
    default_tier:
        Tier used for a tier name missing from ``tiers``.
    groups:
        Factor of each route group (``{"auth": 0.2}``); a group missing from it uses the
        ``"default"`` factor, or 1.
    enabled:
        When false every check allows and touches no store.
    key_prefix:
        Namespace of the counters in the store.
    fail_open:
        When the store is unreachable, allow the request and log a warning (true) or raise
        :class:`~quantdesk.core.errors.StorageError` (false).

    Raises
    ------
    ConfigError
        When a limit string, a group factor, ``default_tier`` or the storage URL is invalid;
        the message names the setting (``rate_limits.tiers.pro``).
    """

    def __init__(
        self,
        storage_url: str | None,
        *,
        anonymous: str,
        tiers: Mapping[str, str],
        default_tier: str,
        groups: Mapping[str, float],
        enabled: bool = True,
        key_prefix: str = "quantdesk:ratelimit",
        fail_open: bool = True,
    ) -> None:
        self._anonymous = _parse_limit(anonymous, "rate_limits.anonymous")
        self._tiers = {
            name: _parse_limit(value, f"rate_limits.tiers.{name}") for name, value in tiers.items()
        }
        if default_tier not in self._tiers:
            known = ", ".join(sorted(self._tiers)) or "none"
            raise ConfigError(
                f"rate_limits.default_tier is {default_tier!r}, which is not one of "
                f"rate_limits.tiers ({known}); set QUANTDESK_RATE_LIMITS__DEFAULT_TIER to one "
                "of them"
            )
        self._default_tier = default_tier
        self._groups = {
            name: _parse_factor(value, f"rate_limits.groups.{name}")
            for name, value in groups.items()
        }
        self._default_factor = self._groups.get("default", Decimal(1))
        self._enabled = enabled
        self._prefix = key_prefix
        self._fail_open = fail_open
        self._scaled: dict[tuple[int, int, str, str], RateLimitItem] = {}
        self._strategy: MovingWindowRateLimiter | None = None
        if enabled:
            self._strategy = MovingWindowRateLimiter(_storage(storage_url or "memory://"))

    @classmethod
    def from_settings(
        cls, settings: RateLimitSettings, redis_url: str | None = None
    ) -> RateLimiter:
        """Return a limiter configured by the ``rate_limits`` section (Redis when given)."""
        return cls(
            redis_url,
            anonymous=settings.anonymous,
            tiers=settings.tiers,
            default_tier=settings.default_tier,
            groups=settings.groups,
            enabled=settings.enabled,
        )

    @property
    def enabled(self) -> bool:
        """Return whether requests are limited at all."""
        return self._enabled

    def limit_for(self, *, tier: str | None, group: str) -> RateLimitItem:
        """Return the limit that applies to ``tier`` (``None``: anonymous) in ``group``."""
        if tier is None:
            base = self._anonymous
        else:
            base = self._tiers.get(tier, self._tiers[self._default_tier])
        factor = self._groups.get(group, self._default_factor)
        cache_key = (base.amount, base.get_expiry(), type(base).__name__, group)
        item = self._scaled.get(cache_key)
        if item is None:
            # Decimal keeps 100 x 0.29 at 29, where binary floats give 28.999...
            amount = max(1, math.floor(Decimal(base.amount) * factor))
            item = type(base)(amount, base.multiples, namespace=self._prefix)
            self._scaled[cache_key] = item
        return item

    def check(self, identity: str, *, tier: str | None, group: str) -> RateLimitDecision:
        """Count one request of ``identity`` in ``group`` and say whether it may proceed.

        Parameters
        ----------
        identity:
            ``"user:<id>"`` for authenticated callers, ``"ip:<address>"`` otherwise.
        tier:
            The user's tier; ``None`` applies the anonymous limit, an unknown name the
            ``default_tier``.
        group:
            The route group (``"auth"``, ``"analysis"``, ``"default"``).

        Raises
        ------
        StorageError
            When the store is unreachable and ``fail_open`` is false.
        """
        item = self.limit_for(tier=tier, group=group)
        window = item.get_expiry()
        if self._strategy is None:
            return RateLimitDecision(True, item.amount, item.amount, 0.0, None, window, False)
        try:
            allowed = self._strategy.hit(item, identity, group)
            stats = self._strategy.get_window_stats(item, identity, group)
        except LimitsStorageError as exc:
            if not self._fail_open:
                raise StorageError(
                    f"the rate-limit store is unavailable ({type(exc.storage_error).__name__}); "
                    "check QUANTDESK_REDIS__URL and that Redis is running",
                    retryable=True,
                ) from exc
            log.warning("rate limit store unavailable; request allowed", error=str(exc))
            return RateLimitDecision(True, item.amount, item.amount, 0.0, None, window, False)
        reset_after = min(float(window), max(0.0, stats.reset_time - time.time()))
        return RateLimitDecision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, min(item.amount, stats.remaining)),
            reset_after=reset_after,
            retry_after=None if allowed else reset_after,
            window_seconds=window,
        )

    @staticmethod
    def headers(decision: RateLimitDecision) -> dict[str, str]:
        """Return the response header fields for ``decision`` (none when not enforced).

        The fields follow draft-ietf-httpapi-ratelimit-headers-06; seconds are rounded up so a
        client that waits that long is never refused for the same reason.
        """
        if not decision.enforced:
            return {}
        fields = {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": str(math.ceil(decision.reset_after)),
            "RateLimit-Policy": f"{decision.limit};w={decision.window_seconds}",
        }
        if not decision.allowed:
            wait = decision.retry_after if decision.retry_after is not None else 0.0
            fields["Retry-After"] = str(max(1, math.ceil(wait)))
        return fields


def _storage(url: str) -> Storage:
    scheme = urlsplit(url).scheme
    try:
        storage = storage_from_string(url, wrap_exceptions=True)
    except (ConfigurationError, ValueError) as exc:
        raise ConfigError(
            f"the rate-limit store URL (scheme {scheme!r}) cannot be used: {exc}; set "
            "QUANTDESK_REDIS__URL to redis://host:6379/0 or leave it unset for in-memory limits"
        ) from None
    if not isinstance(storage, Storage):
        raise ConfigError(
            f"the rate-limit store URL scheme {scheme!r} is asynchronous; use redis:// or memory://"
        )
    return storage


# --------------------------------------------------------------------------- sign-in throttle


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Failed sign-ins counted under one key, and when the latest happened (epoch seconds)."""

    count: int
    last_failure: float


@runtime_checkable
class FailureStore(Protocol):
    """Where :class:`LoginThrottle` keeps its counters."""

    def record(self, key: str, *, now: float, window_seconds: float) -> FailureCount:
        """Count one failure at ``now``; a counter idle for ``window_seconds`` restarts at 1."""
        ...

    def read(self, key: str) -> FailureCount | None:
        """Return the counter under ``key``, if any."""
        ...

    def clear(self, key: str) -> None:
        """Forget the counter under ``key``."""
        ...


class MemoryFailureStore:
    """Counters in this process (one API worker, tests).

    When more than ``max_entries`` keys are held, the stale ones are dropped, then the oldest.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._entries: dict[str, FailureCount] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def record(self, key: str, *, now: float, window_seconds: float) -> FailureCount:
        """Count one failure at ``now``; a counter idle for ``window_seconds`` restarts at 1."""
        with self._lock:
            current = self._entries.get(key)
            if current is None or now - current.last_failure >= window_seconds:
                updated = FailureCount(1, now)
            else:
                updated = FailureCount(current.count + 1, now)
            self._entries[key] = updated
            if len(self._entries) > self._max_entries:
                self._prune(now, window_seconds)
            return updated

    def read(self, key: str) -> FailureCount | None:
        """Return the counter under ``key``, if any."""
        with self._lock:
            return self._entries.get(key)

    def clear(self, key: str) -> None:
        """Forget the counter under ``key``."""
        with self._lock:
            self._entries.pop(key, None)

    def _prune(self, now: float, window_seconds: float) -> None:
        entries = self._entries
        for key in [k for k, v in entries.items() if now - v.last_failure >= window_seconds]:
            del entries[key]
        excess = len(entries) - self._max_entries
        if excess > 0:
            oldest = sorted(entries, key=lambda k: entries[k].last_failure)[:excess]
            for key in oldest:
                del entries[key]


_RECORD_SCRIPT = """
local last = redis.call('HGET', KEYS[1], 'last')
if last and tonumber(ARGV[1]) - tonumber(last) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return count
"""


class RedisFailureStore:
    """Counters in Redis, shared by every API worker.

    Each counter is a hash ``<key_prefix>:<key>`` with ``count`` and ``last``; one Lua script
    restarts and increments it atomically. Keys expire ``window_seconds`` after the latest
    failure (plus a second), which only collects garbage: staleness is decided from ``last``.
    """

    def __init__(self, client: redis.Redis, *, key_prefix: str = "quantdesk:login") -> None:
        self._client = client
        self._prefix = key_prefix
        self._record = client.register_script(_RECORD_SCRIPT)

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str = "quantdesk:login") -> RedisFailureStore:
        """Return a store on the Redis server at ``url`` (``redis://host:6379/0``)."""
        try:
            client = redis.Redis.from_url(url)
        except ValueError as exc:
            raise ConfigError(
                f"the Redis URL cannot be used ({exc}); set QUANTDESK_REDIS__URL to "
                "redis://host:6379/0"
            ) from None
        return cls(client, key_prefix=key_prefix)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    def _unavailable(self, exc: Exception) -> StorageError:
        return StorageError(
            f"the sign-in throttle store (Redis) is unavailable ({type(exc).__name__}); "
            "check QUANTDESK_REDIS__URL and that Redis is running",
            retryable=True,
        )

    def record(self, key: str, *, now: float, window_seconds: float) -> FailureCount:
        """Count one failure at ``now``; a counter idle for ``window_seconds`` restarts at 1."""
        ttl = math.ceil(window_seconds) + 1
        try:
            count = self._record(keys=[self._key(key)], args=[repr(now), window_seconds, ttl])
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return FailureCount(int(cast(int, count)), now)

    def read(self, key: str) -> FailureCount | None:
        """Return the counter under ``key``, if any."""
        try:
            values = cast(
                "list[bytes | None]", self._client.hmget(self._key(key), ["count", "last"])
            )
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        count, last = values
        if count is None or last is None:
            return None
        return FailureCount(int(count), float(last))

    def clear(self, key: str) -> None:
        """Forget the counter under ``key``."""
        try:
            self._client.delete(self._key(key))
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc


def failure_store_from_url(url: str | None, *, key_prefix: str = "quantdesk:login") -> FailureStore:
    """Return a Redis store for a ``redis://``/``rediss://`` URL, a memory store for ``None``."""
    if url is None or url.startswith("memory://"):
        return MemoryFailureStore()
    return RedisFailureStore.from_url(url, key_prefix=key_prefix)


def _digest(kind: str, value: str) -> str:
    # Keys carry a digest, so the store never holds email addresses in clear.
    return f"{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:32]}"


class LoginThrottle:
    """Progressive delay and lockout after failed sign-ins, per account and per IP.

    Call :meth:`check` before verifying a password, :meth:`record_failure` after a wrong one
    (also for unknown emails, so both look alike) and :meth:`record_success` after a right one.
    A success clears the account counter but not the IP counter, so signing in to one's own
    account does not buy more guesses at others.

    Parameters
    ----------
    store:
        Where counters live (:class:`MemoryFailureStore`, :class:`RedisFailureStore`).
    delay_after:
        Failures after which each attempt waits (1 s, doubling per failure, at most 60 s).
    lockout_after:
        Failures after which the account or IP is locked for ``lockout_seconds``.
    lockout_seconds:
        Lockout length, and how long after the latest failure a counter is forgotten.
    ip_factor:
        The IP counter's thresholds are the account thresholds times this, so a shared office
        address is not locked out by a few colleagues' typos while an attacker spraying many
        accounts from one address still is.
    clock:
        Returns the current time in epoch seconds.
    """

    def __init__(
        self,
        store: FailureStore,
        *,
        delay_after: int,
        lockout_after: int,
        lockout_seconds: int,
        ip_factor: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for setting, value in (
            ("security.login_delay_after", delay_after),
            ("security.login_lockout_after", lockout_after),
            ("lockout_seconds (security.login_lockout_minutes)", lockout_seconds),
            ("security.login_ip_factor", ip_factor),
        ):
            if value < 1:
                raise ConfigError(f"{setting} must be at least 1 (got {value})")
        self._store = store
        self._delay_after = delay_after
        self._lockout_after = lockout_after
        self._lockout_seconds = float(lockout_seconds)
        self._ip_factor = ip_factor
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: SecurityLimits,
        store: FailureStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> LoginThrottle:
        """Return a throttle configured by the ``security`` section."""
        return cls(
            store,
            delay_after=settings.login_delay_after,
            lockout_after=settings.login_lockout_after,
            lockout_seconds=settings.login_lockout_minutes * 60,
            ip_factor=settings.login_ip_factor,
            clock=clock,
        )

    def delay_for(self, failures: int, *, scale: int = 1) -> float:
        """Return the wait imposed after ``failures`` recent failures (before any lockout);
        ``scale`` multiplies the thresholds (the IP counter uses ``ip_factor``)."""
        if failures >= self._lockout_after * scale:
            return self._lockout_seconds
        if failures < self._delay_after * scale:
            return 0.0
        exponent = min(failures - self._delay_after * scale, 16)
        return float(min(2**exponent, MAX_LOGIN_DELAY_SECONDS))

    def retry_after(self, email: str, ip: str | None) -> float:
        """Return how many seconds the next attempt must wait (0 when it may proceed now)."""
        now = self._clock()
        keys = self._keys(email, ip)
        scales = [1, self._ip_factor][: len(keys)]
        return max(
            (self._wait(key, now, scale) for key, scale in zip(keys, scales, strict=True)),
            default=0.0,
        )

    def check(self, email: str, ip: str | None) -> None:
        """Raise :class:`~quantdesk.core.errors.Throttled` while the account or IP must wait.

        The message is the same whether or not the account exists.
        """
        wait = self.retry_after(email, ip)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            unit = "second" if seconds == 1 else "seconds"
            raise Throttled(
                f"Too many failed sign-in attempts; try again in {seconds} {unit}.",
                retry_after=float(seconds),
            )

    def record_failure(self, email: str, ip: str | None) -> None:
        """Count a failed sign-in against the account and the IP."""
        now = self._clock()
        for key in self._keys(email, ip):
            self._store.record(key, now=now, window_seconds=self._lockout_seconds)

    def record_success(self, email: str, ip: str | None) -> None:
        """Clear the account counter after a successful sign-in."""
        self._store.clear(self._keys(email, None)[0])

    def _keys(self, email: str, ip: str | None) -> list[str]:
        keys = [_digest("account", email.strip().casefold())]
        if ip:
            keys.append(_digest("ip", ip.strip().lower()))
        return keys

    def _wait(self, key: str, now: float, scale: int = 1) -> float:
        record = self._store.read(key)
        if record is None:
            return 0.0
        elapsed = now - record.last_failure
        if elapsed >= self._lockout_seconds:
            return 0.0
        return max(0.0, self.delay_for(record.count, scale=scale) - elapsed)
