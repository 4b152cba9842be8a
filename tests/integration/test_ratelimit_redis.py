"""Rate limits and the sign-in throttle on a real Redis server (and the memory store alike).

Every key written here carries a prefix unique to the test run and is deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from quantdesk.auth.ratelimit import (
    FailureStore,
    LoginThrottle,
    MemoryFailureStore,
    RateLimiter,
    RedisFailureStore,
    failure_store_from_url,
)
from quantdesk.core.clock import SimClock
from quantdesk.core.errors import Throttled

RUN_PREFIX = f"qd-test-{uuid.uuid4().hex[:10]}"
START = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """Return a client; delete every key of this run afterwards."""
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        # limits stores its counters under "LIMITS:<namespace>/..."; the throttle under its own.
        for pattern in (f"LIMITS:{RUN_PREFIX}*", f"{RUN_PREFIX}*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)
        client.close()


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """Return a key prefix unique to this run and test."""
    return f"{RUN_PREFIX}:{request.node.name}"


def redis_limiter(redis_url: str, prefix: str, **overrides: object) -> RateLimiter:
    options: dict[str, object] = {
        "anonymous": "5/minute",
        "tiers": {"free": "100/minute", "pro": "10000/minute"},
        "default_tier": "free",
        "groups": {"auth": 0.2, "default": 1.0},
        "key_prefix": prefix,
        "fail_open": False,
    }
    options.update(overrides)
    return RateLimiter(redis_url, **options)  # type: ignore[arg-type]


@pytest.mark.redis
def test_redis_limit_is_exhausted_at_exactly_n(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    rl = redis_limiter(redis_url, prefix)
    decisions = [rl.check("ip:198.51.100.1", tier=None, group="default") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    headers = rl.headers(decisions[-1])
    assert headers["RateLimit-Limit"] == "5"
    assert headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["Retry-After"]) <= 60
    # The counters live in Redis under this run's prefix.
    assert list(redis_client.scan_iter(match=f"LIMITS:{prefix}*"))


@pytest.mark.redis
def test_redis_counts_are_shared_between_limiters(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    # Two API workers = two limiter objects on one Redis: one budget of 20 (100 x 0.2).
    first, second = redis_limiter(redis_url, prefix), redis_limiter(redis_url, prefix)
    results = [
        (first if index % 2 else second).check("user:42", tier="free", group="auth").allowed
        for index in range(21)
    ]
    assert results == [True] * 20 + [False]
    # Other identities and groups keep their own budgets.
    assert first.check("user:43", tier="free", group="auth").remaining == 19
    assert second.check("user:42", tier="free", group="default").remaining == 99
    assert second.check("user:42", tier="nonexistent", group="default").limit == 100


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store_factory(request: pytest.FixtureRequest, prefix: str) -> Callable[[], FailureStore]:
    """Return a factory of failure stores sharing one backend (Redis: one key prefix)."""
    if request.param == "memory":
        shared = MemoryFailureStore()
        return lambda: shared
    url: str = request.getfixturevalue("redis_url")
    request.getfixturevalue("redis_client")  # cleans the keys up afterwards
    return lambda: failure_store_from_url(url, key_prefix=prefix)


def make_throttle(factory: Callable[[], FailureStore], clock: SimClock) -> LoginThrottle:
    return LoginThrottle(
        factory(),
        delay_after=2,
        lockout_after=4,
        lockout_seconds=600,
        ip_factor=1,
        clock=lambda: clock.now().timestamp(),
    )


def wait_of(guard: LoginThrottle, email: str, ip: str | None) -> float:
    try:
        guard.check(email, ip)
    except Throttled as exc:
        return exc.retry_after
    return 0.0


def test_store_contract(store_factory: Callable[[], FailureStore]) -> None:
    store = store_factory()
    assert store.read("k") is None
    assert store.record("k", now=1000.0, window_seconds=60.0).count == 1
    assert store.record("k", now=1010.5, window_seconds=60.0).count == 2
    assert store.read("k") == store_factory().read("k")
    record = store.read("k")
    assert record is not None
    assert (record.count, record.last_failure) == (2, 1010.5)
    # 60 s after the latest failure the counter restarts.
    assert store.record("k", now=1070.5, window_seconds=60.0).count == 1
    store.clear("k")
    assert store.read("k") is None


def test_throttle_progressive_delay_and_lockout(
    store_factory: Callable[[], FailureStore],
) -> None:
    clock = SimClock(START)
    guard = make_throttle(store_factory, clock)
    email, ip = "trader@example.com", "203.0.113.40"
    # delay_after=2, lockout_after=4, lockout 600 s. Waits after n failures:
    # n=1: 0; n=2: 2**0 = 1 s; n=3: 2**1 = 2 s; n=4: locked 600 s.
    observed = []
    for _ in range(4):
        guard.record_failure(email, ip)
        observed.append(wait_of(guard, email, ip))
        clock.advance(timedelta(seconds=observed[-1]))
    assert observed == [0.0, 1.0, 2.0, 600.0]
    guard.check(email, ip)  # the lockout has run out


def test_throttle_is_shared_and_resets_on_success(
    store_factory: Callable[[], FailureStore],
) -> None:
    clock = SimClock(START)
    # Two throttles over the same backend behave like two API workers.
    first, second = make_throttle(store_factory, clock), make_throttle(store_factory, clock)
    first.record_failure("advisor@example.com", "192.0.2.7")
    second.record_failure("advisor@example.com", "192.0.2.8")
    # Two failures on the account (from two IPs): 1 s delay, seen by both workers.
    assert wait_of(first, "advisor@example.com", "198.51.100.1") == 1.0
    assert wait_of(second, "advisor@example.com", "198.51.100.1") == 1.0
    second.record_success("advisor@example.com", "192.0.2.8")
    assert wait_of(first, "advisor@example.com", "198.51.100.1") == 0.0


def test_throttle_counts_per_ip_across_accounts(
    store_factory: Callable[[], FailureStore],
) -> None:
    clock = SimClock(START)
    guard = make_throttle(store_factory, clock)
    for name in ("ann", "ben", "cat", "dan"):
        guard.record_failure(f"{name}@example.com", "203.0.113.99")
    # Four accounts, one failure each, all from one IP: the IP is locked for 600 s.
    assert wait_of(guard, "eve@example.com", "203.0.113.99") == 600.0
    assert wait_of(guard, "eve@example.com", "203.0.113.98") == 0.0
    assert wait_of(guard, "ann@example.com", None) == 0.0


@pytest.mark.redis
def test_redis_store_keeps_no_email_in_clear(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    store = RedisFailureStore.from_url(redis_url, key_prefix=prefix)
    guard = LoginThrottle(store, delay_after=1, lockout_after=3, lockout_seconds=60)
    guard.record_failure("private.person@example.com", "192.0.2.55")
    keys = [key.decode() for key in redis_client.scan_iter(match=f"{prefix}*")]
    assert len(keys) == 2
    assert not any("private" in key or "192.0.2.55" in key for key in keys)
    assert all(0 < redis_client.ttl(key) <= 61 for key in keys)
