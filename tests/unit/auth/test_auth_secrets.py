"""SecretBox: encryption at rest of stored credentials, checked against plain Fernet."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from quantdesk.auth.secrets import (
    DecryptionError,
    SecretBox,
    generate_key,
    load_or_create_key_file,
)
from quantdesk.config.settings import SecretsSettings
from quantdesk.core.errors import ConfigError

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PLAINTEXT = "sk_live_51HxYzExampleBrokerKey/ü+="


def test_round_trip_and_reference_decryption() -> None:
    box = SecretBox([NEW_KEY])
    token = box.encrypt(PLAINTEXT)
    assert PLAINTEXT not in token
    assert box.decrypt(token) == PLAINTEXT
    # The token is a standard Fernet token: the reference implementation opens it.
    assert Fernet(NEW_KEY.encode()).decrypt(token.encode()).decode("utf-8") == PLAINTEXT
    # A random IV per token: the same plaintext never gives the same token twice.
    assert box.encrypt(PLAINTEXT) != token
    assert box.decrypt(box.encrypt("")) == ""


def test_first_key_encrypts_and_all_keys_decrypt() -> None:
    old_token = Fernet(OLD_KEY.encode()).encrypt(b"smtp-password").decode()
    box = SecretBox([NEW_KEY, SecretStr(OLD_KEY)])
    assert box.key_count == 2
    assert box.decrypt(old_token) == "smtp-password"
    fresh = box.encrypt("x")
    assert Fernet(NEW_KEY.encode()).decrypt(fresh.encode()) == b"x"
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY.encode()).decrypt(fresh.encode())


def test_rotate_reencrypts_with_the_newest_key() -> None:
    old_token = SecretBox([OLD_KEY]).encrypt(PLAINTEXT)
    rotated = SecretBox([NEW_KEY, OLD_KEY]).rotate(old_token)
    assert Fernet(NEW_KEY.encode()).decrypt(rotated.encode()).decode("utf-8") == PLAINTEXT
    # After rotation the old key can be dropped.
    assert SecretBox([NEW_KEY]).decrypt(rotated) == PLAINTEXT
    with pytest.raises(DecryptionError):
        SecretBox([NEW_KEY]).rotate(old_token)


@pytest.mark.parametrize(
    "token",
    [
        SecretBox([OLD_KEY]).encrypt("broker key"),  # encrypted with a key no longer listed
        "not-a-token",
        "gAAAAAB" + "A" * 80,  # Fernet-shaped but forged
        "jeton-invalide-é",  # not even ASCII
    ],
)
def test_undecryptable_tokens_get_a_clear_error(token: str) -> None:
    with pytest.raises(DecryptionError) as caught:
        SecretBox([NEW_KEY]).decrypt(token)
    message = str(caught.value)
    assert "master key may have changed" in message
    assert "QUANTDESK_SECRETS__MASTER_KEYS" in message
    assert isinstance(caught.value, ConfigError)
    assert token not in message


def test_empty_key_list_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="QUANTDESK_SECRETS__MASTER_KEYS"):
        SecretBox([])


@pytest.mark.parametrize("bad", ["short-key", "A" * 44 + "!", "x" * 44, "ключ-" * 9, NEW_KEY[:-4]])
def test_bad_key_material_names_the_setting_not_the_key(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SecretBox([NEW_KEY, bad])
    message = str(caught.value)
    assert "secrets.master_keys[1]" in message
    assert "QUANTDESK_SECRETS__MASTER_KEYS" in message
    assert bad not in message
    # The library's own error is not chained into tracebacks.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_single_key_string_is_not_split_into_characters() -> None:
    box = SecretBox(NEW_KEY)  # type: ignore[arg-type]
    assert box.key_count == 1


def test_keys_never_appear_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    box = SecretBox([NEW_KEY, SecretStr(OLD_KEY)])
    rendered = [repr(box), str(box), f"{box}", f"{box!r}", repr([box]), repr({"box": box})]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("quantdesk.test").warning("box=%s %r", box, box)
    rendered.append(caplog.text)
    for text in rendered:
        for key in (NEW_KEY, OLD_KEY):
            assert key not in text
            assert key[:16] not in text
    assert repr(box) == "SecretBox(keys=2)"
    assert not hasattr(box, "__dict__")  # no attribute dump can reveal anything either


def test_from_settings() -> None:
    box = SecretBox.from_settings(SecretsSettings(master_keys=[SecretStr(NEW_KEY)]))
    assert Fernet(NEW_KEY.encode()).decrypt(box.encrypt("k").encode()) == b"k"


def test_generate_key_makes_distinct_fernet_keys() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(first) == 44
    Fernet(first.encode())  # the reference accepts it


def test_key_file_is_created_once_with_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secrets" / "master.key"
    key = load_or_create_key_file(path)
    Fernet(key.encode())
    assert path.read_text().strip() == key
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert load_or_create_key_file(path) == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]  # no temp files left


def test_corrupt_key_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("definitely-not-a-key\n")
    with pytest.raises(ConfigError, match=r"master\.key") as caught:
        load_or_create_key_file(path)
    assert "definitely-not-a-key" not in str(caught.value)
