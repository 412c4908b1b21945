"""Off-boarding (issue 13, point 10; MT-2): the export opens with the office recovery key, and
after the deletion nothing of the tenant is left in the database or the file storage but its
deletion record."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client

from casework.audit import audit_check
from casework.models import AuditEvent
from console.models import TenantDeletionRecord, TenantExport
from console.offboarding import OffboardingError, deletion_blockers, tenant_delete
from intake.models import Attachment, Case
from tests.casework.helpers import case_url
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry
from whistle.tenants.models import Tenant

ROOT = Path(__file__).resolve().parents[2]
FILE_BYTES = b"SENTINEL-file-content-offboarding-2961\n" * 40
NOTE = "SENTINEL-note-offboarding-5309"
MESSAGE = "SENTINEL-message-offboarding-8841"


def operator_client() -> Client:
    operator = make_staff("ops@operator.example")
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    return staff_client(operator)


def delete_url(world: World) -> str:
    return f"/staff/operator/tenants/{world.tenant.public_id}/delete/"


def export_url(world: World) -> str:
    return f"/staff/tenants/{world.tenant.public_id}/export/"


def case_with_everything(world: World) -> tuple[Case, str]:
    """Office keys, a report with a file, a note, a reporter message; returns the case and the
    office recovery key."""
    lead, recovery = setup_keys(world)
    files = {"evidence": [SimpleUploadedFile("beweis.txt", FILE_BYTES, "text/plain")]}
    receipt, _page = submit_report(reporter(), world, files=files)
    case = Case.objects.get(tenant=world.tenant)
    response = lead.post(case_url(world, case, "do/note/"), {"body": NOTE})
    assert response.status_code == 302
    client = reporter()
    open_mailbox(client, world, receipt)
    client.post(f"/t/{world.tenant.slug}/mailbox/message/", {"body": MESSAGE})
    return case, recovery


def open_archive(archive: Path, output: Path, keys: str) -> subprocess.CompletedProcess[str]:
    """The documented command, run as a tenant would: no Django, no database."""
    return subprocess.run(
        [sys.executable, "-m", "console.archive", "open", str(archive), str(output)],
        input=keys,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def rows_mentioning(needles: list[str]) -> dict[str, int]:
    """{table: rows} of every table whose rows' text contains one of ``needles``, read as the
    table owner (row-level security would hide another principal's rows)."""
    from tests.fixtures import as_table_owner

    found: dict[str, int] = {}
    with as_table_owner(), connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT t::text FROM {quoted} AS t")  # noqa: S608 (names from the schema)
            hits = sum(1 for (text,) in cursor.fetchall() if any(n in text for n in needles))
            if hits:
                found[table] = hits
    return found


@pytest.mark.django_db
def test_the_export_opens_with_the_recovery_key_and_the_deletion_leaves_only_its_record(
    worlds: tuple[World, World], tmp_path: Path, sensitive: SensitiveRegistry
) -> None:
    a, b = worlds
    sensitive.add(NOTE, MESSAGE, FILE_BYTES.decode().strip())
    case, recovery = case_with_everything(a)
    other_case, _other_recovery = case_with_everything(b)
    attachment = Attachment.objects.get(case=case)
    stored = Path(settings.MEDIA_ROOT) / attachment.storage_name
    assert stored.exists()

    # The tenant admin downloads the export.
    response = staff_client(a.admin).post(export_url(a))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    archive = tmp_path / "export.zip"
    archive.write_bytes(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    with zipfile.ZipFile(archive) as bundle:
        for name in bundle.namelist():  # ciphertexts only: no content in clear
            content = bundle.read(name)
            for secret in (NOTE, MESSAGE, "SENTINEL-what-happened-3141"):
                assert secret.encode() not in content, name
            assert FILE_BYTES[:30] not in content, name
        names = set(bundle.namelist())
    assert {"manifest.json", "settings.json", "audit/events.json", "audit/head.json"} <= names
    assert "questionnaires/v1.json" in names
    assert f"cases/{other_case.public_id}/case.json" not in names  # only the tenant's own
    assert TenantExport.objects.filter(tenant=a.tenant, cases=1, files=1).exists()
    assert AuditEvent.objects.filter(tenant=a.tenant, verb="tenant.exported").exists()

    # It opens with the office recovery key, outside Whistle.
    opened = open_archive(archive, tmp_path / "opened", recovery + "\n")
    assert opened.returncode == 0, opened.stderr
    folder = tmp_path / "opened" / "cases" / str(case.public_id)
    records = json.loads((folder / "records.json").read_text(encoding="utf-8"))
    text = json.dumps(records, ensure_ascii=False)
    assert "SENTINEL-what-happened-3141" in text
    assert NOTE in text and MESSAGE in text
    assert "beweis.txt" in text  # the file's description
    assert (folder / "files" / str(attachment.public_id)).read_bytes() == FILE_BYTES
    head = json.loads((tmp_path / "opened" / "audit" / "head.json").read_text())
    assert head["problems"] == [] and head["heads"][0]["sequence"] == head["events"]

    # The operator deletes the tenant: refused while it is enabled, then with a wrong name.
    operator = operator_client()
    page = operator.get(delete_url(a))
    assert page.status_code == 200 and "Sperren Sie den Mandanten zuerst" in page.content.decode()
    Tenant.objects.filter(pk=a.tenant.pk).update(enabled=False)
    wrong = operator.post(delete_url(a), {"confirm": "not-the-name"})
    assert wrong.status_code == 400 and Case.objects.filter(pk=case.pk).exists()
    done = operator.post(delete_url(a), {"confirm": a.tenant.slug})
    assert done.status_code == 200, done.content.decode()[:2000]

    record = TenantDeletionRecord.objects.get(tenant_public_id=a.tenant.public_id)
    assert record.finished and record.counts["cases"] == 1 and record.counts["files"] == 1
    assert record.exported_at is not None
    needles = [
        str(a.tenant.public_id),
        str(a.office.public_id),
        str(case.public_id),
        str(attachment.public_id),
        str(a.handler.public_id),
        str(a.admin.public_id),
        "@alpha.example",
        case.receipt_lookup,
        "Alphastadt",
    ]
    assert rows_mentioning(needles) == {TenantDeletionRecord._meta.db_table: 1}
    assert not stored.exists()
    everything = b"".join(
        p.read_bytes() for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()
    )
    assert FILE_BYTES[:30] not in everything

    # The other tenant is untouched, its chain intact.
    assert Case.objects.filter(pk=other_case.pk, key_for_office__isnull=False).exists()
    assert audit_check(tenant=Tenant.objects.get(pk=b.tenant.pk)).problems == ()
    assert staff_client(b.handler).get(case_url(b, other_case)).status_code == 200


@pytest.mark.django_db
def test_the_archive_refuses_a_wrong_or_mistyped_recovery_key(
    world_a: World, world_b: World, tmp_path: Path
) -> None:
    _case, _recovery = case_with_everything(world_a)
    _lead, other_recovery = setup_keys(world_b)
    archive = tmp_path / "export.zip"
    with archive.open("wb") as destination:
        from console.offboarding import tenant_export

        tenant_export(tenant=world_a.tenant, destination=destination)
    wrong = open_archive(archive, tmp_path / "wrong", other_recovery + "\n")
    assert wrong.returncode == 1
    assert "No recovery key given opens these offices" in wrong.stderr
    assert not (tmp_path / "wrong" / "cases").exists()
    typo = other_recovery[:-1] + ("A" if other_recovery[-1] != "A" else "B")
    mistyped = open_archive(archive, tmp_path / "typo", typo + "\n")
    assert mistyped.returncode == 2 and "typing error" in mistyped.stderr
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"hello")
    assert open_archive(not_zip, tmp_path / "x", other_recovery + "\n").returncode == 2


@pytest.mark.django_db
def test_a_tenant_whose_office_serves_others_cannot_be_deleted(worlds: tuple[World, World]) -> None:
    a, b = worlds
    a.office.tenants.add(b.tenant)  # a's office also serves b (a district office)
    Tenant.objects.filter(pk=a.tenant.pk).update(enabled=False)
    a.tenant.refresh_from_db()
    blockers = deletion_blockers(a.tenant)
    assert len(blockers) == 1 and a.office.name in blockers[0]
    with pytest.raises(OffboardingError):
        tenant_delete(tenant=a.tenant, actor=None)
    assert Tenant.objects.filter(pk=a.tenant.pk).exists()
    # b is served by a's office but owns nothing of it: b can go.
    Tenant.objects.filter(pk=b.tenant.pk).update(enabled=False)
    b.tenant.refresh_from_db()
    a.office.tenants.remove(b.tenant)
    b.office.tenants.add(a.tenant)
    assert deletion_blockers(b.tenant)  # now b's office serves a
    b.office.tenants.remove(a.tenant)
    record = tenant_delete(tenant=b.tenant, actor=None)
    assert record.finished and not Tenant.objects.filter(pk=b.tenant.pk).exists()
    assert Tenant.objects.filter(pk=a.tenant.pk).exists()


@pytest.mark.django_db
def test_only_the_operator_deletes_and_only_the_tenant_admin_exports(
    worlds: tuple[World, World],
) -> None:
    a, _b = worlds
    operator = operator_client()
    assert operator.get(export_url(a)).status_code == 404
    assert operator.post(export_url(a)).status_code == 404
    for user in (a.admin, a.handler):
        client = staff_client(user)
        assert client.get(delete_url(a)).status_code == 404
        assert client.post(delete_url(a), {"confirm": a.tenant.slug}).status_code == 404
    assert Tenant.objects.filter(pk=a.tenant.pk).exists()


@pytest.mark.django_db
def test_the_commands_export_and_delete_with_json_output(
    world_a: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_with_everything(world_a)
    out = tmp_path / "alpha.zip"
    call_command("tenant_export", world_a.tenant.slug, "--out", str(out), "--json")
    exported = json.loads(capsys.readouterr().out)
    assert exported["cases"] == 1 and exported["files"] == 1 and out.exists()
    with pytest.raises(Exception, match="Suspend the tenant first"):
        call_command("tenant_delete", world_a.tenant.slug, "--confirm", world_a.tenant.slug)
    Tenant.objects.filter(pk=world_a.tenant.pk).update(enabled=False)
    call_command("tenant_delete", world_a.tenant.slug, "--confirm", world_a.tenant.slug, "--json")
    deleted = json.loads(capsys.readouterr().out)
    assert deleted["slug"] == world_a.tenant.slug and deleted["counts"]["cases"] == 1
    assert not Tenant.objects.filter(slug=world_a.tenant.slug).exists()


def test_the_archive_opener_needs_neither_django_nor_a_database() -> None:
    check = (
        "import sys, console.archive; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'psycopg', "
        "'whistle', 'intake', 'casework', 'chat'}); print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
