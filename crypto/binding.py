"""Key bindings: a MAC that ties a stored public key to its owner under a server secret.

A public key in the database says nothing about who put it there. A binding is
HMAC-SHA-256 over (purpose, owner id, key version, public key) under a key derived with
HKDF-SHA-256 from a server secret that is not in the database. Someone who can write to the
database but does not know the secret cannot make a key they chose pass as an office's or a
handler's key, nor move a genuine binding to another owner or version. Format:
``docs/crypto.md``, "Key authenticity".
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

BINDING_LEN = 32
#: The two kinds of bound keys.
HANDLER = "handler"
OFFICE = "office"
_HKDF_INFO = b"whistle/key-binding/v1"
_LABEL = b"whistle/key-binding/v1"


def binding_key(server_secret: bytes) -> bytes:
    """Derive the 32-byte binding key from a server secret.

    Args:
        server_secret: the deployment's secret (at least 32 bytes of entropy); never stored in
            the database.

    Returns:
        HKDF-SHA-256(ikm=server_secret, salt=None, info="whistle/key-binding/v1"), 32 bytes.
    """
    if len(server_secret) < 16:
        raise ValueError("the server secret is too short")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        bytes(server_secret)
    )


def _message(kind: str, owner: str, version: int, public: bytes) -> bytes:
    if kind not in (HANDLER, OFFICE):
        raise ValueError("unknown key kind")
    if version < 0:
        raise ValueError("negative key version")
    fields = (_LABEL, kind.encode(), owner.encode(), str(version).encode(), bytes(public))
    # Each field is length-prefixed, so no two different tuples give the same message.
    return b"".join(len(item).to_bytes(4, "big") + item for item in fields)


def bind_public_key(key: bytes, *, kind: str, owner: str, version: int, public: bytes) -> bytes:
    """Return the binding (32 bytes) of ``public`` to ``owner``.

    Args:
        key: the binding key from :func:`binding_key`.
        kind: ``"handler"`` or ``"office"``.
        owner: the owner's public id (a user's or an office's UUID, as text).
        version: the key generation (an office key's version; 0 for handler keys).
        public: the serialised public key.
    """
    return hmac.new(key, _message(kind, owner, version, public), hashlib.sha256).digest()


def verify_public_key_binding(
    key: bytes, binding: bytes | None, *, kind: str, owner: str, version: int, public: bytes
) -> bool:
    """Whether ``binding`` is the binding of ``public`` to ``owner`` (constant-time compare).

    A missing binding (``None``) or one of the wrong length is simply not genuine.
    """
    if binding is None or len(binding) != BINDING_LEN:
        return False
    expected = bind_public_key(key, kind=kind, owner=owner, version=version, public=public)
    return hmac.compare_digest(expected, bytes(binding))
