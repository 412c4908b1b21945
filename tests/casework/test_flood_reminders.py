"""A flood must not bury the handlers' mailboxes either (issue 12 point 3): reports set apart as
suspected flood get no reminders of their own; their office gets one content-free digest a day,
with the same once-only delivery as the reminders (casework.reminders)."""

from __future__ import annotations

import datetime
import secrets
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from casework.flood import cases_restore
from casework.models import CaseExclusion, ReminderSent
from casework.reminders import FLOOD_DIGEST
from casework.tasks import queue_deadline_reminders
from intake.models import Case
from tests.fixtures import World, make_staff
from whistle.tenants.models import Membership
from whistle.tenants.services import membership_add

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
RECEIVED = datetime.date(2026, 6, 1)  # acknowledgement due 8 June
DIGEST_SUBJECTS = {
    "Whistle: deadlines of reports set aside as suspected flood",
    "Whistle: Fristen zurückgestellter mutmaßlicher Massenmeldungen",
}


def at(day: str, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=BERLIN)


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[[], list[int]]:
    """The hourly beat job and the mails it queues after commit, as a worker would run them."""

    def go() -> list[int]:
        with django_capture_on_commit_callbacks(execute=True):
            return queue_deadline_reminders()

    return go


def add_cases(world: World, n: int, flood: str = Case.Flood.NONE) -> list[Case]:
    """Cases as intake files them (the reminders read dates and routing only, never the sealed
    key, so any bytes stand in for it)."""
    return Case.objects.bulk_create(
        Case(
            tenant=world.tenant,
            office=world.office,
            receipt_lookup=secrets.token_hex(6),
            received_on=RECEIVED,
            key_for_office=b"sealed",
            category="environment",
            flood=flood,
        )
        for _ in range(n)
    )


def digests(to: str | None = None) -> list[Any]:
    return [m for m in mail.outbox if m.subject in DIGEST_SUBJECTS and (to is None or to in m.to)]


def reminders_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if m.subject not in DIGEST_SUBJECTS and address in m.to]


def assert_content_free(message: Any, cases: list[Case]) -> None:
    for case in cases:
        for detail in (str(case.public_id), case.receipt_lookup):
            assert detail not in message.body and detail not in message.subject
    assert "environment" not in message.body
    assert RECEIVED.isoformat() not in message.body and "1.6.2026" not in message.body


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="en")
def test_fifty_flood_cases_make_one_digest_a_day_and_the_genuine_ones_keep_their_reminders(
    worlds: tuple[World, World], run: Callable[[], list[int]]
) -> None:
    world_a, world_b = worlds
    lead = world_a.handler.email
    with time_machine.travel(at("2026-06-10"), tick=False) as clock:
        genuine = add_cases(world_a, 2)
        flooded = add_cases(world_a, 50, Case.Flood.SUSPECTED)
        set_aside = add_cases(world_a, 1)
        Case.objects.filter(pk=set_aside[0].pk).update(flood=Case.Flood.SET_ASIDE)
        run()
        # Each genuine, overdue case: its reminder to the lead (nobody is assigned).
        assert len(reminders_to(lead)) == 2
        # The 51 set apart: one digest, not 51 e-mails.
        assert len(digests()) == 1
        (digest,) = digests(lead)
        assert digest.to == [lead]
        assert "51 reports set aside as suspected flood" in digest.body
        assert f"“{world_a.office.name}”" in digest.body
        assert f"/staff/offices/{world_a.office.public_id}/set-aside/" in digest.body
        assert_content_free(digest, [*genuine, *flooded, *set_aside])
        assert len(mail.outbox) == 3
        assert ReminderSent.objects.filter(case__in=[*flooded, *set_aside]).count() == 0

        # A second run the same day sends nothing.
        clock.shift(datetime.timedelta(hours=1))
        assert run() == []
        assert len(mail.outbox) == 3

        # The next day: the genuine cases' overdue reminders again, and one digest.
        clock.move_to(at("2026-06-11"))
        run()
        run()
        assert len(reminders_to(lead)) == 4
        assert len(digests(lead)) == 2
        digest_rows = ReminderSent.objects.filter(stage=FLOOD_DIGEST)
        assert list(digest_rows.values_list("office", "on_date")) == [
            (world_a.office.pk, datetime.date(2026, 6, 10)),
            (world_a.office.pk, datetime.date(2026, 6, 11)),
        ]
        assert all(row.sent_at is not None for row in digest_rows)

    # Another office's lead hears nothing of it.
    assert not [m for m in mail.outbox if world_b.handler.email in m.to]


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="en")
def test_a_restored_case_gets_its_reminders_again_from_the_next_run(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    lead = world_a.handler.email
    with time_machine.travel(at("2026-06-10"), tick=False):
        first, second = add_cases(world_a, 2, Case.Flood.SUSPECTED)
        run()
        assert reminders_to(lead) == []
        assert "2 reports set aside" in digests(lead)[0].body

        cases_restore(office=world_a.office, actor=world_a.handler, case_ids=[str(first.public_id)])
        run()  # the same day: the restored case's own reminder, no second digest
        assert len(reminders_to(lead)) == 1
        assert len(digests()) == 1
        assert ReminderSent.objects.filter(case=first).count() == 1
        assert ReminderSent.objects.filter(case=second).count() == 0


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="en")
def test_a_case_set_aside_after_its_reminder_was_recorded_is_left_to_the_digest(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    with time_machine.travel(at("2026-06-10"), tick=False) as clock:
        (case,) = add_cases(world_a, 1)
        with override_settings(
            EMAIL_BACKEND="tests.casework.test_reminder_delivery.DownSmtpBackend"
        ):
            run()  # recorded, the mail failed
        Case.objects.filter(pk=case.pk).update(flood=Case.Flood.SET_ASIDE)
        clock.shift(datetime.timedelta(hours=1))
        run()
        assert [m.subject for m in mail.outbox if m.subject not in DIGEST_SUBJECTS] == []
        assert ReminderSent.objects.get(case=case).sent_at is not None
        assert "One report set aside" in digests(world_a.handler.email)[0].body


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="en")
def test_the_digest_goes_to_active_leads_counting_only_cases_they_are_not_excluded_from(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    handler = make_staff("handler2@alpha.example")
    membership_add(office=world_a.office, user=handler)
    partly = make_staff("partly@alpha.example")
    membership_add(office=world_a.office, user=partly, role=Membership.Role.LEAD)
    wholly = make_staff("wholly@alpha.example")
    membership_add(office=world_a.office, user=wholly, role=Membership.Role.LEAD)
    gone = make_staff("gone@alpha.example")
    membership_add(office=world_a.office, user=gone, role=Membership.Role.LEAD)
    gone.is_active = False
    gone.save()
    with time_machine.travel(at("2026-06-10"), tick=False):
        cases = add_cases(world_a, 3, Case.Flood.SUSPECTED)
        CaseExclusion.objects.bulk_create(
            [
                CaseExclusion(case=cases[0], user=partly, kind="exclusion", created_on=RECEIVED),
                *(
                    CaseExclusion(case=case, user=wholly, kind="recusal", created_on=RECEIVED)
                    for case in cases
                ),
            ]
        )
        run()
    assert {address for m in digests() for address in m.to} == {
        world_a.handler.email,
        partly.email,
    }
    assert "3 reports set aside" in digests(world_a.handler.email)[0].body
    assert "2 reports set aside" in digests(partly.email)[0].body
    assert all(len(m.to) == 1 for m in mail.outbox)


@pytest.mark.django_db
def test_a_digest_whose_mail_failed_is_sent_by_the_next_run_and_only_once(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    from casework.tasks import send_reminder_mail

    with time_machine.travel(at("2026-06-10"), tick=False) as clock:
        add_cases(world_a, 5, Case.Flood.SUSPECTED)
        # The SMTP server (an edge we do not own) refuses during the first run.
        with override_settings(
            EMAIL_BACKEND="tests.casework.test_reminder_delivery.DownSmtpBackend"
        ):
            queued = run()
        (row,) = ReminderSent.objects.filter(pk__in=queued)
        assert row.stage == FLOOD_DIGEST and row.sent_at is None
        assert mail.outbox == []
        clock.shift(datetime.timedelta(hours=1))
        assert run() == queued
        assert len(digests()) == 1
        assert run() == []
        assert send_reminder_mail(row.pk) == 0  # a repeated task sends nothing
        assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "4 reports set aside as suspected flood in the office"),
        ("de", "Für 4 in der Meldestelle"),
    ],
)
def test_the_digest_in_english_and_german(
    world_a: World, run: Callable[[], list[int]], language: str, expected: str
) -> None:
    with override_settings(LANGUAGE_CODE=language), time_machine.travel(at("2026-06-10")):
        add_cases(world_a, 4, Case.Flood.SUSPECTED)
        run()
    (digest,) = mail.outbox
    assert digest.subject in DIGEST_SUBJECTS
    assert expected in digest.body
    assert ("Guten Tag" in digest.body) == (language == "de")
