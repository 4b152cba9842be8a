from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

from quantdesk.auth import mfa

# RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_rfc6238_vectors_truncated_to_six_digits() -> None:
    # Appendix B lists 8-digit codes; a 6-digit code is the last six digits.
    vectors = {59: "94287082", 1111111109: "07081804", 1234567890: "89005924"}
    for seconds, eight_digits in vectors.items():
        at = datetime.fromtimestamp(seconds, tz=UTC)
        assert mfa.totp_now(RFC_SECRET, at=at) == eight_digits[-6:]
        assert mfa.verify_totp(RFC_SECRET, eight_digits[-6:], at=at)


def test_one_step_of_drift_is_accepted_two_are_not() -> None:
    at = datetime.fromtimestamp(1111111109, tz=UTC)
    code = "081804"
    assert mfa.verify_totp(RFC_SECRET, code, at=datetime.fromtimestamp(1111111109 + 30, tz=UTC))
    assert not mfa.verify_totp(RFC_SECRET, code, at=datetime.fromtimestamp(1111111109 + 61, tz=UTC))
    assert not mfa.verify_totp(RFC_SECRET, "12345", at=at)
    assert not mfa.verify_totp(RFC_SECRET, "abcdef", at=at)


def test_provisioning_uri_is_what_authenticator_apps_read() -> None:
    secret = mfa.new_totp_secret()
    uri = urlparse(mfa.provisioning_uri(secret, email="ada@example.com", issuer="quantdesk"))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == "/quantdesk:ada%40example.com"
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["quantdesk"]
    assert len(base64.b32decode(secret)) == 20  # 160 bits


def test_recovery_codes_are_ten_distinct_readable_codes() -> None:
    codes = mfa.new_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert len(code) == 14
        assert code.count("-") == 2
        assert not set(code.replace("-", "")) & set("01ilo")
    assert mfa.normalise_recovery_code(" ABCD-efgh-JKMN ") == "abcd-efgh-jkmn"
