"""Data for tests/deploy/test_local_stack.py, written by Django set up against the stack's own
database (run as ``python tests/deploy/stack_data.py COMMAND`` with the stack's environment);
prints one JSON object.

- ``make-data``: a tenant, its office and the office lead (password, TOTP device, the office
  keys), as an administrator would set them up.
- ``cases``: the cases (public id, status, acknowledgement date).
- ``overdue CASE``: moves the case's dates back so that its feedback is overdue today.
- ``reminders CASE``: the case's reminder rows (stage, whether the mail was sent).
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))

SLUG = "stack"
LEAD_EMAIL = "lead@stack.example"
PASSWORD = "stack lead password 4711"  # a throwaway account of the test


def make_data() -> dict[str, str]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from whistle.accounts.models import User
    from whistle.keys.services import handler_key_unlock, office_keys_setup
    from whistle.tenants.models import Membership
    from whistle.tenants.services import membership_add, office_create, tenant_create

    tenant = tenant_create(slug=SLUG, name="Stackstadt", published=True)
    office = office_create(owner=tenant, name="Meldestelle Stackstadt")
    lead = User.objects.create_user(LEAD_EMAIL, PASSWORD, name="Lea Lead")
    device = TOTPDevice.objects.create(user=lead, name="app", confirmed=True)
    membership_add(office=office, user=lead, role=Membership.Role.LEAD)
    private = handler_key_unlock(user=lead, password=PASSWORD)
    office_keys_setup(office=office, actor=lead, actor_private=private)
    return {
        "slug": SLUG,
        "office": str(office.public_id),
        "email": LEAD_EMAIL,
        "password": PASSWORD,
        "totp_key": device.key,
    }


def cases() -> dict[str, list[dict[str, str | None]]]:
    from intake.models import Case

    return {
        "cases": [
            {
                "id": str(case.public_id),
                "status": case.status,
                "acknowledged_on": (
                    case.acknowledged_on.isoformat() if case.acknowledged_on else None
                ),
            }
            for case in Case.objects.order_by("id")
        ]
    }


def overdue(case_id: str) -> dict[str, str]:
    from django.utils import timezone

    from intake.models import Case

    today = timezone.localdate()
    updated = Case.objects.filter(public_id=case_id).update(
        received_on=today - datetime.timedelta(days=200),
        acknowledged_on=today - datetime.timedelta(days=195),
    )
    assert updated == 1
    case = Case.objects.get(public_id=case_id)
    return {"feedback_due": case.feedback_due.isoformat()}


def reminders(case_id: str) -> dict[str, list[dict[str, str | bool]]]:
    from casework.models import ReminderSent

    rows = ReminderSent.objects.filter(case__public_id=case_id).order_by("id")
    return {
        "reminders": [
            {"deadline": r.deadline, "stage": r.stage, "sent": r.sent_at is not None} for r in rows
        ]
    }


if __name__ == "__main__":
    import django

    django.setup()
    command, *args = sys.argv[1:]
    commands: dict[str, Callable[..., object]] = {
        "make-data": make_data,
        "cases": cases,
        "overdue": overdue,
        "reminders": reminders,
    }
    result = commands[command](*args)
    sys.stdout.write(json.dumps(result) + "\n")
