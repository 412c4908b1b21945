"""New-report notices (issue 15 point 1): when a report arrives (any channel) the office's
members get a content-free e-mail at once, or in their daily digest if they chose so; exactly
once, ids only in task arguments, best effort with catch-up; reports suspected to be part of a
flood go only into the digest."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from casework import tasks
from casework.models import NewReportNotice
from intake import services as intake_services
from intake.models import Case
from tests.fixtures import World, make_staff, staff_client
from tests.intake.journey import ANSWERS, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry
from whistle.accounts.models import User
from whistle.tenants.models import Membership
from whistle.tenants.services import membership_add


def colleague(world: World, *, digest: bool = False) -> User:
    person = make_staff(f"colleague@{world.tenant.slug}.example")
    membership_add(office=world.office, user=person, role=Membership.Role.HANDLER, actor=None)
    if digest:
        person.new_report_notices = User.NewReportNotices.DIGEST
        person.save(update_fields=["new_report_notices"])
    return person


def inbox_link(world: World) -> str:
    return f"/staff/offices/{world.office.public_id}/"


def to(person: User) -> list[Any]:
    return [m for m in mail.outbox if m.to == [person.email]]


@pytest.mark.django_db
def test_every_member_is_told_at_once_exactly_once_without_content(
    world_a: World, django_capture_on_commit_callbacks: Any, sensitive: SensitiveRegistry
) -> None:
    setup_keys(world_a)
    other = colleague(world_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submit_report(reporter(), world_a)
    case = Case.objects.get(tenant=world_a.tenant)
    assert len(to(world_a.handler)) == 1 and len(to(other)) == 1
    sent = to(world_a.handler)[0]
    assert world_a.office.name in sent.body
    assert inbox_link(world_a) in sent.body
    # Nothing about the case: not its reference, topic, id or any answer.
    for leak in (case.reference, case.category, str(case.public_id)):
        assert leak not in sent.body and leak not in sent.subject
    for step in ANSWERS.values():
        for value in step.values():
            if isinstance(value, str) and len(value) > 5:
                assert value not in sent.body
    # Exactly once: the task again, and the catch-up later, send nothing more.
    assert tasks.send_new_report_notices(str(case.public_id)) == 0
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        assert tasks.catch_up_new_report_notices() == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_reference_only_if_the_tenant_allows_it(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    world_a.tenant.references_in_mail = True
    world_a.tenant.save(update_fields=["references_in_mail"])
    setup_keys(world_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submit_report(reporter(), world_a)
    case = Case.objects.get(tenant=world_a.tenant)
    (sent,) = to(world_a.handler)
    assert case.reference in sent.body


@pytest.mark.django_db
def test_a_handler_recorded_report_is_announced_too(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    lead, _recovery = setup_keys(world_a)
    other = colleague(world_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(
            f"/staff/offices/{world_a.office.public_id}/record/",
            {
                "tenant": str(world_a.tenant.public_id),
                "channel": "phone",
                "category": "other",
                "what": "Caller reports a blocked emergency exit.",
            },
        )
    assert response.status_code == 200
    assert len(to(other)) == 1 and len(to(world_a.handler)) == 1


@pytest.mark.django_db
def test_the_task_gets_the_case_id_only(
    world_a: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_keys(world_a)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(
        tasks.send_new_report_notices, "delay", lambda *a, **k: calls.append((a, k))
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit_report(reporter(), world_a)
    case = Case.objects.get(tenant=world_a.tenant)
    assert calls == [((str(case.public_id),), {})]


@pytest.mark.django_db
def test_a_member_who_chose_the_digest_gets_one_mail_a_day(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    setup_keys(world_a)
    reader = colleague(world_a, digest=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submit_report(reporter(), world_a)
        submit_report(reporter(), world_a)
    assert to(reader) == []
    assert len(to(world_a.handler)) == 2  # the lead wants them at once
    assert tasks.send_new_report_digests() == 1
    (digest,) = to(reader)
    assert world_a.office.name in digest.body and "2 neue Meldungen" in digest.body  # site language
    assert inbox_link(world_a) in digest.body
    for case in Case.objects.all():
        assert case.reference not in digest.body
    assert tasks.send_new_report_digests() == 0  # exactly once
    assert len(to(reader)) == 1


@pytest.mark.django_db
def test_reports_suspected_to_be_a_flood_go_only_into_the_digest(
    world_a: World, django_capture_on_commit_callbacks: Any
) -> None:
    setup_keys(world_a)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        intake_services.case_submit(
            tenant=world_a.tenant,
            office=world_a.office,
            answers={"what": "x"},
            category="other",
            flood=Case.Flood.SUSPECTED,
        )
    assert mail.outbox == []
    assert NewReportNotice.objects.get().digest is True
    assert tasks.send_new_report_digests() == 1
    assert "eine neue Meldung" in to(world_a.handler)[0].body


@pytest.mark.django_db
def test_a_case_set_apart_before_the_mail_went_out_goes_into_the_digest(
    world_a: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_keys(world_a)
    monkeypatch.setattr(tasks.send_new_report_notices, "delay", lambda *a, **k: None)
    with django_capture_on_commit_callbacks(execute=True):
        submit_report(reporter(), world_a)
    Case.objects.update(flood=Case.Flood.SET_ASIDE)
    mail.outbox.clear()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        assert tasks.catch_up_new_report_notices() == 0
    assert mail.outbox == []
    assert tasks.send_new_report_digests() == 1


@pytest.mark.django_db
def test_when_queuing_or_the_mail_fails_the_catch_up_sends_it_once(
    world_a: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_keys(world_a)

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.send_new_report_notices, "delay", broker_down)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        receipt, _page = submit_report(reporter(), world_a)  # the report is filed regardless
    assert receipt and mail.outbox == []
    assert tasks.catch_up_new_report_notices() == 0  # not yet: the task may still be on its way
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=3)):
        assert tasks.catch_up_new_report_notices() == 1
        assert tasks.catch_up_new_report_notices() == 0
    assert len(to(world_a.handler)) == 1


@pytest.mark.django_db
def test_members_choose_on_their_account_page(world_a: World) -> None:
    client = staff_client(world_a.handler)
    page = client.get("/staff/account/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "When a new report arrives" in page
    response = client.post("/staff/account/", {"action": "notices", "new_report_notices": "x"})
    assert response.status_code == 200  # refused, with the form shown again
    world_a.handler.refresh_from_db()
    assert world_a.handler.new_report_notices == User.NewReportNotices.IMMEDIATE
    response = client.post("/staff/account/", {"action": "notices", "new_report_notices": "digest"})
    assert response.status_code == 302
    world_a.handler.refresh_from_db()
    assert world_a.handler.new_report_notices == User.NewReportNotices.DIGEST
