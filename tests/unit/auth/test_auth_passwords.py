from __future__ import annotations

import pytest
from argon2 import PasswordHasher as ReferenceHasher
from argon2.low_level import Type

from quantdesk.auth.passwords import PasswordHasher, check_password_policy
from quantdesk.core.errors import ValidationError


def test_default_hash_is_argon2id_with_owasp_grade_parameters() -> None:
    encoded = PasswordHasher().hash("correct horse battery staple")
    # The encoded form carries the variant and parameters: m in KiB, t passes, p lanes.
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=2$")


def test_hash_verifies_with_the_reference_implementation() -> None:
    hasher = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    encoded = hasher.hash("s3cret-pass-phrase")
    # argon2-cffi's own verifier (independent of our wrapper) accepts it ...
    assert ReferenceHasher(type=Type.ID).verify(encoded, "s3cret-pass-phrase")
    # ... and our wrapper accepts the right password only.
    assert hasher.verify(encoded, "s3cret-pass-phrase")
    assert not hasher.verify(encoded, "s3cret-pass-phrasE")
    assert not hasher.verify("not a hash", "s3cret-pass-phrase")


def test_missing_user_verification_is_false_but_still_hashes() -> None:
    hasher = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    assert hasher.verify(None, "quantdesk-timing-equaliser") is False


def test_weaker_hashes_need_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1).hash("pw-abcdefghijkl")
    strong = PasswordHasher(time_cost=2, memory_kib=2048, parallelism=1)
    assert strong.needs_rehash(weak)
    assert not strong.needs_rehash(strong.hash("pw-abcdefghijkl"))


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "too few distinct characters"),
        ("ada@example.com", "must not be the email"),
    ],
)
def test_password_policy_names_the_problem(password: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        check_password_policy(password, min_length=12, email="ada@example.com")
    assert info.value.issues[0].field == "password"
