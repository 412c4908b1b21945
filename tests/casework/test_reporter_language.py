"""The reporter's language (issue 15 point 7): the case stores it; the acknowledgement and
feedback texts offered to the handler are in it, and the handler sees which; the date the
acknowledgement promises is the feedback deadline the case then has, the one the reporter's
mailbox shows."""

from __future__ import annotations

import datetime
import html
import re
import zoneinfo

import pytest
import time_machine
from django.utils import formats, translation

from intake.models import Case
from tests.casework.helpers import case_url
from tests.fixtures import World, staff_client
from tests.intake.journey import open_mailbox, reporter, submit_report
from tests.keys.test_key_hierarchy import setup_keys

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea id="{name}"[^>]*>(.*?)</textarea>', page, flags=re.S)
    assert found is not None, page[:2000]
    return html.unescape(found.group(1))


def long_date(day: datetime.date, language: str) -> str:
    with translation.override(language):
        return str(formats.date_format(day, "DATE_FORMAT"))


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_case_stores_the_language_the_reporter_used(world_a: World, language: str) -> None:
    setup_keys(world_a)
    submit_report(reporter(language), world_a)
    assert Case.objects.get(tenant=world_a.tenant).language == language


@pytest.mark.django_db
def test_a_language_the_tenant_does_not_offer_is_not_stored(world_a: World) -> None:
    world_a.tenant.languages = ["de"]
    world_a.tenant.save(update_fields=["languages"])
    setup_keys(world_a)
    submit_report(reporter("en"), world_a)
    assert Case.objects.get(tenant=world_a.tenant).language == "de"


@pytest.mark.django_db
def test_texts_are_offered_in_the_reporters_language_and_the_handler_sees_which(
    world_a: World,
) -> None:
    lead, _recovery = setup_keys(world_a)
    _receipt, _page = submit_report(reporter("en"), world_a)
    case = Case.objects.get(tenant=world_a.tenant)
    # The handler works in German; the reporter wrote in English.
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    offered = textarea(page, "ack-message")
    assert offered.startswith("Thank you for your report.")
    assert "Englisch" in page and "in der die meldende Person geschrieben hat" in page

    lead.post(case_url(world_a, case, "do/acknowledge/"), {"message": offered})
    # Feedback becomes possible once the case was checked: follow the workflow to it.
    lead.post(case_url(world_a, case, "do/scope/"), {"in_scope": "yes", "reason": "Scope ok."})
    lead.post(case_url(world_a, case, "do/move/"), {"status": "plausibility"})
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert textarea(page, "feedback-message").startswith("Thank you again for your report.")

    # A German reporter gets German texts from an English-speaking handler.
    submit_report(reporter("de"), world_a)
    german = Case.objects.filter(tenant=world_a.tenant).order_by("-id").first()
    assert german is not None and german.language == "de"
    page = lead.get(case_url(world_a, german), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert textarea(page, "ack-message").startswith("Vielen Dank für Ihre Meldung.")
    assert "Offered in German, the language the reporter used." in page


@pytest.mark.django_db
def test_the_promised_feedback_date_is_the_one_the_case_and_the_mailbox_then_show(
    world_a: World,
) -> None:
    start = datetime.datetime(2026, 3, 2, 10, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False) as clock:
        setup_keys(world_a)
        receipt, _page = submit_report(reporter("en"), world_a)
        case = Case.objects.get(tenant=world_a.tenant)
        # Receipt is confirmed three days later (within the 7 days).
        clock.move_to(start + datetime.timedelta(days=3))
        lead = staff_client(world_a.handler)  # a new working day, a new login
        page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        offered = textarea(page, "ack-message")
        promised = re.search(r"By (.+?) at the latest", offered)
        assert promised is not None
        response = lead.post(case_url(world_a, case, "do/acknowledge/"), {"message": offered})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.acknowledged_on == datetime.date(2026, 3, 5)
        assert case.feedback_due == datetime.date(2026, 6, 5)
        assert promised.group(1) == long_date(case.feedback_due, "en")
        mailbox = open_mailbox(reporter("en"), world_a, receipt)
        assert f"due by {long_date(case.feedback_due, 'en')}" in mailbox


@pytest.mark.django_db
def test_a_handler_records_the_reporters_language(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    response = lead.post(
        f"/staff/offices/{world_a.office.public_id}/record/",
        {
            "tenant": str(world_a.tenant.public_id),
            "channel": "letter",
            "category": "other",
            "language": "en",
            "what": "A letter about falsified test reports.",
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 200
    case = Case.objects.get(tenant=world_a.tenant)
    assert case.language == "en"
    page = lead.get(case_url(world_a, case), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert textarea(page, "ack-message").startswith("Thank you for your report.")
