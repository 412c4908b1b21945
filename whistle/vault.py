"""The session vault: key material a logged-in person needs between requests (DESIGN §4).

The material is kept in the server-side session only as ciphertext, under a random 256-bit key
that lives solely in its own cookie (HttpOnly, SameSite=Strict, Secure in production, no
expiry). A dump of the session store therefore opens nothing, and a stolen cookie without the
session store opens nothing either.

The same module seals the few things that are not reports but must still not be readable from a
copy of the database or a backup (accessibility feedback): :func:`seal_at_rest` encrypts under a
key derived from a server secret that is kept out of the database (``RECEIPT_PEPPER``), one key
per purpose, with associated data binding each blob to its row.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from crypto import DecryptionError, decrypt_blob, encrypt_blob

__all__ = ["DecryptionError", "SessionVault", "get_vault", "open_at_rest", "seal_at_rest"]

SESSION_FIELD = "_vault"
AAD = b"whistle/session-vault/v1"


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


class SessionVault:
    """Encrypted name → bytes store attached to one session."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._key: bytes | None = None
        self.key_changed = False
        self.cleared = False
        self._items: dict[str, bytes] | None = None
        raw = request.COOKIES.get(settings.VAULT_COOKIE_NAME, "")
        try:
            key = _b64d(raw) if raw else b""
        except (binascii.Error, ValueError):
            key = b""
        if len(key) == 32:
            self._key = key

    @property
    def cookie_value(self) -> str | None:
        return _b64e(self._key) if self._key is not None else None

    def _load(self) -> dict[str, bytes]:
        if self._items is None:
            self._items = {}
            blob = self._request.session.get(SESSION_FIELD)
            if blob and self._key is not None:
                try:
                    plain = decrypt_blob(self._key, _b64d(blob), aad=AAD)
                    self._items = {k: _b64d(v) for k, v in json.loads(plain).items()}
                except (DecryptionError, ValueError, binascii.Error):
                    # Cookie from another session, or the session was replaced: start empty.
                    self._items = {}
        return self._items

    def _save(self) -> None:
        items = self._load()
        if self._key is None:
            self._key = secrets.token_bytes(32)
            self.key_changed = True
        plain = json.dumps({k: _b64e(v) for k, v in items.items()}).encode()
        self._request.session[SESSION_FIELD] = _b64e(encrypt_blob(self._key, plain, aad=AAD))

    def get(self, name: str) -> bytes | None:
        return self._load().get(name)

    def put(self, name: str, value: bytes) -> None:
        self._load()[name] = bytes(value)
        self._save()

    def remove(self, name: str) -> None:
        if self._load().pop(name, None) is not None:
            self._save()

    def rotate(self) -> None:
        """Start afresh under a new key (at login), keeping nothing from before."""
        self._items = {}
        self._key = secrets.token_bytes(32)
        self.key_changed = True
        self.cleared = False
        self._request.session.pop(SESSION_FIELD, None)

    def clear(self) -> None:
        self._items = {}
        self._key = None
        self.cleared = True
        self.key_changed = False
        if hasattr(self._request, "session"):
            self._request.session.pop(SESSION_FIELD, None)


def get_vault(request: HttpRequest) -> SessionVault:
    vault = getattr(request, "vault", None)
    if not isinstance(vault, SessionVault):
        vault = SessionVault(request)
        request.vault = vault  # type: ignore[attr-defined]
    return vault


@receiver(user_logged_out)
def _clear_on_logout(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None:
        get_vault(request).clear()


class SessionVaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        vault = get_vault(request)
        response = self.get_response(request)
        if vault.cleared:
            response.delete_cookie(settings.VAULT_COOKIE_NAME, samesite="Strict")
        elif vault.key_changed and vault.cookie_value is not None:
            response.set_cookie(
                settings.VAULT_COOKIE_NAME,
                vault.cookie_value,
                max_age=None,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Strict",
            )
        return response


# --- at rest, under a server key ------------------------------------------------------------

_AT_REST_INFO = b"whistle/at-rest/v1/"


def _at_rest_key(purpose: str) -> bytes:
    # HKDF with a label of its own per purpose keeps these keys apart from each other and from
    # the pepper's other uses (receipt KDF, key binding).
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=_AT_REST_INFO + purpose.encode("ascii"),
    ).derive(settings.RECEIPT_PEPPER.encode("utf-8"))


def _at_rest_aad(purpose: str, context: str) -> bytes:
    return b"whistle/at-rest/v1|" + purpose.encode("ascii") + b"|" + context.encode("utf-8")


def seal_at_rest(plaintext: bytes, *, purpose: str, context: str) -> bytes:
    """Encrypt ``plaintext`` for storage under the server key of ``purpose``; ``context``
    (e.g. tenant and row id) is bound as associated data, so a blob moved to another row does
    not open. For data the server itself must read later, that is not a report (reports are
    sealed to their office's key, which the server does not hold)."""
    return encrypt_blob(_at_rest_key(purpose), plaintext, aad=_at_rest_aad(purpose, context))


def open_at_rest(blob: bytes, *, purpose: str, context: str) -> bytes:
    """Open what :func:`seal_at_rest` produced. Raises ``DecryptionError`` when the blob, its
    context or the server secret do not match."""
    return decrypt_blob(_at_rest_key(purpose), bytes(blob), aad=_at_rest_aad(purpose, context))
