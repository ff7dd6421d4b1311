"""Encryption of connector secrets (passwords, API tokens) with Fernet.

The key is ``CONNECTOR_SECRET_KEY`` (``QUIRE_CONNECTOR_SECRET_KEY``): a Fernet key, as
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``
prints. When it is not set, a key is derived from ``SECRET_KEY`` with HKDF-SHA256, so a
deployment works out of the box; then rotating the secret key makes stored connector secrets
unreadable (they must be typed again), which is why production should set its own key.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from ..config import ConfigError

_HKDF_INFO = b"quire connector secrets v1"


def key_from_config(config: dict) -> bytes:  # type: ignore[type-arg]
    """The Fernet key: the configured one, or one derived from the app's secret key."""
    configured = config.get("CONNECTOR_SECRET_KEY")
    if configured:
        key = configured.encode() if isinstance(configured, str) else bytes(configured)
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                "QUIRE_CONNECTOR_SECRET_KEY must be a Fernet key (32 bytes, url-safe base64)."
            ) from None
        return key
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        str(config["SECRET_KEY"]).encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def _fernet() -> Fernet:
    cached = current_app.extensions.get("quire.vault")
    if cached is None:
        cached = Fernet(key_from_config(current_app.config))
        current_app.extensions["quire.vault"] = cached
    return cached


class SecretUnreadable(Exception):
    """A stored secret was encrypted with another key (the key was changed)."""


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("A stored secret cannot be decrypted with the current key.") from exc
