"""Encryption at rest for third-party credentials users store.

Provider API keys, broker keys and SMTP passwords are kept in the relational store as Fernet
tokens (AES-128-CBC with an HMAC-SHA256 tag, :mod:`cryptography.fernet`). The master keys
come from ``secrets.master_keys`` (``QUANTDESK_SECRETS__MASTER_KEYS``), newest first: the first
key encrypts, every key decrypts, so a new key can be put in front of the old ones and
:meth:`SecretBox.rotate` re-encrypts stored tokens at leisure before the old key is dropped.

Key material never leaves this module: :class:`SecretBox` keeps only the
:class:`~cryptography.fernet.Fernet` objects, its ``repr`` shows the number of keys, and no
error message quotes a key or a token.
"""

from __future__ import annotations

import contextlib
import os
import secrets as _random
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from quantdesk.config.settings import SecretsSettings
from quantdesk.core.errors import ConfigError

__all__ = [
    "MASTER_KEYS_SETTING",
    "DecryptionError",
    "SecretBox",
    "generate_key",
    "load_or_create_key_file",
]

MASTER_KEYS_SETTING = "QUANTDESK_SECRETS__MASTER_KEYS"
_GENERATE_HINT = (
    'generate one with `python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"`'
)


class DecryptionError(ConfigError):
    """A stored credential cannot be decrypted with the configured master keys."""


def _invalid_key(where: str) -> ConfigError:
    return ConfigError(
        f"{where} is not a valid Fernet key (it must be 32 url-safe base64-encoded bytes, "
        f"44 characters); set {MASTER_KEYS_SETTING} to a JSON list of keys and "
        f"{_GENERATE_HINT}"
    )


def _fernet(key: str | SecretStr, where: str) -> Fernet:
    raw = key.get_secret_value() if isinstance(key, SecretStr) else key
    if not isinstance(raw, str):
        raise _invalid_key(where)
    try:
        return Fernet(raw.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        # The original error can quote the key; never chain it.
        raise _invalid_key(where) from None


class SecretBox:
    """Encrypt and decrypt stored credentials with a list of Fernet master keys.

    Parameters
    ----------
    keys:
        Fernet keys, newest first. The first one encrypts; all of them decrypt.

    Raises
    ------
    ConfigError
        When ``keys`` is empty or holds a malformed key (the message names the setting and the
        position, never the key).
    """

    __slots__ = ("_count", "_fernet")

    def __init__(self, keys: Sequence[str | SecretStr]) -> None:
        if isinstance(keys, str | SecretStr):
            keys = [keys]
        if not keys:
            raise ConfigError(
                f"secrets.master_keys is empty; set {MASTER_KEYS_SETTING} to a JSON list of "
                f"Fernet keys, newest first, e.g. '[\"<key>\"]', and {_GENERATE_HINT}"
            )
        fernets = [_fernet(key, f"secrets.master_keys[{index}]") for index, key in enumerate(keys)]
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)

    @classmethod
    def from_settings(cls, settings: SecretsSettings) -> SecretBox:
        """Return a box over ``settings.master_keys``."""
        return cls(settings.master_keys)

    @property
    def key_count(self) -> int:
        """Return how many master keys the box holds."""
        return self._count

    def encrypt(self, plaintext: str) -> str:
        """Return ``plaintext`` encrypted with the newest master key, as an ASCII token."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Return the plaintext of ``token``.

        Raises
        ------
        DecryptionError
            When no configured key opens the token: the master key changed without keeping the
            old one, or the stored value is corrupted.
        """
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, ValueError, TypeError):
            raise _undecryptable() from None

    def rotate(self, token: str) -> str:
        """Return ``token`` re-encrypted with the newest master key.

        Raises
        ------
        DecryptionError
            When no configured key opens the token.
        """
        try:
            return self._fernet.rotate(token).decode("ascii")
        except (InvalidToken, ValueError, TypeError):
            raise _undecryptable() from None

    def __repr__(self) -> str:
        return f"SecretBox(keys={self._count})"

    __str__ = __repr__


def _undecryptable() -> DecryptionError:
    return DecryptionError(
        "cannot decrypt a stored credential: the master key may have changed, or the stored "
        f"value is corrupted. Check {MASTER_KEYS_SETTING}: when you add a new key, keep the old "
        "ones after it until every stored credential has been re-encrypted with the new key; "
        "otherwise ask the user to enter the credential again"
    )


def generate_key() -> str:
    """Return a new random Fernet key (44 url-safe base64 characters)."""
    return Fernet.generate_key().decode("ascii")


def load_or_create_key_file(path: str | os.PathLike[str]) -> str:
    """Return the Fernet key stored in ``path``, creating the file first when it is missing.

    Meant for the demo profile: the key is generated once, written with mode ``0600`` into a
    directory created with mode ``0700``. Creation is atomic and never replaces an existing
    file, so two processes starting together end up with the same key.

    Raises
    ------
    ConfigError
        When the file exists but does not hold a valid Fernet key.
    """
    target = Path(path).expanduser()
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_exclusive(target, generate_key())
    content = target.read_text(encoding="ascii", errors="replace").strip()
    _fernet(content, f"the key file {target}")
    return content


def _create_exclusive(target: Path, key: str) -> None:
    temporary = target.with_name(f".{target.name}.{_random.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails when the target exists, so a concurrent writer's key is never replaced.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
