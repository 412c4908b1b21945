"""Accessibility statement and feedback (issue 13 point 7; A11Y-2, BITV 2.0 § 12b).

The tenant admin fills in the statement on the console; reporters read it in the tenant's
languages and send feedback through a form that works without JavaScript. The feedback is
stored encrypted, announced to the tenant's admins by a content-free e-mail, readable and
deletable on the console, deleted after the retention period, and never becomes a case or
reaches an office.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from casework.models import AuditEvent
from intake.accessibility import accessibility_feedback_text, form_token
from intake.models import AccessibilityFeedback, AccessibilityStatement, Case
from tests.fixtures import World, staff_client
from tests.plugins.sensitive import SensitiveRegistry

MESSAGE = "The zoom breaks the layout of the receipt page at 400 percent"
ADDRESS = "203.0.113.77"
AGENT = "SecretAgent/9.9 (feedback test)"


def statement_data(world: World, **overrides: str) -> dict[str, str]:
    data = {
        "status": "partial",
        "assessment": "self",
        "prepared_on": "2026-01-15",
        "reviewed_on": "2026-03-01",
        "contact": "Barrierefreiheit Alphastadt, barrierefrei@alpha.example",
        "enforcement_region": "nw",
        "enforcement_body": "",
        "limitations_de": "Das Logo hat keinen Alternativtext.",
        "limitations_en": "The logo has no text alternative.",
    }
    data.update(overrides)
    return data


def reporter_client() -> Client:
    return Client(REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=AGENT)


def send_feedback(world: World, client: Client, message: str = MESSAGE) -> Any:
    page = client.get(f"/t/{world.tenant.slug}/accessibility/")
    assert page.status_code == 200
    token = re.search(rb'name="token" value="([^"]+)"', page.content)
    assert token is not None
    return client.post(
        f"/t/{world.tenant.slug}/accessibility/",
        {"message": message, "token": token.group(1).decode(), "website": ""},
    )


def test_admin_fills_in_the_statement_and_reporters_read_it_in_each_language(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    admin = staff_client(a.admin)
    url = f"/staff/tenants/{a.tenant.public_id}/accessibility/"
    page = admin.get(url)
    assert page.status_code == 200
    # One field for the limitations per tenant language, and the Land bodies to choose from.
    assert b'name="limitations_de"' in page.content
    assert b'name="limitations_en"' in page.content
    assert b"Nordrhein-Westfalen" in page.content

    response = admin.post(url, statement_data(a))
    assert response.status_code == 302
    statement = AccessibilityStatement.objects.get(tenant=a.tenant)
    # An empty body takes the default of the chosen Land.
    assert "Ombudsstelle für barrierefreie Informationstechnik" in statement.enforcement_body
    assert AuditEvent.objects.filter(tenant=a.tenant, verb="accessibility.statement_saved").exists()

    reporter = Client()
    german = reporter.get(
        f"/t/{a.tenant.slug}/accessibility/", HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert "Das Logo hat keinen Alternativtext." in german
    assert "teilweise" in german  # partially compliant
    assert "Ombudsstelle für barrierefreie Informationstechnik" in german
    assert "barrierefrei@alpha.example" in german
    assert "15.01.2026" in german or "15. Januar 2026" in german
    english = (
        Client()
        .get(f"/t/{a.tenant.slug}/accessibility/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "The logo has no text alternative." in english
    assert "partially compliant" in english
    # Tenant B's page shows nothing of A's statement.
    other = Client().get(f"/t/{b.tenant.slug}/accessibility/").content.decode()
    assert "barrierefrei@alpha.example" not in other


def test_statement_form_errors_keep_what_was_typed(world_a: World) -> None:
    admin = staff_client(world_a.admin)
    url = f"/staff/tenants/{world_a.tenant.public_id}/accessibility/"
    data = statement_data(world_a, reviewed_on="2025-01-01", limitations_de="", limitations_en="")
    response = admin.post(url, data)
    assert response.status_code == 400
    text = response.content.decode()
    assert "barrierefrei@alpha.example" in text
    assert not AccessibilityStatement.objects.filter(tenant=world_a.tenant).exists()


@pytest.mark.parametrize("who", ["handler", "other admin"])
def test_only_the_tenants_admin_reaches_the_statement_form(
    worlds: tuple[World, World], who: str
) -> None:
    a, b = worlds
    user = a.handler if who == "handler" else b.admin
    client = staff_client(user)
    url = f"/staff/tenants/{a.tenant.public_id}/accessibility/"
    assert client.get(url).status_code == 404
    assert client.post(url, statement_data(a)).status_code == 404
    assert not AccessibilityStatement.objects.exists()


def test_feedback_reaches_the_admins_and_creates_no_case(
    worlds: tuple[World, World],
    sensitive: SensitiveRegistry,
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, b = worlds
    sensitive.add(MESSAGE, ADDRESS, AGENT)
    cases_before = Case.objects.count()
    client = reporter_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = send_feedback(a, client)
    assert response.status_code == 302
    thanks = client.get(response["Location"]).content.decode()
    assert "Vielen Dank" in thanks or "Thank you" in thanks

    feedback = AccessibilityFeedback.objects.get()
    assert feedback.tenant_id == a.tenant.pk
    assert feedback.received_on == timezone.localdate()
    # Encrypted at rest: neither the message nor anything about the sender in the row.
    stored = bytes(feedback.ciphertext)
    assert MESSAGE.encode() not in stored
    assert ADDRESS.encode() not in stored and AGENT.encode() not in stored
    assert accessibility_feedback_text(feedback) == MESSAGE

    # Never a case, never an office notice: the only e-mail goes to A's admin, without content.
    assert Case.objects.count() == cases_before
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == [a.admin.email]
    assert MESSAGE not in str(notice.subject) + str(notice.body)
    link = f"{settings.WHISTLE_BASE_URL}/staff/tenants/{a.tenant.public_id}/accessibility/"
    assert link in notice.body.split()
    assert a.handler.email not in notice.to

    # A's admin reads it on the console; B's admin sees nothing of it.
    admin_page = staff_client(a.admin).get(f"/staff/tenants/{a.tenant.public_id}/accessibility/")
    assert MESSAGE in admin_page.content.decode()
    other = staff_client(b.admin).get(f"/staff/tenants/{b.tenant.public_id}/accessibility/")
    assert MESSAGE not in other.content.decode()
    # The handler's inbox shows nothing of it either.
    inbox = staff_client(a.handler).get(f"/staff/offices/{a.office.public_id}/")
    assert MESSAGE not in inbox.content.decode()


def test_feedback_needs_a_csrf_token(world_a: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/t/{world_a.tenant.slug}/accessibility/",
        {"message": MESSAGE, "token": form_token(world_a.tenant)},
    )
    assert response.status_code == 403
    assert not AccessibilityFeedback.objects.exists()


def test_the_admin_deletes_feedback(worlds: tuple[World, World]) -> None:
    a, b = worlds
    send_feedback(a, reporter_client())
    feedback = AccessibilityFeedback.objects.get()
    url = f"/staff/tenants/{a.tenant.public_id}/accessibility/feedback/{feedback.public_id}/delete/"
    # Another tenant's admin, through their own tenant or A's: 404.
    other = staff_client(b.admin)
    assert other.post(url).status_code == 404
    assert (
        other.post(
            f"/staff/tenants/{b.tenant.public_id}/accessibility/feedback/"
            f"{feedback.public_id}/delete/"
        ).status_code
        == 404
    )
    assert staff_client(a.handler).post(url).status_code == 404
    admin = staff_client(a.admin)
    assert admin.get(url).status_code == 405
    assert AccessibilityFeedback.objects.exists()
    assert admin.post(url).status_code == 302
    assert not AccessibilityFeedback.objects.exists()
    assert AuditEvent.objects.filter(
        tenant=a.tenant, verb="accessibility.feedback_deleted", object_id=str(feedback.public_id)
    ).exists()


def test_honeypot_and_too_fast_are_refused_with_the_text_kept(
    world_a: World, settings: object
) -> None:
    settings.INTAKE_MIN_STEP_SECONDS = 3  # type: ignore[attr-defined]
    client = reporter_client()
    url = f"/t/{world_a.tenant.slug}/accessibility/"
    response = client.post(url, {"message": MESSAGE, "token": form_token(world_a.tenant)})
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    old = form_token(world_a.tenant, now=datetime.datetime.now(datetime.UTC).timestamp() - 10)
    response = client.post(url, {"message": MESSAGE, "token": old, "website": "http://spam"})
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert not AccessibilityFeedback.objects.exists()
    # A token of another tenant, or a forged one, is refused; a fresh form is offered.
    response = client.post(url, {"message": MESSAGE, "token": "forged"})
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    # Old enough: taken.
    response = client.post(url, {"message": MESSAGE, "token": old})
    assert response.status_code == 302
    assert AccessibilityFeedback.objects.count() == 1


def test_above_the_hourly_budget_the_sender_is_asked_to_try_later(
    world_a: World, settings: object
) -> None:
    settings.ACCESSIBILITY_FEEDBACK_PER_TENANT_HOUR = 2  # type: ignore[attr-defined]
    client = reporter_client()
    assert send_feedback(world_a, client).status_code == 302
    assert send_feedback(world_a, client).status_code == 302
    response = send_feedback(world_a, client, "a third message about contrast")
    assert response.status_code == 429
    assert "a third message about contrast" in response.content.decode()
    assert AccessibilityFeedback.objects.count() == 2


def test_feedback_is_deleted_after_the_retention_period(world_a: World) -> None:
    from intake.tasks import purge_accessibility_feedback

    send_feedback(world_a, reporter_client())
    send_feedback(world_a, reporter_client(), "a newer message about the font size")
    old = AccessibilityFeedback.objects.order_by("pk").first()
    assert old is not None
    days = settings.ACCESSIBILITY_FEEDBACK_DAYS
    AccessibilityFeedback.objects.filter(pk=old.pk).update(
        received_on=timezone.localdate() - datetime.timedelta(days=days + 1)
    )
    assert purge_accessibility_feedback() == 1
    assert list(AccessibilityFeedback.objects.values_list("pk", flat=True)) != [old.pk]
    assert AccessibilityFeedback.objects.count() == 1
    # The job is on the existing schedule (Celery beat, and the in-process scheduler).
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "intake.tasks.purge_accessibility_feedback" in tasks


def test_an_outage_shows_the_feedback_back(rf: Any) -> None:
    """Database or Redis down while sending feedback: 503, with the message to copy (never
    the form's token)."""
    import redis

    from whistle.outage import server_error_view

    request = rf.post(
        "/t/alpha/accessibility/",
        {"message": MESSAGE, "token": "SIGNED-TOKEN-VALUE", "website": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    try:
        raise redis.exceptions.ConnectionError("refused")
    except redis.exceptions.ConnectionError:
        response = server_error_view(request)
    assert response.status_code == 503
    page = response.content.decode()
    assert MESSAGE in page
    assert "SIGNED-TOKEN-VALUE" not in page
