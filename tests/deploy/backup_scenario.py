"""The two halves of the backup-restore test that run inside Whistle, each in a process of its
own against the test's own database and MEDIA_ROOT (``tests/deploy/test_backup_restore.py``):

    python -m tests.deploy.backup_scenario setup STATE_FILE
    python -m tests.deploy.backup_scenario verify STATE_FILE

``setup`` migrates the empty database, makes two tenants with offices, handlers and office
keys, files a report with a file through the reporter pages and posts a handler's message; it
writes the receipt (and where the attachment and a planted orphan file are stored) to
STATE_FILE, which only the test reads. ``verify`` checks, after the restore, that the receipt
opens the case with its answers, message and file, that the handler reads it after a password
login, and that the orphan purge keeps the restored files that have rows. Nothing sensitive is
printed: a failure names what failed, never the content.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.migrations.recorder import MigrationRecorder  # noqa: E402
from django.utils import timezone  # noqa: E402

from casework.retention import purge_orphan_files  # noqa: E402
from chat.models import Message  # noqa: E402
from chat.services import message_post, messages_for  # noqa: E402
from intake.attachments import attachment_open  # noqa: E402
from intake.models import Attachment, Case  # noqa: E402
from intake.services import case_answers, case_attachments, case_for_receipt, case_key_for_office  # noqa: E402
from tests.deploy.test_backup_restore import ANSWER, FILE, MESSAGE  # noqa: E402
from tests.fixtures import World, make_staff, staff_client  # noqa: E402
from tests.intake.journey import ANSWERS, open_mailbox, reporter, submit_report  # noqa: E402
from tests.keys.test_key_hierarchy import handler_private_of, setup_keys  # noqa: E402
from whistle.accounts.models import User  # noqa: E402
from whistle.tenants.models import Membership, Office, Tenant  # noqa: E402
from whistle.tenants.services import (  # noqa: E402
    membership_add,
    office_create,
    tenant_admin_add,
    tenant_create,
)

# A reversible migration that adds a column and constraints, unapplied before the backup.
OLDER_CASEWORK = ("0002_reminder_sent_at", "0003_flood_digest")


def make_world(slug: str, name: str) -> World:
    tenant = tenant_create(slug=slug, name=name, published=True)
    office = office_create(owner=tenant, name=f"Meldestelle {name}")
    handler = make_staff(f"handler@{slug}.example")
    membership_add(office=office, user=handler, role=Membership.Role.LEAD)
    admin = make_staff(f"admin@{slug}.example")
    tenant_admin_add(tenant=tenant, user=admin)
    return World(tenant=tenant, office=office, handler=handler, admin=admin)


def world_of(slug: str) -> World:
    tenant = Tenant.objects.get(slug=slug)
    return World(
        tenant=tenant,
        office=Office.objects.get(tenants=tenant),
        handler=User.objects.get(email=f"handler@{slug}.example"),
        admin=User.objects.get(email=f"admin@{slug}.example"),
    )


def setup(state: Path) -> None:
    call_command("migrate", verbosity=0)
    world = make_world("alpha", "Alphastadt")
    make_world("beta", "Betadorf")
    lead, _recovery = setup_keys(world)
    answers = {**ANSWERS, "what": {**ANSWERS["what"], "what": ANSWER}}
    upload = SimpleUploadedFile("invoice.txt", (FILE + "\n").encode() * 50, "text/plain")
    receipt, _page = submit_report(reporter(), world, answers=answers, files={"evidence": [upload]})
    case = Case.objects.get(tenant=world.tenant)
    key = case_key_for_office(
        case=case, user=world.handler, handler_private=handler_private_of(lead)
    )
    message_post(
        case=case, case_key=key, side=Message.Side.OFFICE, body=MESSAGE, author=world.handler
    )
    attachment = Attachment.objects.get(case=case)
    # A file no row holds (left by a killed process): the purge removes it after the restore.
    orphan = f"files/{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    orphan_path = Path(settings.MEDIA_ROOT) / orphan
    orphan_path.parent.mkdir(parents=True, exist_ok=True)
    orphan_path.write_bytes(secrets.token_bytes(256))
    # The backup is of an older version: the newest casework migration is not applied yet, and
    # the restore brings it (restore.sh runs migrate).
    call_command("migrate", "casework", OLDER_CASEWORK[0], verbosity=0)
    state.write_text(
        json.dumps({"receipt": receipt, "attachment": attachment.storage_name, "orphan": orphan}),
        encoding="utf-8",
    )


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"restore check failed: {what}")


def verify(state: Path) -> None:
    data = json.loads(state.read_text(encoding="utf-8"))
    applied = MigrationRecorder(connection).applied_migrations()
    check(("casework", OLDER_CASEWORK[1]) in applied, "restore.sh migrated the older schema")
    world = world_of("alpha")
    # The reporter: the same receipt (and RECEIPT_PEPPER) opens the case.
    found = case_for_receipt(tenant=world.tenant, receipt_text=data["receipt"])
    check(found is not None, "the receipt opens no case")
    assert found is not None
    case, key = found
    check(ANSWER in json.dumps(case_answers(case=case, case_key=key)), "answers")
    bodies = [v.body for v in messages_for(case=case, case_key=key, viewer_side="reporter")]
    check(MESSAGE in bodies, "the handler's message")
    files = case_attachments(case=case, case_key=key)
    check(len(files) == 1, "one attachment")
    content = b"".join(
        attachment_open(
            case_key=key,
            tenant_id=str(case.tenant.public_id),
            case_id=str(case.public_id),
            attachment_id=str(files[0].attachment.public_id),
            storage_name=files[0].attachment.storage_name,
        )
    )
    check(FILE.encode() in content, "the attachment decrypts")
    page = open_mailbox(reporter(), world, data["receipt"])
    check(ANSWER in page and MESSAGE in page, "the mailbox page")
    # The handler: a password (and second factor) login, then the case through the office key.
    client = staff_client(world.handler)
    office_key = case_key_for_office(
        case=case, user=world.handler, handler_private=handler_private_of(client)
    )
    check(office_key == key, "the handler's case key")
    response = client.get(f"/staff/offices/{world.office.public_id}/cases/{case.public_id}/")
    check(response.status_code == 200, "the handler's case page answers")
    html = response.content.decode()
    check(ANSWER in html and MESSAGE in html, "the handler's case page shows the case")
    # The orphan purge, run as if weeks had passed: the restored rows hold their files; the
    # file without a row goes.
    purge_orphan_files(now=timezone.now() + datetime.timedelta(days=40))
    media = Path(settings.MEDIA_ROOT)
    check((media / data["attachment"]).is_file(), "the purge kept the restored attachment")
    check(not (media / data["orphan"]).exists(), "the purge removed the file without a row")
    sys.stdout.write("restore verified\n")


if __name__ == "__main__":
    command, state_file = sys.argv[1], Path(sys.argv[2])
    {"setup": setup, "verify": verify}[command](state_file)
