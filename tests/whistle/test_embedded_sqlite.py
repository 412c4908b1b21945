"""The embedded default runs on SQLite: the conversation's hand-written statements (the live
load and the read marker, chat/services.py) and the orphan purge must work there too. Run in a subprocess with the
quickstart settings against a fresh SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = r"""
import secrets
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
settings.WHISTLE_KDF_PARAMS = "test"
assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
from chat.services import message_live, message_post, messages_for
from intake.services import case_submit, questionnaire_current
from whistle.accounts.models import User
from whistle.keys.services import handler_key_unlock, office_keys_setup
from whistle.tenants.models import Membership
from whistle.tenants.services import membership_add, office_create, tenant_create
tenant = tenant_create(slug="embedded", name="Embedded", published=True)
office = office_create(owner=tenant, name="Office")
lead = User.objects.create_user("lead@embedded.example", "pw pw pw pw 12345", name="Lead")
membership_add(office=office, user=lead, role=Membership.Role.LEAD)
office_keys_setup(
    office=office, actor=lead,
    actor_private=handler_key_unlock(user=lead, password="pw pw pw pw 12345"),
)
answers = {"what": "x " * 10, "when_period": "March", "where": "here", "who": "someone",
           "how_known": "documents", "harmed": ["public"], "ongoing": "yes",
           "reported_elsewhere": "no", "truthful": True}
key = secrets.token_bytes(32)
case = case_submit(tenant=tenant, office=office, answers=answers,
                   questionnaire=questionnaire_current(tenant), case_key=key).case
message = message_post(case=case, case_key=key, side="reporter", body="hello", announce=False)
view, read_sides = message_live(case=case, case_key=key, public_id=str(message.public_id),
                                viewer_side="office")
assert view.body == "hello" and read_sides == {"reporter"}, (view.body, read_sides)
again = message_live(case=case, case_key=key, public_id=str(message.public_id),
                     viewer_side="office")
assert again is not None and again[1] == set()
assert [v.body for v in messages_for(case=case, case_key=key, viewer_side="reporter")] == ["hello"]
# The path a socket takes when the event says who wrote it: load and mark read in one statement.
answer = message_post(case=case, case_key=key, side="office", body="answer", announce=False)
shown = message_live(case=case, case_key=key, public_id=str(answer.public_id),
                     viewer_side="reporter", writer_side="office")
assert shown is not None and shown[0].body == "answer" and shown[1] == {"office"}, shown
again = message_live(case=case, case_key=key, public_id=str(answer.public_id),
                     viewer_side="reporter", writer_side="office")
assert again is not None and again[0].body == "answer" and again[1] == set()
# The read markers the sockets of a process write in batches (chat.live.ReadMarks).
from chat.services import messages_mark_read
third = message_post(case=case, case_key=key, side="office", body="third", announce=False)
assert messages_mark_read(pks=[third.pk, answer.pk]) == {third.pk}
assert messages_mark_read(pks=[third.pk]) == set()
# A socket's messages, stored in batches (chat.live.Posts): one multi-row INSERT … RETURNING.
from chat.models import Message
from chat.services import message_new, messages_store
batch = [message_new(case=case, case_key=key, side="reporter", body=f"batch {i}") for i in range(3)]
assert messages_store(messages=batch) == [None, None, None]
stored = {m.pk: m.public_id for m in Message.objects.filter(pk__in=[m.pk for m in batch])}
assert stored == {m.pk: m.public_id for m in batch}, stored
# The orphan purge (casework.retention): a locked selection of stale pending rows, the
# migration's time, rows looked up by storage name.
import datetime
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from casework.retention import draft_file_age, orphan_file_age, purge_orphan_files
from intake.models import PendingUpload
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
MigrationRecorder(connection).migration_qs.filter(app="intake", name="0004_pending_upload").update(
    applied=timezone.now() - datetime.timedelta(days=30))  # not a file of before the upgrade
held = default_storage.save("files/aa/held", ContentFile(b"x"))
PendingUpload.objects.create(tenant=tenant, storage_name=held)
lost = default_storage.save("files/aa/lost", ContentFile(b"x"))
minute = datetime.timedelta(minutes=1)
report = purge_orphan_files(now=timezone.now() + orphan_file_age() + minute)
assert (report.stale_drafts, report.orphans) == (0, 1), report
assert default_storage.exists(held) and not default_storage.exists(lost)
report = purge_orphan_files(now=timezone.now() + draft_file_age() + minute)
assert (report.stale_drafts, report.orphans) == (1, 0), report
assert not default_storage.exists(held) and not PendingUpload.objects.exists()
print("ok")
"""


def test_conversation_statements_run_on_sqlite(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        WHISTLE_MODE="quickstart",
        DJANGO_SETTINGS_MODULE="whistle.settings",
        WHISTLE_VAR_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
