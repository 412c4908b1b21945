"""A copy of the database and the file store reveals no content, receipt or unwrapped key.

Issue 3: an office with two handlers and a case with sentinel text; pg_dump of the test
database and a scan of the file store find no sentinel, no unwrapped private key, no receipt.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from intake.services import case_answers, case_key_for_office, case_submit
from tests.fixtures import World, make_staff, staff_client
from tests.keys.test_key_hierarchy import handler_private_of, keys_url, setup_keys
from tests.plugins.sensitive import SensitiveRegistry
from whistle.keys import services
from whistle.tenants.services import membership_add

SENTINEL = "SENTINEL-bribe-at-the-building-authority-7781"


def encodings(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


def pg_dump() -> bytes:
    db = connection.settings_dict
    pg_dump_bin = shutil.which("pg_dump")
    assert pg_dump_bin is not None, "pg_dump is part of the PostgreSQL client (postgresql-client)"
    result = subprocess.run(
        [
            pg_dump_bin,
            "--host",
            db["HOST"] or "127.0.0.1",
            "--port",
            str(db["PORT"] or 5432),
            "--username",
            db["USER"] or "postgres",
            "--no-password",
            "--data-only",
            db["NAME"],
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def file_store() -> bytes:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return b""
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


@pytest.mark.django_db(transaction=True)
def test_dump_and_file_store_reveal_nothing(world_a: World, sensitive: SensitiveRegistry) -> None:
    sensitive.add(SENTINEL)
    lead_client, recovery = setup_keys(world_a)
    second = make_staff("second@alpha.example")
    membership_add(office=world_a.office, user=second)
    second_client = staff_client(second)
    lead_client.post(keys_url(world_a, f"grant/{second.public_id}/"))
    submission = case_submit(
        tenant=world_a.tenant, office=world_a.office, answers={"what": SENTINEL}
    )
    receipt = submission.receipt
    sensitive.add(receipt.formatted)

    secrets_to_hide: list[bytes] = []
    for user, client in ((world_a.handler, lead_client), (second, second_client)):
        handler_private = handler_private_of(client)
        case_key = case_key_for_office(
            case=submission.case, user=user, handler_private=handler_private
        )
        assert case_answers(case=submission.case, case_key=case_key) == {"what": SENTINEL}
        office_private = services.office_private_key(
            office=world_a.office, user=user, handler_private=handler_private
        )
        secrets_to_hide += [handler_private, case_key, office_private]
    secrets_to_hide.append(receipt.secret)

    dump = pg_dump()
    assert b"whistle/office-grant/v1" not in dump  # sanity: contexts are not stored either
    assert str(submission.case.public_id).encode() in dump  # sanity: the dump has the case
    haystacks = {"pg_dump": dump, "file store": file_store()}
    for where, data in haystacks.items():
        assert SENTINEL.encode() not in data, where
        for text in (
            receipt.formatted,
            receipt.formatted.replace("-", ""),
            recovery,
            recovery.replace("-", ""),
        ):
            assert text.encode() not in data, where
            assert text.lower().encode() not in data, where
        for secret in secrets_to_hide:
            for encoded in encodings(secret):
                assert encoded not in data, where
