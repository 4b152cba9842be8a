"""Every account flow through the HTTP API, on a fresh store per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from auth_helpers import PASSWORD, api_settings
from fastapi.testclient import TestClient
from sqlalchemy import text

from quantdesk.api import create_app
from quantdesk.api.main import api_routes
from quantdesk.auth.models import AuditContext
from quantdesk.auth.rbac import Role
from quantdesk.runtime import Runtime, build_runtime

TOKEN = "/api/v1/auth/token"


class Fresh:
    """A new runtime and client; ``login``/``create`` are shortcuts."""

    def __init__(self, runtime: Runtime, client: TestClient) -> None:
        self.runtime = runtime
        self.client = client

    def create(self, email: str, role: Role = Role.ANALYST) -> str:
        user = self.runtime.auth.create_user(
            email=email, password=PASSWORD, role=role, actor=None, context=AuditContext()
        )
        return user.id

    def login(self, email: str, password: str = PASSWORD, **extra: str) -> Any:
        return self.client.post(TOKEN, data={"username": email, "password": password, **extra})

    def bearer(self, email: str, **extra: str) -> dict[str, str]:
        response = self.login(email, **extra)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def make_fresh(tmp_path: Path) -> Iterator[Callable[..., Fresh]]:
    made: list[tuple[Runtime, TestClient]] = []

    def factory(**overrides: Any) -> Fresh:
        runtime = build_runtime(api_settings(tmp_path / f"home{len(made)}", **overrides))
        client = TestClient(create_app(runtime=runtime))
        client.__enter__()
        made.append((runtime, client))
        return Fresh(runtime, client)

    yield factory
    for runtime, client in made:
        client.__exit__(None, None, None)
        runtime.close()


@pytest.fixture
def fresh(make_fresh: Callable[..., Fresh]) -> Fresh:
    return make_fresh()


def audit_actions(fresh: Fresh, admin: dict[str, str], **filters: str) -> list[tuple[str, str]]:
    response = fresh.client.get("/api/v1/audit", headers=admin, params=filters)
    assert response.status_code == 200, response.text
    return [(e["action"], e["outcome"]) for e in response.json()["data"]]


def test_password_flow_returns_tokens_and_me(fresh: Fresh) -> None:
    fresh.create("Ada@Example.com")
    response = fresh.login("  ada@example.COM ")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    me = fresh.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["role"] == "analyst"
    assert "password_hash" not in me.text
    assert "backtest:run" in me.json()["permissions"]
    assert "users:admin" not in me.json()["permissions"]


def test_wrong_password_and_unknown_email_look_the_same(fresh: Fresh) -> None:
    fresh.create("ada@example.com")
    wrong = fresh.login("ada@example.com", "not the password at all")
    unknown = fresh.login("nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_refresh_rotates_and_reuse_revokes_the_family(fresh: Fresh) -> None:
    fresh.create("ada@example.com")
    first = fresh.login("ada@example.com").json()["refresh_token"]
    rotated = fresh.client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    # Replaying the first token (as a thief would) fails and kills the rotated one too.
    replay = fresh.client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    after = fresh.client.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert after.status_code == 401
    # A separate sign-in is a separate family and still works.
    third = fresh.login("ada@example.com").json()["refresh_token"]
    assert fresh.client.post("/api/v1/auth/refresh", json={"refresh_token": third}).is_success


def test_logout_revokes_the_refresh_token(fresh: Fresh) -> None:
    fresh.create("ada@example.com")
    refresh = fresh.login("ada@example.com").json()["refresh_token"]
    assert fresh.client.post(
        "/api/v1/auth/logout", json={"refresh_token": refresh}
    ).status_code == (204)
    again = fresh.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert again.status_code == 401
    unknown = fresh.client.post("/api/v1/auth/logout", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 204


def test_self_registration_is_off_by_default(make_fresh: Callable[..., Fresh]) -> None:
    closed = make_fresh()
    body = {"email": "new@example.com", "password": "a long enough passphrase"}
    refused = closed.client.post("/api/v1/auth/register", json=body)
    assert refused.status_code == 403
    assert "QUANTDESK_AUTH__SELF_REGISTRATION" in refused.json()["detail"]
    opened = make_fresh(
        auth={"argon2_memory_kib": 1024, "argon2_time_cost": 1, "self_registration": True}
    )
    created = opened.client.post("/api/v1/auth/register", json=body)
    assert created.status_code == 201
    assert created.json()["role"] == "viewer"
    duplicate = opened.client.post("/api/v1/auth/register", json=body)
    assert duplicate.status_code == 409
    weak = opened.client.post(
        "/api/v1/auth/register", json={"email": "w@example.com", "password": "short"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"


def test_admin_creates_and_updates_users(fresh: Fresh) -> None:
    fresh.create("root@example.com", Role.ADMIN)
    admin = fresh.bearer("root@example.com")
    created = fresh.client.post(
        "/api/v1/users",
        headers=admin,
        json={"email": "Trader@Example.com", "password": PASSWORD, "role": "trader"},
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    assert created.json()["email"] == "trader@example.com"
    trader = fresh.bearer("trader@example.com")
    assert fresh.client.get("/api/v1/users", headers=trader).status_code == 403
    listed = fresh.client.get("/api/v1/users", headers=admin).json()
    assert {u["email"] for u in listed["data"]} == {"root@example.com", "trader@example.com"}
    patched = fresh.client.patch(
        f"/api/v1/users/{user_id}", headers=admin, json={"is_active": False}
    )
    assert patched.json()["is_active"] is False
    # A deactivated user's access token stops working at once.
    assert fresh.client.get("/api/v1/auth/me", headers=trader).status_code == 401
    assert fresh.login("trader@example.com").status_code == 401
    # The last admin cannot demote themselves.
    root_id = fresh.client.get("/api/v1/auth/me", headers=admin).json()["id"]
    demote = fresh.client.patch(f"/api/v1/users/{root_id}", headers=admin, json={"role": "viewer"})
    assert demote.status_code == 409
    assert fresh.client.get("/api/v1/users/usr_nope", headers=admin).status_code == 404
    actions = audit_actions(fresh, admin, action="user.update")
    assert actions == [("user.update", "success")]


def test_password_change_signs_out_other_sessions(fresh: Fresh) -> None:
    fresh.create("ada@example.com")
    session = fresh.login("ada@example.com").json()
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    wrong = fresh.client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "another long passphrase"},
    )
    assert wrong.status_code == 422
    changed = fresh.client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
    )
    assert changed.status_code == 204
    refresh = fresh.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert fresh.login("ada@example.com", "another long passphrase").status_code == 200


def test_mfa_enrol_verify_login_recovery_and_disable(fresh: Fresh) -> None:
    fresh.create("ada@example.com")
    headers = fresh.bearer("ada@example.com")
    enrol = fresh.client.post("/api/v1/auth/mfa/enrol", headers=headers)
    assert enrol.status_code == 200
    secret = enrol.json()["secret"]
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/quantdesk:ada%40example.com")
    bad = fresh.client.post("/api/v1/auth/mfa/verify", headers=headers, json={"code": "000000"})
    assert bad.status_code == 422
    totp = pyotp.TOTP(secret)
    verified = fresh.client.post(
        "/api/v1/auth/mfa/verify", headers=headers, json={"code": totp.now()}
    )
    assert verified.status_code == 200
    codes = verified.json()["recovery_codes"]
    assert len(codes) == 10

    # From now on a password alone is not enough ...
    needs_code = fresh.login("ada@example.com")
    assert needs_code.status_code == 401
    assert needs_code.json()["mfa_required"] is True
    assert fresh.login("ada@example.com", otp="123456").status_code == 401
    # ... a current code or a recovery code is, and a recovery code works once.
    assert fresh.login("ada@example.com", otp=totp.now()).status_code == 200
    assert fresh.login("ada@example.com", otp=codes[0].upper()).status_code == 200
    assert fresh.login("ada@example.com", otp=codes[0]).status_code == 401

    headers = fresh.bearer("ada@example.com", otp=codes[1])
    renewed = fresh.client.post(
        "/api/v1/auth/mfa/recovery-codes", headers=headers, json={"code": totp.now()}
    )
    assert renewed.status_code == 200
    assert fresh.login("ada@example.com", otp=codes[2]).status_code == 401
    disabled = fresh.client.post(
        "/api/v1/auth/mfa/disable", headers=headers, json={"code": totp.now()}
    )
    assert disabled.status_code == 204
    assert fresh.login("ada@example.com").status_code == 200
    # The secret is stored encrypted, never in clear.
    with fresh.runtime.engine.connect() as connection:
        stored = connection.execute(text("SELECT mfa_secret FROM users")).scalar()
    assert stored is None


def test_mfa_policy_per_role_limits_unenrolled_users_to_their_account(fresh: Fresh) -> None:
    fresh.create("root@example.com", Role.ADMIN)
    fresh.create("tina@example.com", Role.TRADER)
    admin = fresh.bearer("root@example.com")
    policy = fresh.client.put(
        "/api/v1/users/policies/mfa", headers=admin, json={"role": "trader", "required": True}
    )
    assert policy.json() == {"required_roles": ["trader"]}
    trader = fresh.bearer("tina@example.com")
    blocked = fresh.client.get("/api/v1/market/symbols", headers=trader)
    assert blocked.status_code == 403
    assert "MFA" in blocked.json()["detail"]
    secret = fresh.client.post("/api/v1/auth/mfa/enrol", headers=trader).json()["secret"]
    code = pyotp.TOTP(secret).now()
    assert fresh.client.post(
        "/api/v1/auth/mfa/verify", headers=trader, json={"code": code}
    ).is_success
    assert fresh.client.get("/api/v1/market/symbols", headers=trader).status_code == 200
    assert ("policy.mfa", "success") in audit_actions(fresh, admin)


def test_api_keys_shown_once_scoped_and_revocable(fresh: Fresh) -> None:
    fresh.create("tina@example.com", Role.TRADER)
    fresh.create("other@example.com", Role.TRADER)
    headers = fresh.bearer("tina@example.com")
    created = fresh.client.post(
        "/api/v1/api-keys", headers=headers, json={"name": "script", "scopes": ["read"]}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    key_id = created.json()["id"]
    listed = fresh.client.get("/api/v1/api-keys", headers=headers).json()["data"]
    assert [k["prefix"] for k in listed] == [created.json()["prefix"]]
    assert "key" not in listed[0]
    with fresh.runtime.engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash FROM api_keys")).scalar()
    assert stored != key
    assert key not in str(stored)

    as_key = {"X-API-Key": key}
    me = fresh.client.get("/api/v1/auth/me", headers=as_key).json()
    assert me["via"] == "api_key"
    assert "orders:write" not in me["permissions"]  # read scope narrows the trader role
    assert fresh.client.get("/api/v1/market/symbols", headers=as_key).status_code == 200
    assert (
        fresh.client.post(
            "/api/v1/api-keys", headers=as_key, json={"name": "k2", "scopes": ["read"]}
        ).status_code
        == 403
    )
    admin_scope = fresh.client.post(
        "/api/v1/api-keys", headers=headers, json={"name": "x", "scopes": ["admin"]}
    )
    assert admin_scope.status_code == 422

    other = fresh.bearer("other@example.com")
    assert fresh.client.delete(f"/api/v1/api-keys/{key_id}", headers=other).status_code == 404
    assert fresh.client.delete(f"/api/v1/api-keys/{key_id}", headers=headers).status_code == 204
    assert fresh.client.get("/api/v1/market/symbols", headers=as_key).status_code == 401
    assert (
        fresh.client.get(
            "/api/v1/market/symbols", headers={"X-API-Key": "qd_abcdefgh_" + "x" * 40}
        ).status_code
        == 401
    )


def test_secrets_are_encrypted_at_rest_and_private(fresh: Fresh) -> None:
    fresh.create("ada@example.com")
    fresh.create("bob@example.com")
    ada = fresh.bearer("ada@example.com")
    put = fresh.client.put(
        "/api/v1/secrets/alphavantage", headers=ada, json={"value": "AV-PLAINTEXT-123"}
    )
    assert put.status_code == 200
    assert "AV-PLAINTEXT-123" not in put.text
    with fresh.runtime.engine.connect() as connection:
        stored = connection.execute(text("SELECT ciphertext FROM user_secrets")).scalar()
    assert "AV-PLAINTEXT-123" not in str(stored)
    ada_id = fresh.client.get("/api/v1/auth/me", headers=ada).json()["id"]
    assert fresh.runtime.auth.reveal_secret(ada_id, "alphavantage") == "AV-PLAINTEXT-123"
    bob = fresh.bearer("bob@example.com")
    assert fresh.client.get("/api/v1/secrets", headers=bob).json()["count"] == 0
    assert fresh.client.delete("/api/v1/secrets/alphavantage", headers=bob).status_code == 404
    bad = fresh.client.put("/api/v1/secrets/Bad Name", headers=ada, json={"value": "x"})
    assert bad.status_code == 422
    assert fresh.client.delete("/api/v1/secrets/alphavantage", headers=ada).status_code == 204


def test_audit_log_is_admin_only_filtered_paged_and_append_only(fresh: Fresh) -> None:
    fresh.create("root@example.com", Role.ADMIN)
    fresh.create("ada@example.com")
    fresh.login("ada@example.com", "wrong password here")
    admin = fresh.bearer("root@example.com")
    ada = fresh.bearer("ada@example.com")
    assert fresh.client.get("/api/v1/audit", headers=ada).status_code == 403
    failures = fresh.client.get(
        "/api/v1/audit", headers=admin, params={"action": "auth.login", "outcome": "failure"}
    ).json()["data"]
    assert len(failures) == 1
    assert failures[0]["actor_email"] == "ada@example.com"
    assert failures[0]["ip"] == "testclient"
    assert failures[0]["user_agent"] == "testclient"
    assert failures[0]["request_id"].startswith("req_")
    page1 = fresh.client.get("/api/v1/audit", headers=admin, params={"limit": 2}).json()
    assert page1["count"] == 2
    page2 = fresh.client.get(
        "/api/v1/audit", headers=admin, params={"limit": 2, "before_id": page1["next_before_id"]}
    ).json()
    assert {e["id"] for e in page1["data"]}.isdisjoint({e["id"] for e in page2["data"]})
    assert all(e["id"] < page1["next_before_id"] for e in page2["data"])
    # No route changes the log, and the database itself refuses to.
    methods = {
        m for r in api_routes(fresh.client.app) if r.path == "/api/v1/audit" for m in r.methods
    }
    assert methods == {"GET"}
    with pytest.raises(Exception, match="append-only"), fresh.runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'x'"))
    with pytest.raises(Exception, match="append-only"), fresh.runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_brute_force_delays_then_locks_out_with_429(make_fresh: Callable[..., Fresh]) -> None:
    fresh = make_fresh(security={"login_delay_after": 100, "login_lockout_after": 3})
    fresh.create("ada@example.com")
    for _ in range(3):
        assert fresh.login("ada@example.com", "wrong password x").status_code == 401
    locked = fresh.login("ada@example.com")  # even the right password waits now
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "ada" not in locked.json()["detail"]


def test_rate_limit_returns_429_with_headers(make_fresh: Callable[..., Fresh]) -> None:
    fresh = make_fresh(
        rate_limits={
            "tiers": {"free": "3/minute"},
            "groups": {"default": 1.0},
            "anonymous": "2/minute",
        }
    )
    fresh.create("ada@example.com")
    headers = fresh.bearer("ada@example.com")
    seen = [fresh.client.get("/api/v1/market/symbols", headers=headers) for _ in range(4)]
    assert [r.status_code for r in seen[:3]] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in seen[:3]] == ["2", "1", "0"]
    assert seen[0].headers["ratelimit-limit"] == "3"
    assert seen[3].status_code == 429
    assert int(seen[3].headers["retry-after"]) >= 1
    anonymous = [fresh.client.get("/api/v1/market/symbols") for _ in range(3)]
    assert [r.status_code for r in anonymous] == [401, 401, 429]


def test_security_headers_and_body_limit(make_fresh: Callable[..., Fresh]) -> None:
    fresh = make_fresh(security={"max_body_bytes": 2048})
    response = fresh.client.get("/api/v1/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers
    too_big = fresh.client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 5000})
    assert too_big.status_code == 413


@pytest.mark.redis
def test_rate_limits_are_shared_through_redis(
    make_fresh: Callable[..., Fresh], redis_url: str
) -> None:
    # Two app instances (two API workers) share one Redis: the limit is global, not per process.
    limits = {"tiers": {"free": "4/minute"}, "groups": {"default": 1.0}}
    first = make_fresh(rate_limits=limits, redis={"url": redis_url})
    second_runtime = build_runtime(
        api_settings(first.runtime.settings.home_dir, rate_limits=limits, redis={"url": redis_url})
    )
    try:
        first.create("ada@example.com")
        headers = first.bearer("ada@example.com")
        with TestClient(create_app(runtime=second_runtime)) as second:
            statuses = [
                client.get("/api/v1/market/symbols", headers=headers).status_code
                for client in (first.client, second, first.client, second, first.client)
            ]
    finally:
        second_runtime.close()
    assert statuses == [200, 200, 200, 200, 429]
