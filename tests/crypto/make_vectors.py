"""Generate tests/crypto/vectors.json, the known-answer vectors of every crypto format.

DO NOT REGENERATE CASUALLY. The vectors pin the formats: stored data written by earlier
versions must keep opening. If a test in test_vectors.py fails, the code changed a format:
fix the code, or introduce a new version byte and keep reading the old one. Regenerate only
to ADD vectors for a new format version, and keep the old entries.

Usage (from the repository root): .venv/bin/python -m tests.crypto.make_vectors [--add|--force]

``--add`` keeps every entry of the existing file byte for byte and only adds the entries it
lacks (how the ``*_v2`` entries of the Argon2id derivation v2 were added, issue 12);
``--force`` rebuilds the whole file. Not collected by pytest (the file name does not start
with ``test_``).
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: put the repository root first on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import (
    KDF_V1,
    KDF_V2,
    Argon2Params,
    RecordContext,
    derive_key,
    encrypt_blob,
    encrypt_bytes_stream,
    encrypt_record,
    generate_keypair,
    generate_receipt,
    generate_recovery_key,
    padded_size,
    seal,
    wrap_key,
    wrap_with_secret,
)
from crypto.kdf import pepper_secret

VECTORS = Path(__file__).with_name("vectors.json")
NOTICE = (
    "Known-answer vectors for crypto/. NEVER regenerate casually: they pin the stored formats. "
    "A failure means the code broke compatibility with data already stored. See make_vectors.py."
)
KEY = bytes(range(32))
KEK = bytes(range(32, 64))


def _messy(formatted: str) -> str:
    """A receipt as someone might type it: lower case, spaces, O for 0, l for 1."""
    return " ".join(formatted.split("-")).lower().replace("0", "O").replace("1", "l")


def _wrap_with_secret_v1(
    secret: bytes, key: bytes, *, params: Argon2Params, context: bytes, pepper: bytes = b""
) -> bytes:
    """The version 0x01 wrap that ``wrap_with_secret`` wrote before issue 12 (now read only).

    Only for a full rebuild (``--force``): the stored v1 entries were made by the library itself.
    """
    salt = secrets.token_bytes(16)
    head = bytes((KDF_V1, 0x51)) + params.encode() + salt
    kek = derive_key(secret, salt=salt, params=params, pepper=pepper, version=KDF_V1)
    nonce = secrets.token_bytes(12)
    return head + nonce + AESGCM(kek).encrypt(nonce, key, head + context)


def build() -> dict[str, object]:
    """Create every vector with fresh randomness (keys are fixed where the format allows)."""
    pair = generate_keypair()
    case_key = bytes(range(100, 132))
    seal_info = b"whistle/case-key/v1|tenant=vector-tenant|case=vector-case"
    context = RecordContext(tenant="tenant-\u00e9", case="case-1", kind="message", record_id="m-1")
    record_plain = "Known-answer record: Gr\u00fc\u00dfe".encode()
    stream_plain = bytes(range(256)) * 10
    wrap_context = b"whistle/handler-key/v1|user=vector"
    cheap = Argon2Params(memory_kib=1024, iterations=1, lanes=1)
    cheap_two_lanes = Argon2Params(memory_kib=256, iterations=2, lanes=2)
    cheap_v2 = Argon2Params(memory_kib=256, iterations=2, lanes=1)
    receipt = generate_receipt()
    recovery = generate_recovery_key()
    return {
        "_notice": NOTICE,
        "keypair": {"private": pair.private.hex(), "public": pair.public.hex()},
        "seal": {
            "info": seal_info.hex(),
            "plaintext": case_key.hex(),
            "sealed": seal(pair.public, case_key, info=seal_info).hex(),
        },
        "blob": {
            "key": KEY.hex(),
            "aad": b"session".hex(),
            "plaintext": b"session vault data".hex(),
            "blob": encrypt_blob(KEY, b"session vault data", aad=b"session").hex(),
        },
        "record": {
            "key": KEY.hex(),
            "context": {
                "tenant": context.tenant,
                "case": context.case,
                "kind": context.kind,
                "record_id": context.record_id,
            },
            "context_encoding": context.encode().hex(),
            "plaintext": record_plain.hex(),
            "blob": encrypt_record(KEY, record_plain, context=context).hex(),
        },
        "streams": [
            {
                "key": KEY.hex(),
                "context": b"whistle/attachment/v1|vector-unpadded".hex(),
                "pad": False,
                "chunk_size": 1024,
                "plaintext": stream_plain.hex(),
                "ciphertext": encrypt_bytes_stream(
                    KEY,
                    stream_plain,
                    context=b"whistle/attachment/v1|vector-unpadded",
                    pad=False,
                    chunk_size=1024,
                ).hex(),
            },
            {
                "key": KEY.hex(),
                "context": b"whistle/attachment/v1|vector-padded".hex(),
                "pad": True,
                "chunk_size": 4096,
                "plaintext": b"short padded attachment".hex(),
                "ciphertext": encrypt_bytes_stream(
                    KEY,
                    b"short padded attachment",
                    context=b"whistle/attachment/v1|vector-padded",
                    chunk_size=4096,
                ).hex(),
            },
        ],
        "padded_size": {str(n): padded_size(n) for n in (0, 1, 16384, 16385, 100_000, 10**9)},
        "wrap_key": {
            "kek": KEK.hex(),
            "context": wrap_context.hex(),
            "key": case_key.hex(),
            "wrapped": wrap_key(KEK, case_key, context=wrap_context).hex(),
        },
        "wrap_with_secret": [
            {
                "secret": b"correct horse battery staple".hex(),
                "pepper": "",
                "context": wrap_context.hex(),
                "params": [cheap.memory_kib, cheap.iterations, cheap.lanes],
                "key": pair.private.hex(),
                "wrapped": _wrap_with_secret_v1(
                    b"correct horse battery staple",
                    pair.private,
                    params=cheap,
                    context=wrap_context,
                ).hex(),
            },
            {
                "secret": receipt.secret.hex(),
                "pepper": (b"p" * 32).hex(),
                "context": seal_info.hex(),
                "params": [cheap_two_lanes.memory_kib, cheap_two_lanes.iterations, 2],
                "key": case_key.hex(),
                "wrapped": _wrap_with_secret_v1(
                    receipt.secret,
                    case_key,
                    params=cheap_two_lanes,
                    context=seal_info,
                    pepper=b"p" * 32,
                ).hex(),
            },
        ],
        # Version 0x02 (KDF_V2: HMAC-SHA256 pepper step, then libsodium's Argon2id).
        "wrap_with_secret_v2": [
            {
                "secret": b"correct horse battery staple".hex(),
                "pepper": "",
                "context": wrap_context.hex(),
                "params": [cheap.memory_kib, cheap.iterations, cheap.lanes],
                "key": pair.private.hex(),
                "wrapped": wrap_with_secret(
                    b"correct horse battery staple",
                    pair.private,
                    params=cheap,
                    context=wrap_context,
                ).hex(),
            },
            {
                "secret": receipt.secret.hex(),
                "pepper": (b"p" * 32).hex(),
                "context": seal_info.hex(),
                "params": [cheap_v2.memory_kib, cheap_v2.iterations, cheap_v2.lanes],
                "key": case_key.hex(),
                "wrapped": wrap_with_secret(
                    receipt.secret,
                    case_key,
                    params=cheap_v2,
                    context=seal_info,
                    pepper=b"p" * 32,
                ).hex(),
            },
        ],
        "argon2id": {
            "secret": b"password".hex(),
            "salt": (b"s" * 16).hex(),
            "pepper": (b"k" * 8).hex(),
            "params": [cheap.memory_kib, cheap.iterations, cheap.lanes],
            "derived": derive_key(
                b"password", salt=b"s" * 16, params=cheap, pepper=b"k" * 8, version=KDF_V1
            ).hex(),
        },
        "argon2id_v2": [
            {
                "secret": secret.hex(),
                "salt": salt.hex(),
                "pepper": pepper.hex(),
                "params": [params.memory_kib, params.iterations, params.lanes],
                "length": length,
                "pepper_step": pepper_secret(secret, pepper).hex(),
                "derived": derive_key(
                    secret, salt=salt, params=params, pepper=pepper, length=length, version=KDF_V2
                ).hex(),
            }
            for secret, salt, pepper, params, length in (
                (b"password", b"s" * 16, b"k" * 8, cheap, 32),
                (b"", bytes(range(16)), b"", cheap_v2, 32),
                (receipt.secret, b"\xff" * 16, b"p" * 32, cheap_v2, 64),
            )
        ],
        "receipt": {
            "input": _messy(receipt.formatted),
            "formatted": receipt.formatted,
            "lookup": receipt.lookup,
            "secret": receipt.secret.hex(),
        },
        "recovery_key": {
            "input": recovery.formatted.lower().replace("-", " "),
            "formatted": recovery.formatted,
            "key": recovery.key.hex(),
        },
    }


def main(argv: list[str]) -> int:
    """Write vectors.json; refuse to overwrite it without ``--force``; ``--add`` adds only."""
    vectors = build()
    if VECTORS.exists() and "--force" not in argv:
        if "--add" not in argv:
            sys.stderr.write(f"{VECTORS} exists; vectors must not be regenerated casually.\n")
            return 1
        existing = json.loads(VECTORS.read_text("utf-8"))
        added = [name for name in vectors if name not in existing]
        vectors = {**existing, **{name: vectors[name] for name in added}}
        sys.stderr.write(f"kept {len(existing)} entries, added {added}\n")
    VECTORS.write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stderr.write(f"wrote {VECTORS}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
