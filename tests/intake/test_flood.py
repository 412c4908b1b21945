"""Submission floods (issue 12, point 3): nothing is refused for volume; each submission costs a
proof of work (JavaScript) or a minimum draft age (without); reports sent above the normal rate
without real writing time are marked as suspected flood; the operator is alerted once."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client, override_settings

from intake import flood
from intake.models import Case
from tests.fixtures import World
from tests.intake.journey import ANSWERS, base, receipt_from, reporter
from tests.keys.test_key_hierarchy import setup_keys
from tests.plugins.sensitive import SensitiveRegistry


@pytest.fixture
def ready(worlds: tuple[World, World]) -> tuple[World, World]:
    for world in worlds:
        setup_keys(world)
    return worlds


class Clock:
    """The wall clock as the server reads it (an edge we do not own), moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def fill_in(client: Client, world: World, clock: Clock | None = None, pause: float = 0) -> str:
    """Every step up to the check page (``pause`` seconds on each); returns the check page."""
    root = base(world)
    assert client.post(root + "report/", {"category": "environment"}).status_code == 302
    for step, data in ANSWERS.items():
        if clock is not None:
            clock.advance(pause)
        assert client.get(root + f"report/step/{step}/").status_code == 200
        assert client.post(root + f"report/step/{step}/", data).status_code == 302
    if clock is not None:
        clock.advance(pause)
    assert client.post(root + "report/contact/", {"mode": "anonymous"}).status_code == 302
    page = client.get(root + "report/check/")
    assert page.status_code == 200
    return page.content.decode()


def challenge_of(page: str) -> str:
    found = re.search(r'name="pow_challenge" value="([^"]+)"', page)
    assert found, "the check page carries a proof-of-work challenge"
    return found.group(1)


def send(client: Client, world: World, data: dict[str, Any] | None = None) -> Any:
    return client.post(base(world) + "report/submit/", data or {})


# --- cost per submission --------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(INTAKE_MIN_STEP_SECONDS=5)
def test_too_fast_without_proof_of_work_waits_and_keeps_everything(
    ready: tuple[World, World], clock: Clock, sensitive: SensitiveRegistry
) -> None:
    a, _b = ready
    client = reporter()
    fill_in(client, a)
    response = send(client, a)
    assert response.status_code == 302
    assert response["Location"].endswith("/report/check/")
    page = client.get(response["Location"]).content.decode()
    # Six steps (topic, three questionnaire steps, contact, check), 5 s each: about 30 s.
    waited = re.search(r"send it again in (\d+) seconds", page)
    assert waited, page[:3000]
    assert 25 <= int(waited.group(1)) <= 30
    assert "SENTINEL-what-happened-3141" in page  # everything kept
    assert not Case.objects.exists()
    clock.advance(int(waited.group(1)))
    response = send(client, a)
    assert response.status_code == 200
    sensitive.add(receipt_from(response.content.decode()))
    assert Case.objects.count() == 1


@pytest.mark.django_db
@override_settings(INTAKE_MIN_STEP_SECONDS=60, INTAKE_FLOOD_WRITING_SECONDS=120)
def test_a_draft_with_real_writing_time_is_never_asked_to_wait(
    ready: tuple[World, World], clock: Clock, sensitive: SensitiveRegistry
) -> None:
    """Long on the first questions, quick through the last ones: the per-step ages are not met
    (60 s per step ahead), but the draft took real time, so it is sent at once."""
    a, _b = ready
    client = reporter()
    root = base(a)
    client.post(root + "report/", {"category": "environment"})
    client.get(root + "report/step/what/")
    clock.advance(150)  # writing what happened
    for step, data in ANSWERS.items():
        client.post(root + f"report/step/{step}/", data)
    client.post(root + "report/contact/", {"mode": "anonymous"})
    client.get(root + "report/check/")
    response = send(client, a)
    assert response.status_code == 200
    sensitive.add(receipt_from(response.content.decode()))


@pytest.mark.django_db
@override_settings(INTAKE_MIN_STEP_SECONDS=60, INTAKE_POW_BITS=8)
def test_a_solved_proof_of_work_replaces_the_draft_age(
    ready: tuple[World, World], sensitive: SensitiveRegistry
) -> None:
    a, _b = ready
    client = reporter()
    challenge = challenge_of(fill_in(client, a))
    assert challenge.split(".")[3] == "8"
    counter = flood.pow_solve(challenge)
    assert flood.leading_zero_bits(flood.pow_digest(challenge, counter)) >= 8
    response = send(client, a, {"pow_challenge": challenge, "pow_counter": counter})
    assert response.status_code == 200
    sensitive.add(receipt_from(response.content.decode()))


@pytest.mark.django_db
@override_settings(INTAKE_MIN_STEP_SECONDS=60, INTAKE_POW_BITS=8)
def test_a_proof_of_work_counts_only_for_its_own_fresh_draft(
    ready: tuple[World, World], sensitive: SensitiveRegistry
) -> None:
    a, b = ready
    first, second = reporter(), reporter()
    challenge = challenge_of(fill_in(first, a))
    counter = flood.pow_solve(challenge)
    fill_in(second, a)
    # Another draft's solution (or one replayed for many drafts) is no proof for this one.
    assert send(second, a, {"pow_challenge": challenge, "pow_counter": counter}).status_code == 302
    # Nor a wrong counter, a forged difficulty or another tenant.
    wrong = next(
        str(n)
        for n in range(10**6)
        if flood.leading_zero_bits(flood.pow_digest(challenge, str(n))) < 8
    )
    forged = challenge.split(".")
    forged[3] = "1"
    for data in (
        {"pow_challenge": challenge, "pow_counter": wrong},
        {"pow_challenge": ".".join(forged), "pow_counter": "0"},
        {"pow_challenge": "x" * 5000, "pow_counter": "1" * 5000},
    ):
        assert send(first, a, data).status_code == 302
    cross = reporter()
    fill_in(cross, b)
    assert send(cross, b, {"pow_challenge": challenge, "pow_counter": counter}).status_code == 302
    # A stale one (solved long ago, e.g. stockpiled for a flood) neither.
    tenant_id, case_id = str(a.tenant.public_id), "6f1c2d4e-0000-4000-8000-000000000000"
    old = flood.pow_challenge(
        tenant_id=tenant_id, case_id=case_id, now=time.time() - flood.POW_VALID_SECONDS - 1
    )
    assert not flood.pow_valid(
        challenge=old, counter=flood.pow_solve(old), tenant_id=tenant_id, case_id=case_id
    )
    fresh = flood.pow_challenge(tenant_id=tenant_id, case_id=case_id)
    assert flood.pow_valid(
        challenge=fresh, counter=flood.pow_solve(fresh), tenant_id=tenant_id, case_id=case_id
    )
    assert not Case.objects.exists()
    # The draft's own fresh solution passes.
    response = send(first, a, {"pow_challenge": challenge, "pow_counter": counter})
    assert response.status_code == 200
    sensitive.add(receipt_from(response.content.decode()))


@pytest.mark.django_db
@override_settings(INTAKE_POW_BITS=8)
def test_the_check_page_and_worker_are_csp_clean() -> None:
    from django.conf import settings

    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["worker-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]


# --- a flood neither closes the channel nor buries the inbox -----------------------------------


@pytest.mark.django_db
@override_settings(
    INTAKE_SUBMISSIONS_PER_TENANT_HOUR=3,
    INTAKE_SUBMISSIONS_ALERT_HOUR=5,
    INTAKE_FLOOD_WRITING_SECONDS=120,
    OPERATOR_EMAILS=["ops@operator.example"],
)
def test_a_flood_is_set_apart_and_genuine_reporters_of_both_tenants_get_through(
    ready: tuple[World, World],
    clock: Clock,
    sensitive: SensitiveRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = ready
    caplog.set_level(logging.WARNING, logger="intake.flood")
    # A script sends report after report to tenant a, as fast as it can.
    for _number in range(8):
        client = reporter()
        fill_in(client, a)
        response = send(client, a)
        assert response.status_code == 200, "nothing is refused for volume"
        sensitive.add(receipt_from(response.content.decode()))
    flags = list(
        Case.objects.filter(tenant=a.tenant).order_by("id").values_list("flood", flat=True)
    )
    assert flags == [""] * 3 + [Case.Flood.SUSPECTED] * 5
    # The operator is told once, naming the tenant (the log line by its public id, the mail by
    # its slug) and nothing else.
    alerts = [r for r in caplog.records if "submissions this hour" in r.getMessage()]
    assert len(alerts) == 1
    assert str(a.tenant.public_id) in alerts[0].getMessage()
    assert a.tenant.slug not in alerts[0].getMessage()
    assert len(mail.outbox) == 1
    assert a.tenant.slug in mail.outbox[0].subject
    assert mail.outbox[0].to == ["ops@operator.example"]
    # A person who took real time to write is neither refused nor set apart, during the flood.
    genuine = reporter()
    fill_in(genuine, a, clock=clock, pause=60)
    response = send(genuine, a)
    assert response.status_code == 200
    receipt = receipt_from(response.content.decode())
    sensitive.add(receipt)
    newest = Case.objects.filter(tenant=a.tenant).latest("id")
    assert newest.flood == ""
    # Another tenant's reporter is not affected at all, even a quick one.
    other = reporter()
    fill_in(other, b)
    response = send(other, b)
    assert response.status_code == 200
    sensitive.add(receipt_from(response.content.decode()))
    assert Case.objects.get(tenant=b.tenant).flood == ""


@pytest.mark.django_db
@override_settings(INTAKE_POW_BITS=8)
def test_a_report_with_steps_skipped_is_not_filed(ready: tuple[World, World]) -> None:
    """A script posting the topic and then "send" files nothing: it is sent to the first step
    not answered (before, an empty report was filed)."""
    a, _b = ready
    client = reporter()
    client.post(base(a) + "report/", {"category": "environment"})
    page = client.get(base(a) + "report/check/")
    assert page.status_code == 302
    response = send(client, a)
    assert response.status_code == 302
    assert response["Location"].endswith("/report/step/what/")
    assert not Case.objects.exists()
