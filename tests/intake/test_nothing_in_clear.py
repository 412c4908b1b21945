"""With sentinels in answers, contact details and a file: the database dump, the file store,
Redis and every captured log line contain none of them, and not the receipt."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.fixtures import World
from tests.intake.journey import ANSWERS, open_mailbox, reporter, submit_report
from tests.keys.test_database_dump import file_store, pg_dump
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry

ANSWER = "SENTINEL-answer-embezzlement-4242"
CONTACT = "SENTINEL-contact-jane-doe-5353"
FILE = "SENTINEL-file-ledger-6464"
MESSAGE = "SENTINEL-message-more-7575"


def redis_dump() -> bytes:
    client = redis.Redis.from_url(settings.REDIS_URL)
    data = []
    for key in client.scan_iter(count=1000):
        data.append(key)
        dumped = client.dump(key)
        if dumped:
            data.append(dumped)
    return b"\n".join(data)


@pytest.mark.django_db(transaction=True)
def test_nothing_readable_anywhere(world_a: World, sensitive: SensitiveRegistry) -> None:
    sensitive.add(ANSWER, CONTACT, FILE, MESSAGE)
    setup_keys(world_a)
    answers = {**ANSWERS, "what": {**ANSWERS["what"], "what": ANSWER}}
    files = {"evidence": [SimpleUploadedFile("ledger.txt", FILE.encode() * 100, "text/plain")]}
    receipt, _page = submit_report(
        reporter(),
        world_a,
        answers=answers,
        contact={"email": f"{CONTACT}@example.org"},
        files=files,
    )
    sensitive.add(receipt, receipt.replace("-", ""))
    client = reporter()
    page = open_mailbox(client, world_a, receipt)
    assert ANSWER in page  # sanity: it is really there, for those with the key
    client.post(f"/t/{world_a.tenant.slug}/mailbox/message/", {"body": MESSAGE})

    places = {"pg_dump": pg_dump(), "file store": file_store(), "redis": redis_dump()}
    for where, data in places.items():
        for secret in (ANSWER, CONTACT, FILE, MESSAGE, receipt, receipt.replace("-", "")):
            assert secret.encode() not in data, (where, secret[:12])
            assert secret.lower().encode() not in data, (where, secret[:12])
