"""Deadlines in the tenant's calendar, and reminders sent exactly once (time controlled)."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import mail

from casework.models import ReminderSent
from casework.tasks import queue_deadline_reminders
from intake.models import Case
from tests.casework.helpers import filed_case
from tests.fixtures import World, make_staff
from tests.intake.journey import reporter, submit_report
from whistle.tenants.services import membership_add

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Callable[[], list[int]]:
    """Run the beat job and the mails it queues after commit, as a worker would."""

    def go() -> list[int]:
        with django_capture_on_commit_callbacks(execute=True):
            return queue_deadline_reminders()

    return go


def at(day: str, hour: int = 12, tz: zoneinfo.ZoneInfo = BERLIN) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=tz)


@pytest.mark.django_db
def test_deadline_rules() -> None:
    case = Case(received_on=datetime.date(2026, 1, 31))
    assert case.acknowledge_due == datetime.date(2026, 2, 7)
    # No acknowledgement: 3 months and 7 days after receipt (calendar months).
    assert case.feedback_due == datetime.date(2026, 5, 7)
    case.acknowledged_on = datetime.date(2026, 2, 2)
    assert case.feedback_due == datetime.date(2026, 5, 2)
    case.acknowledged_on = datetime.date(2025, 11, 30)
    assert case.feedback_due == datetime.date(2026, 2, 28)  # month end clamps
    case.feedback_extended_until = datetime.date(2026, 5, 30)
    assert case.feedback_due == datetime.date(2026, 5, 30)


@pytest.mark.django_db
def test_receipt_date_is_the_tenants_calendar_day_across_dst(world_a: World) -> None:
    # 00:30 in Berlin on the night summer time starts is still 22:30 UTC the day before.
    with time_machine.travel(
        datetime.datetime(2026, 3, 28, 23, 30, tzinfo=datetime.UTC), tick=False
    ):
        _lead, case, _receipt = filed_case(world_a)
    assert case.received_on == datetime.date(2026, 3, 29)
    assert case.acknowledge_due == datetime.date(2026, 4, 5)
    world_a.tenant.time_zone = "America/New_York"
    world_a.tenant.save()
    with time_machine.travel(
        datetime.datetime(2026, 3, 28, 23, 30, tzinfo=datetime.UTC), tick=False
    ):
        submit_report(reporter(), world_a)
    other = Case.objects.order_by("-id").first()
    assert other is not None
    assert other.received_on == datetime.date(2026, 3, 28)


@pytest.mark.django_db
def test_reminders_before_on_the_day_and_daily_when_overdue_each_once(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    with time_machine.travel(at("2026-06-01"), tick=False) as clock:
        _lead, case, _receipt = filed_case(world_a)
        assignee = make_staff("assignee@alpha.example")
        deputy = make_staff("deputy@alpha.example")
        membership_add(office=world_a.office, user=assignee)
        membership_add(office=world_a.office, user=deputy)
        case.assignee, case.deputy = assignee, deputy
        case.save()
        mail.outbox.clear()
        assert run() == []  # nothing due yet
        clock.move_to(at("2026-06-06"))  # two days before the 7-day deadline (8 June)
        assert len(run()) == 1
        assert len(run()) == 0  # a second run on the same day sends nothing
        assert [m.to for m in mail.outbox] == [[assignee.email]]
        clock.move_to(at("2026-06-08"))
        run()
        clock.move_to(at("2026-06-09"))
        before = len(mail.outbox)
        run()
        run()
        # Escalation: an overdue reminder goes to the assignee and the office lead.
        assert {a for m in mail.outbox[before:] for a in m.to} == {
            assignee.email,
            world_a.handler.email,
        }
        clock.move_to(at("2026-06-10"))
        run()
        stages = list(ReminderSent.objects.order_by("on_date").values_list("stage", "on_date"))
        assert stages == [
            ("before", datetime.date(2026, 6, 6)),
            ("due", datetime.date(2026, 6, 8)),
            ("overdue", datetime.date(2026, 6, 9)),
            ("overdue", datetime.date(2026, 6, 10)),
        ]
        for message in mail.outbox:
            assert "SENTINEL" not in message.body and str(case.public_id) not in message.body


@pytest.mark.django_db
def test_deputy_gets_reminders_while_the_assignee_is_away(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    from whistle.tenants.models import Membership

    with time_machine.travel(at("2026-06-01"), tick=False) as clock:
        _lead, case, _receipt = filed_case(world_a)
        assignee = make_staff("assignee@alpha.example")
        deputy = make_staff("deputy@alpha.example")
        membership_add(office=world_a.office, user=assignee)
        membership_add(office=world_a.office, user=deputy)
        Membership.objects.filter(user=assignee).update(away=True)
        case.assignee, case.deputy = assignee, deputy
        case.save()
        mail.outbox.clear()
        clock.move_to(at("2026-06-08"))
        run()
        recipients = {address for m in mail.outbox for address in m.to}
        assert recipients == {assignee.email, deputy.email}


@pytest.mark.django_db
def test_no_reminders_once_acknowledged_and_feedback_given(
    world_a: World, run: Callable[[], list[int]]
) -> None:
    with time_machine.travel(at("2026-06-01"), tick=False) as clock:
        _lead, case, _receipt = filed_case(world_a)
        case.acknowledged_on = datetime.date(2026, 6, 2)
        case.feedback_given_on = datetime.date(2026, 6, 3)
        case.save()
        clock.move_to(at("2026-06-08"))
        assert run() == []
