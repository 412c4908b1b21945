"""The set-up wizard: each step's state comes from the data, so it resumes wherever anyone left
it; the tenant page lists what is missing; publishing opens the reporting page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from casework.models import AuditEvent
from tests.fixtures import World, make_staff
from tests.fixtures import staff_client as _staff_client
from tests.intake.journey import reporter, submit_report
from whistle.accounts.invitations import invitation_accept
from whistle.accounts.models import Invitation, User
from whistle.keys.models import OfficeKeyPair
from whistle.tenants.models import Membership, Office, Tenant
from whistle.tenants.services import tenant_admin_add, tenant_create


def staff_client(user: User) -> Client:
    """A fully logged-in client reading the pages in English (the messages tested here)."""
    client = _staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def new_tenant() -> tuple[Tenant, User]:
    tenant = tenant_create(slug="gamma", name="Gammaheim")
    admin = make_staff("admin@gamma.example")
    tenant_admin_add(tenant=tenant, user=admin)
    return tenant, admin


def step_url(tenant: Tenant, step: str = "") -> str:
    base = f"/staff/tenants/{tenant.public_id}/setup/"
    return f"{base}{step}/" if step else base


def resumes_at(client: Client, tenant: Tenant) -> str:
    response = client.get(step_url(tenant))
    assert response.status_code == 302
    match = re.search(r"/setup/([a-z]+)/$", response["Location"])
    assert match is not None, response["Location"]
    return match[1]


def open_items(client: Client, tenant: Tenant) -> list[str]:
    page = client.get(f"/staff/tenants/{tenant.public_id}/admin/").content.decode()
    return re.findall(r'<li class="open"><span class="badge">[^<]*</span> <a href="([^"]+)">', page)


@pytest.mark.django_db
def test_the_wizard_from_organisation_to_published(worlds: tuple[World, World]) -> None:
    tenant, admin = new_tenant()
    client = staff_client(admin)
    # The home page sends a new tenant's only role straight into the wizard.
    home = client.get("/staff/")
    assert home.status_code == 302 and home["Location"] == step_url(tenant)
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get("/t/gamma/").status_code == 503
    assert resumes_at(client, tenant) == "organisation"
    assert len(open_items(client, tenant)) == 7  # all but the questionnaire's translations

    # 1. Organisation: bad colour kept with its message, then saved.
    data = {
        "name": "Gemeinde Gammaheim",
        "languages": ["de", "en"],
        "accent_colour": "#eeeeee",
        "controller_address": "Dorfstraße 1, 99999 Gammaheim",
    }
    response = client.post(step_url(tenant, "organisation"), data)
    assert response.status_code == 400
    assert "too light" in response.content.decode()
    assert "Dorfstraße 1, 99999 Gammaheim" in response.content.decode()
    data["accent_colour"] = "#0b5394"
    assert client.post(step_url(tenant, "organisation"), data).status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.accent_colour) == ("Gemeinde Gammaheim", "#0b5394")
    assert resumes_at(client, tenant) == "office"

    # 2. The office, created in the wizard, and its lead invited.
    response = client.post(
        step_url(tenant, "office"), {"action": "create", "office-name": "Meldestelle Gammaheim"}
    )
    assert response.status_code == 302
    office = Office.objects.get(owner=tenant)
    assert resumes_at(client, tenant) == "office"  # no lead yet
    response = client.post(
        step_url(tenant, "office"),
        {"action": "invite", "office": str(office.public_id), "lead-email": "not-an-address"},
    )
    assert response.status_code == 400 and "not-an-address" in response.content.decode()
    mail.outbox.clear()
    response = client.post(
        step_url(tenant, "office"),
        {"action": "invite", "office": str(office.public_id), "lead-email": "lead@gamma.example"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(office=office, role=Invitation.Role.LEAD)
    page = client.get(step_url(tenant, "office")).content.decode()
    assert "waiting for them to accept" in page and "lead@gamma.example" in page

    # 3. The lead accepts, logs in and creates the keys; the wizard waits for them.
    lead = make_staff("lead@gamma.example")
    assert invitation_accept(invitation=invitation, user=lead)
    assert Membership.objects.get(office=office, user=lead).is_lead
    assert resumes_at(client, tenant) == "keys"
    lead_client = staff_client(lead)
    keys_page = lead_client.post(f"/staff/offices/{office.public_id}/keys/setup/")
    assert keys_page.status_code == 200
    assert "I have printed or written down the recovery key" in keys_page.content.decode()
    assert resumes_at(client, tenant) == "keys"  # recovery key not confirmed yet
    confirm = f"/staff/offices/{office.public_id}/keys/recovery-stored/"
    lead_client.post(confirm, {})
    assert OfficeKeyPair.objects.get(office=office).recovery_stored_at is None
    lead_client.post(confirm, {"stored": "yes"})
    assert OfficeKeyPair.objects.get(office=office).recovery_stored_at is not None
    assert resumes_at(client, tenant) == "review"

    # Publishing before the review is refused.
    assert client.post(step_url(tenant, "publish")).status_code == 400
    tenant.refresh_from_db()
    assert not tenant.published

    # 4. Review with the previews, 5. publish.
    preview = client.get(f"/staff/tenants/{tenant.public_id}/preview/?language=en")
    assert "deleted 3 years after the case is closed" in preview.content.decode()
    assert "Dorfstraße 1, 99999 Gammaheim" in preview.content.decode()
    review = client.get(step_url(tenant, "review")).content.decode()
    assert f"/staff/tenants/{tenant.public_id}/questionnaire/preview/" in review
    assert client.post(step_url(tenant, "review")).status_code == 302
    assert resumes_at(client, tenant) == "publish"
    assert client.post(step_url(tenant, "publish")).status_code == 302
    tenant.refresh_from_db()
    assert tenant.published
    assert open_items(client, tenant) == []
    verbs = set(AuditEvent.objects.filter(tenant=tenant).values_list("verb", flat=True))
    assert {"tenant.reviewed", "tenant.published", "key.recovery_stored"} <= verbs

    # The reporting page is open: a report reaches the office.
    world = World(tenant=tenant, office=office, handler=lead, admin=admin)
    receipt, _page = submit_report(reporter(), world)
    assert receipt
    assert client.get("/staff/").status_code == 200  # published: no more redirect


@pytest.mark.django_db
def test_checklist_items_link_to_their_steps(worlds: tuple[World, World]) -> None:
    tenant, admin = new_tenant()
    client = staff_client(admin)
    links = open_items(client, tenant)
    assert links[0] == step_url(tenant, "organisation")
    assert step_url(tenant, "keys") in links and step_url(tenant, "publish") in links
    for link in set(links):
        assert client.get(link).status_code == 200


@pytest.mark.django_db
def test_set_up_pages_are_404_for_others(worlds: tuple[World, World]) -> None:
    a, _b = worlds
    tenant, _admin = new_tenant()
    pages = [
        step_url(tenant),
        step_url(tenant, "organisation"),
        step_url(tenant, "office"),
        step_url(tenant, "publish"),
        f"/staff/tenants/{tenant.public_id}/admin/",
        f"/staff/tenants/{tenant.public_id}/preview/",
    ]
    for user in (a.admin, a.handler):
        client = staff_client(user)
        for page in pages:
            assert client.get(page).status_code == 404, page
        assert client.post(step_url(tenant, "publish")).status_code == 404
        assert client.post(step_url(tenant, "review")).status_code == 404
    tenant.refresh_from_db()
    assert not tenant.published and tenant.reviewed_at is None
    assert staff_client(a.admin).get(step_url(a.tenant, "nonsense")).status_code == 404


@pytest.mark.django_db
def test_only_the_lead_confirms_the_recovery_key(world_a: World) -> None:
    from tests.keys.test_key_hierarchy import setup_keys

    setup_keys(world_a)
    handler = make_staff("second@alpha.example")
    Membership.objects.create(office=world_a.office, user=handler)
    confirm = f"/staff/offices/{world_a.office.public_id}/keys/recovery-stored/"
    assert staff_client(handler).post(confirm, {"stored": "yes"}).status_code == 404
    assert staff_client(world_a.admin).post(confirm, {"stored": "yes"}).status_code == 404
    assert OfficeKeyPair.objects.get(office=world_a.office).recovery_stored_at is None
    lead = staff_client(world_a.handler)
    page = lead.get(f"/staff/offices/{world_a.office.public_id}/keys/").content.decode()
    assert "Confirm the recovery key" in page
    assert lead.post(confirm, {"stored": "yes"}).status_code == 302
    assert OfficeKeyPair.objects.get(office=world_a.office).recovery_stored_at is not None
    page = lead.get(f"/staff/offices/{world_a.office.public_id}/keys/").content.decode()
    assert "Confirm the recovery key" not in page


@pytest.mark.django_db
def test_a_questionnaire_without_texts_in_an_enabled_language_blocks_publishing(
    world_a: World,
) -> None:
    import copy

    from django.utils import timezone

    from intake.models import Questionnaire
    from intake.services import questionnaire_current
    from tests.keys.test_key_hierarchy import setup_keys

    tenant = world_a.tenant
    setup_keys(world_a)
    OfficeKeyPair.objects.update(recovery_stored_at=timezone.now())
    Tenant.objects.filter(pk=tenant.pk).update(
        published=False, controller_address="Rathaus 1", reviewed_at=timezone.now()
    )
    definition = copy.deepcopy(questionnaire_current(tenant).definition)
    definition["categories"][0]["label"].pop("en")
    Questionnaire.objects.create(tenant=tenant, version=2, definition=definition)
    client = staff_client(world_a.admin)
    assert open_items(client, tenant) == [step_url(tenant, "review"), step_url(tenant, "publish")]
    review = client.get(step_url(tenant, "review")).content.decode()
    assert "The questionnaire still lacks texts in a language of the reporting page." in review
    assert client.post(step_url(tenant, "publish")).status_code == 400
    tenant.refresh_from_db()
    assert not tenant.published
    # English switched off: nothing is missing any more.
    Tenant.objects.filter(pk=tenant.pk).update(languages=["de"])
    assert client.post(step_url(tenant, "publish")).status_code == 302
    tenant.refresh_from_db()
    assert tenant.published
