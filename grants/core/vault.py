"""Secrets kept at rest in the database (TOTP keys), encrypted with Fernet (AES-128-CBC and
HMAC-SHA256) under a key derived from the site's SECRET_KEY by HKDF, so a copy of the database
alone (a backup, a leaked dump) gives no one's authenticator. Changing SECRET_KEY therefore
makes two-factor set-up start again (sessions end then too)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_PURPOSE = b"grants: secrets at rest v1"


def _box() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    material = secret.encode() if isinstance(secret, str) else bytes(secret)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> str:
    return _box().encrypt(text.encode()).decode("ascii")


def unseal(token: str) -> str:
    """The text; ValueError when it was sealed under another key or changed."""
    try:
        return _box().decrypt(token.encode("ascii")).decode()
    except InvalidToken as error:
        raise ValueError("sealed under another key or changed") from error
