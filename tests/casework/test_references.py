"""Case references (issue 15 point 2): ``ALP-2026-0001``, unique within the tenant, allocated in
the submitting transaction without races, shown in the inbox, on the case page, in the PDF
export and (only if the tenant allows it) in reminder mails; URLs keep the public id."""

from __future__ import annotations

import datetime
import importlib
import secrets
import threading
import zoneinfo
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from casework.tasks import queue_deadline_reminders
from intake import services as intake_services
from intake.models import Case, CaseReferenceCounter
from intake.references import reference_allocate
from tests.casework.helpers import case_url, filed_case
from tests.casework.test_export import download, export_url, pdf_text
from tests.fixtures import World, staff_client
from tests.intake.journey import reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def year() -> int:
    return timezone.localdate().year


@pytest.mark.django_db
def test_web_and_handler_recorded_reports_get_consecutive_references_per_tenant(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    lead, _first, _receipt = filed_case(a)
    submit_report(reporter(), a)
    recorded = lead.post(
        f"/staff/offices/{a.office.public_id}/record/",
        {
            "tenant": str(a.tenant.public_id),
            "channel": "phone",
            "category": "other",
            "what": "Caller reports a broken safety valve.",
        },
    )
    assert recorded.status_code == 200
    y = year()
    assert list(
        Case.objects.filter(tenant=a.tenant).order_by("id").values_list("reference", flat=True)
    ) == [f"ALP-{y}-0001", f"ALP-{y}-0002", f"ALP-{y}-0003"]
    # Another tenant counts on its own.
    _lead_b, other, _receipt_b = filed_case(b)
    assert other.reference == f"BET-{y}-0001"
    assert CaseReferenceCounter.objects.get(tenant=a.tenant, year=y).last == 3


@pytest.mark.django_db
def test_a_tenant_prefix_replaces_the_one_derived_from_the_short_name(world_a: World) -> None:
    world_a.tenant.reference_prefix = "MUS"
    world_a.tenant.save(update_fields=["reference_prefix"])
    _lead, case, _receipt = filed_case(world_a)
    assert case.reference == f"MUS-{year()}-0001"


@pytest.mark.django_db
def test_the_counter_starts_again_each_year(world_a: World) -> None:
    with transaction.atomic():
        assert (
            reference_allocate(tenant=world_a.tenant, received_on=datetime.date(2025, 12, 31))
            == "ALP-2025-0001"
        )
        assert (
            reference_allocate(tenant=world_a.tenant, received_on=datetime.date(2026, 1, 1))
            == "ALP-2026-0001"
        )
        assert (
            reference_allocate(tenant=world_a.tenant, received_on=datetime.date(2026, 5, 1))
            == "ALP-2026-0002"
        )


@pytest.mark.django_db(transaction=True)
def test_allocation_outside_the_case_transaction_is_refused(world_a: World) -> None:
    with pytest.raises(RuntimeError):
        reference_allocate(tenant=world_a.tenant, received_on=datetime.date(2026, 5, 1))


@pytest.mark.django_db
def test_the_database_refuses_a_reference_twice_in_one_tenant(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds

    def row(world: World) -> Case:
        return Case.objects.create(
            tenant=world.tenant,
            office=world.office,
            receipt_lookup=secrets.token_hex(5),
            received_on=timezone.localdate(),
            reference="ALP-2026-0001",
        )

    row(a)
    row(b)  # another tenant may have the same text
    with pytest.raises(IntegrityError), transaction.atomic():
        row(a)


def _submit(world: World) -> Case:
    return intake_services.case_submit(
        tenant=world.tenant, office=world.office, answers={"what": "x"}, category="other"
    ).case


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_get_distinct_consecutive_references(world_a: World) -> None:
    setup_keys(world_a)
    threads = 6
    start = threading.Barrier(threads, timeout=30)
    references: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            references.append(_submit(world_a).reference)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []
    y = year()
    assert sorted(references) == [f"ALP-{y}-{n:04d}" for n in range(1, threads + 1)]


@pytest.mark.django_db(transaction=True)
def test_a_second_submit_waits_for_the_first_and_a_rollback_gives_the_number_back(
    world_a: World,
) -> None:
    """The counter row stays locked until the submitting transaction ends."""
    day = datetime.date(2026, 3, 1)
    allocated = threading.Event()
    release = threading.Event()
    second: list[str] = []
    errors: list[BaseException] = []

    class Rollback(Exception):
        pass

    def first() -> None:
        try:
            with transaction.atomic():
                reference_allocate(tenant=world_a.tenant, received_on=day)
                allocated.set()
                assert release.wait(timeout=30)
                raise Rollback
        except Rollback:
            pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def other() -> None:
        try:
            with transaction.atomic():
                second.append(reference_allocate(tenant=world_a.tenant, received_on=day))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert allocated.wait(timeout=30)
    two = threading.Thread(target=other)
    two.start()
    # The second allocation waits on the counter row: wait until PostgreSQL shows it blocked.
    with connection.cursor() as cursor:
        for _ in range(300):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            row = cursor.fetchone()
            if row and row[0] >= 1:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second allocation never waited for the first")
    assert second == []
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)
    assert errors == []
    assert second == ["ALP-2026-0001"]  # the rolled back number was given back


@pytest.mark.django_db
def test_the_migration_backfills_existing_cases_in_order_of_receipt(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    migration = importlib.import_module("intake.migrations.0005_desk1_case_reference")

    def old(world: World, received_on: datetime.date) -> Case:
        return Case.objects.create(
            tenant=world.tenant,
            office=world.office,
            receipt_lookup=secrets.token_hex(5),
            received_on=received_on,
        )

    late = old(a, datetime.date(2025, 6, 2))
    early = old(a, datetime.date(2025, 6, 1))
    next_year = old(a, datetime.date(2026, 1, 5))
    theirs = old(b, datetime.date(2025, 6, 3))
    migration.backfill(django_apps, None)
    for case in (late, early, next_year, theirs):
        case.refresh_from_db()
    assert (early.reference, late.reference) == ("ALP-2025-0001", "ALP-2025-0002")
    assert next_year.reference == "ALP-2026-0001"
    assert theirs.reference == "BET-2025-0001"
    assert early.language == "de"
    # New cases continue after the backfilled ones.
    with transaction.atomic():
        assert (
            reference_allocate(tenant=a.tenant, received_on=datetime.date(2025, 7, 1))
            == "ALP-2025-0003"
        )


@pytest.mark.django_db
def test_the_reference_is_shown_in_the_inbox_the_case_page_and_the_pdf(world_a: World) -> None:
    lead, case, _receipt = filed_case(world_a)
    inbox = lead.get(f"/staff/offices/{world_a.office.public_id}/").content.decode()
    assert case.reference in inbox
    # A display label, not a key: the link to the case keeps the public id.
    assert case_url(world_a, case) in inbox
    assert f"/{case.reference}/" not in inbox
    page = lead.get(case_url(world_a, case)).content.decode()
    assert case.reference in page
    response = lead.post(export_url(world_a, case), {"redactions": "", "format": "pdf"})
    assert response.status_code == 200
    text = pdf_text(download(response))
    assert case.reference in text
    assert str(case.public_id) not in text
    assert case.reference in response["Content-Disposition"]


@pytest.mark.django_db
@pytest.mark.parametrize("allowed", [False, True])
def test_reminder_mails_carry_the_reference_only_if_the_tenant_allows_it(
    world_a: World, django_capture_on_commit_callbacks: Any, allowed: bool
) -> None:
    world_a.tenant.references_in_mail = allowed
    world_a.tenant.save(update_fields=["references_in_mail"])
    start = datetime.datetime(2026, 6, 1, 12, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False) as clock:
        _lead, case, _receipt = filed_case(world_a)
        mail.outbox.clear()
        clock.move_to(start + datetime.timedelta(days=5))
        with django_capture_on_commit_callbacks(execute=True):
            assert len(queue_deadline_reminders()) == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (case.reference in sent.body) is allowed
    assert case.reference not in sent.subject
    assert str(case.public_id) not in sent.body


@pytest.mark.django_db
def test_another_tenants_handler_cannot_see_the_reference(worlds: tuple[World, World]) -> None:
    a, b = worlds
    _lead, case, _receipt = filed_case(a)
    other = staff_client(b.handler)
    assert other.get(case_url(a, case)).status_code == 404
    inbox = other.get(f"/staff/offices/{b.office.public_id}/").content.decode()
    assert case.reference not in inbox
