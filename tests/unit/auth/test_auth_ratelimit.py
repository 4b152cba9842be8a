"""RateLimiter and LoginThrottle on the in-memory stores.

Limits are hand-worked from the limit strings; no test depends on how fast it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quantdesk.auth.ratelimit import (
    LoginThrottle,
    MemoryFailureStore,
    RateLimitDecision,
    RateLimiter,
)
from quantdesk.config.settings import RateLimitSettings, SecurityLimits
from quantdesk.core.clock import SimClock
from quantdesk.core.errors import ConfigError, StorageError, Throttled

TIERS = {"free": "100/minute", "pro": "10000/minute"}
GROUPS = {"auth": 0.2, "analysis": 0.5, "odd": 0.29, "tiny": 0.001, "default": 1.0}


def limiter(**overrides: object) -> RateLimiter:
    options: dict[str, object] = {
        "anonymous": "5/minute",
        "tiers": TIERS,
        "default_tier": "free",
        "groups": GROUPS,
    }
    options.update(overrides)
    return RateLimiter(None, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- RateLimiter


def test_limit_is_exhausted_at_exactly_n() -> None:
    rl = limiter()
    decisions = [rl.check("ip:198.51.100.1", tier=None, group="default") for _ in range(6)]
    # 5/minute: five requests pass with 4, 3, 2, 1, 0 left; the sixth is refused.
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert {d.limit for d in decisions} == {5}
    refused = decisions[-1]
    assert refused.retry_after is not None
    assert 0 < refused.retry_after <= 60
    assert all(d.retry_after is None for d in decisions[:5])


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("default", 100),  # 100 x 1.0
        ("analysis", 50),  # 100 x 0.5
        ("auth", 20),  # 100 x 0.2
        ("odd", 29),  # 100 x 0.29 = 29 exactly (binary floats would give 28.999...)
        ("tiny", 1),  # 100 x 0.001 = 0.1, floored to 0, raised to the minimum of 1
        ("not-configured", 100),  # falls back to the "default" factor 1.0
    ],
)
def test_group_factor_scales_the_tier_limit(group: str, expected: int) -> None:
    decision = limiter().check("user:7", tier="free", group=group)
    assert decision.limit == expected
    assert decision.remaining == expected - 1


def test_groups_are_counted_separately_and_scaled() -> None:
    rl = limiter()
    auth = [rl.check("user:7", tier="free", group="auth") for _ in range(21)]
    # auth allows 100 x 0.2 = 20 per minute: the 21st is refused ...
    assert sum(d.allowed for d in auth) == 20
    assert not auth[-1].allowed
    # ... while the same user's other groups keep their own, larger budgets.
    other = rl.check("user:7", tier="free", group="analysis")
    assert other.allowed
    assert (other.limit, other.remaining) == (50, 49)


def test_identities_are_isolated() -> None:
    rl = limiter()
    for _ in range(5):
        assert rl.check("ip:198.51.100.1", tier=None, group="default").allowed
    assert not rl.check("ip:198.51.100.1", tier=None, group="default").allowed
    other_ip = rl.check("ip:198.51.100.2", tier=None, group="default")
    user = rl.check("user:198.51.100.1", tier=None, group="default")
    assert (other_ip.allowed, other_ip.remaining) == (True, 4)
    assert (user.allowed, user.remaining) == (True, 4)


def test_tier_lookup() -> None:
    rl = limiter()
    assert rl.check("user:1", tier="pro", group="default").limit == 10_000
    assert rl.check("user:2", tier="free", group="default").limit == 100
    assert rl.check("ip:203.0.113.9", tier=None, group="default").limit == 5
    assert rl.check("user:3", tier="pro", group="auth").limit == 2_000  # 10000 x 0.2


def test_unknown_tier_falls_back_to_default_tier() -> None:
    rl = limiter(default_tier="pro")
    assert rl.check("user:1", tier="enterprise", group="default").limit == 10_000
    assert rl.limit_for(tier="gold", group="analysis").amount == 5_000  # 10000 x 0.5


def test_disabled_limiter_always_allows() -> None:
    rl = limiter(anonymous="1/minute", enabled=False)
    decisions = [rl.check("ip:198.51.100.1", tier=None, group="auth") for _ in range(50)]
    assert all(d.allowed and not d.enforced for d in decisions)
    assert rl.headers(decisions[-1]) == {}
    assert not rl.enabled


def test_headers_of_allowed_and_refused_requests() -> None:
    rl = limiter(anonymous="3/minute")
    _, second, _, fourth = (rl.check("ip:192.0.2.1", tier=None, group="default") for _ in range(4))
    headers = rl.headers(second)
    assert headers["RateLimit-Limit"] == "3"
    assert headers["RateLimit-Remaining"] == "1"
    assert 1 <= int(headers["RateLimit-Reset"]) <= 60
    assert headers["RateLimit-Policy"] == "3;w=60"
    assert "Retry-After" not in headers
    refused = rl.headers(fourth)
    assert refused["RateLimit-Remaining"] == "0"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Retry-After"] == refused["RateLimit-Reset"]


def test_header_values_round_seconds_up() -> None:
    # A refusal 12.2 s before a slot frees up: clients are told 13 s (ceil), never 12.
    decision = RateLimitDecision(
        allowed=False,
        limit=10,
        remaining=0,
        reset_after=12.2,
        retry_after=12.2,
        window_seconds=3600,
    )
    assert RateLimiter.headers(decision) == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "13",
        "RateLimit-Policy": "10;w=3600",
        "Retry-After": "13",
    }
    # Allowed, nothing counted yet: the window has not started.
    fresh = RateLimitDecision(True, 10, 9, 0.0, None, 60)
    assert RateLimiter.headers(fresh)["RateLimit-Reset"] == "0"


def test_window_multiples_are_kept() -> None:
    rl = limiter(tiers={"free": "10/2 hours"})
    decision = rl.check("user:1", tier="free", group="analysis")
    assert (decision.limit, decision.window_seconds) == (5, 7200)


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"tiers": {"free": "100/minute", "pro": "lots"}}, "rate_limits.tiers.pro"),
        ({"tiers": {"free": "100/fortnight"}}, "rate_limits.tiers.free"),
        ({"tiers": {"free": "1/second;100/minute"}}, "rate_limits.tiers.free"),
        ({"tiers": {"free": "0/minute"}}, "rate_limits.tiers.free"),
        ({"anonymous": "sixty a minute"}, "rate_limits.anonymous"),
        ({"default_tier": "gold"}, "rate_limits.default_tier"),
        ({"groups": {"auth": 0}}, "rate_limits.groups.auth"),
        ({"groups": {"auth": -0.5}}, "rate_limits.groups.auth"),
        ({"groups": {"auth": float("nan")}}, "rate_limits.groups.auth"),
    ],
)
def test_invalid_settings_name_the_setting(overrides: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigError, match=setting.replace(".", r"\.")):
        limiter(**overrides)


def test_invalid_limits_are_rejected_even_when_disabled() -> None:
    with pytest.raises(ConfigError, match=r"rate_limits\.tiers\.pro"):
        limiter(tiers={"free": "1/minute", "pro": "fast"}, enabled=False)


def test_unknown_storage_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="QUANTDESK_REDIS__URL"):
        RateLimiter(
            "carrier-pigeon://loft", anonymous="1/minute", tiers=TIERS, default_tier="free",
            groups={},
        )  # fmt: skip


def test_from_settings_uses_the_documented_defaults() -> None:
    rl = RateLimiter.from_settings(RateLimitSettings())
    # Defaults: anonymous 60/minute, free 100/minute, auth factor 0.2.
    assert rl.check("ip:192.0.2.1", tier=None, group="default").limit == 60
    assert rl.check("user:1", tier="free", group="auth").limit == 20
    assert rl.check("user:1", tier=None, group="auth").limit == 12  # 60 x 0.2


def test_unreachable_store_fails_open_or_raises() -> None:
    # Nothing listens on port 1 of the loopback interface: the connection is refused at once.
    url = "redis://127.0.0.1:1/0"
    lenient = RateLimiter(url, anonymous="1/minute", tiers=TIERS, default_tier="free", groups={})
    decision = lenient.check("ip:192.0.2.1", tier=None, group="default")
    assert (decision.allowed, decision.enforced) == (True, False)
    strict = RateLimiter(
        url, anonymous="1/minute", tiers=TIERS, default_tier="free", groups={}, fail_open=False
    )
    with pytest.raises(StorageError, match="rate-limit store is unavailable") as caught:
        strict.check("ip:192.0.2.1", tier=None, group="default")
    assert caught.value.retryable


# ---------------------------------------------------------------------------- LoginThrottle

START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


def throttle(clock: SimClock, **overrides: int) -> LoginThrottle:
    options = {"delay_after": 3, "lockout_after": 6, "lockout_seconds": 900}
    options.update(overrides)
    return LoginThrottle(MemoryFailureStore(), clock=lambda: clock.now().timestamp(), **options)


def waits(clock: SimClock, guard: LoginThrottle, email: str, ip: str) -> float:
    try:
        guard.check(email, ip)
    except Throttled as exc:
        return exc.retry_after
    return 0.0


def test_progressive_delay_then_lockout() -> None:
    clock = SimClock(START)
    guard = throttle(clock)
    email, ip = "alice@example.com", "203.0.113.5"
    # delay_after=3, lockout_after=6, lockout 900 s. After n failures the next attempt waits:
    # n=1,2: 0 s; n=3: 2**0 = 1 s; n=4: 2 s; n=5: 4 s; n=6: locked for 900 s.
    expected = {1: 0.0, 2: 0.0, 3: 1.0, 4: 2.0, 5: 4.0, 6: 900.0}
    for failures in range(1, 7):
        guard.record_failure(email, ip)
        assert waits(clock, guard, email, ip) == expected[failures], failures
        assert guard.retry_after(email, ip) == expected[failures]
        clock.advance(timedelta(seconds=expected[failures]))
        if failures < 6:
            guard.check(email, ip)  # the delay has elapsed exactly
    # The lockout ran its 900 s (advanced above) and the counters are forgotten.
    guard.check(email, ip)
    guard.record_failure(email, ip)
    guard.check(email, ip)  # one fresh failure: no delay


def test_delay_counts_from_the_latest_failure_and_rounds_up() -> None:
    clock = SimClock(START)
    guard = throttle(clock)
    for _ in range(4):
        guard.record_failure("bob@example.com", "198.51.100.4")
    clock.advance(timedelta(seconds=0.5))
    # 4 failures: 2 s delay, 0.5 s gone, 1.5 s left, reported as 2 whole seconds.
    with pytest.raises(Throttled) as caught:
        guard.check("bob@example.com", "198.51.100.4")
    assert caught.value.retry_after == 2.0
    assert caught.value.message == "Too many failed sign-in attempts; try again in 2 seconds."


def test_delay_is_capped_at_sixty_seconds() -> None:
    clock = SimClock(START)
    guard = throttle(clock, delay_after=1, lockout_after=50)
    # After n failures the delay is min(2**(n-1), 60): 1, 2, 4, 8, 16, 32, 60, 60.
    assert [guard.delay_for(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert guard.delay_for(49) == 60
    assert guard.delay_for(50) == 900


def test_lockout_message_is_generic() -> None:
    clock = SimClock(START)
    guard = throttle(clock)
    for _ in range(6):
        guard.record_failure("carol@example.com", "192.0.2.10")
    clock.advance(timedelta(seconds=100))
    with pytest.raises(Throttled) as caught:
        guard.check("carol@example.com", "192.0.2.10")
    # 900 s lockout, 100 s gone.
    assert caught.value.retry_after == 800.0
    assert str(caught.value) == "Too many failed sign-in attempts; try again in 800 seconds."
    assert "carol" not in str(caught.value)


def test_success_clears_the_account_but_not_the_ip() -> None:
    clock = SimClock(START)
    guard = throttle(clock, ip_factor=1)
    for _ in range(3):
        guard.record_failure("dave@example.com", "192.0.2.20")
    guard.record_success("dave@example.com", "192.0.2.20")
    guard.check("dave@example.com", "198.51.100.99")  # account counter cleared
    with pytest.raises(Throttled):
        guard.check("dave@example.com", "192.0.2.20")  # the IP still has 3 failures


def test_ip_counts_failures_across_accounts() -> None:
    clock = SimClock(START)
    guard = throttle(clock, ip_factor=1)
    for name in ("a", "b", "c"):
        guard.record_failure(f"{name}@example.com", "203.0.113.66")
    # Three different accounts failed once each from one IP: the IP has 3 failures.
    with pytest.raises(Throttled) as caught:
        guard.check("new@example.com", "203.0.113.66")
    assert caught.value.retry_after == 1.0
    guard.check("new@example.com", "203.0.113.67")
    guard.check("a@example.com", "203.0.113.67")  # each account has only one failure


def test_ip_thresholds_scale_by_ip_factor() -> None:
    clock = SimClock(START)
    guard = throttle(clock, ip_factor=2)  # IP: delay after 6 failures, lockout after 12
    ip = "203.0.113.70"
    for index in range(5):
        guard.record_failure(f"user{index}@example.com", ip)
    assert waits(clock, guard, "new@example.com", ip) == 0.0
    guard.record_failure("user5@example.com", ip)
    # 6 failures = 2 x delay_after: the first step of the delay, 2**0 = 1 s.
    assert waits(clock, guard, "new@example.com", ip) == 1.0
    for index in range(6, 12):
        guard.record_failure(f"user{index}@example.com", ip)
    assert waits(clock, guard, "new@example.com", ip) == 900.0


def test_emails_are_normalised() -> None:
    clock = SimClock(START)
    guard = throttle(clock)
    for variant in (" Eve@Example.COM", "eve@example.com ", "EVE@EXAMPLE.COM"):
        guard.record_failure(variant, f"192.0.2.{len(variant)}")
    with pytest.raises(Throttled):
        guard.check("eve@example.com", None)


def test_counters_are_forgotten_after_the_window() -> None:
    clock = SimClock(START)
    guard = throttle(clock)
    guard.record_failure("frank@example.com", "192.0.2.30")
    guard.record_failure("frank@example.com", "192.0.2.30")
    clock.advance(timedelta(seconds=900))
    guard.record_failure("frank@example.com", "192.0.2.30")
    # The first two are older than 900 s when the third arrives: the count restarts at 1.
    guard.check("frank@example.com", "192.0.2.30")


def test_from_settings_converts_minutes() -> None:
    clock = SimClock(START)
    limits = SecurityLimits(login_delay_after=1, login_lockout_after=2, login_lockout_minutes=2)
    guard = LoginThrottle.from_settings(
        limits, MemoryFailureStore(), clock=lambda: clock.now().timestamp()
    )
    guard.record_failure("gina@example.com", None)
    guard.record_failure("gina@example.com", None)
    assert guard.retry_after("gina@example.com", None) == 120.0


def test_bad_throttle_settings() -> None:
    with pytest.raises(ConfigError, match=r"security\.login_delay_after"):
        LoginThrottle(MemoryFailureStore(), delay_after=0, lockout_after=3, lockout_seconds=60)


def test_memory_store_is_bounded() -> None:
    store = MemoryFailureStore(max_entries=3)
    for index in range(5):
        store.record(f"k{index}", now=float(index), window_seconds=100.0)
    # Nothing is stale yet, so the oldest are dropped: k2, k3, k4 remain.
    assert [store.read(f"k{i}") is not None for i in range(5)] == [False, False, True, True, True]
