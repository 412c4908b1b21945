"""A handler or admin of tenant A gets 404 for every staff page of tenant B and of B's offices.

The URL patterns are enumerated from the resolver, so a new staff page with an office or tenant
id in its path is covered without editing this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.fixtures import World, staff_client
from whistle.tenants.services import membership_add


def staff_routes() -> Iterator[tuple[str, str]]:
    """(route template, id kind) for every staff URL taking an office or tenant id."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    for route in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/staff/operator/") and "<uuid:" in route:
            yield route, "operator"
        elif "<uuid:office_id>" in route:
            yield route, "office"
        elif "<uuid:tenant_id>" in route:
            yield route, "tenant"


ROUTES = sorted(set(staff_routes()))

# Office pages that the admins of the tenant owning the office manage as well as its leads
# (console/office_views.py); an admin of a tenant the office merely serves gets 404.
OWNER_ADMIN_ROUTES = "/staff/offices/<uuid:office_id>/manage/"


def test_there_are_routes_to_check() -> None:
    kinds = {kind for _route, kind in ROUTES}
    assert kinds == {"office", "tenant", "operator"}


def with_case(world: World) -> None:
    """Office keys and one report with a file, so case and file pages have something to show."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from intake.models import Attachment, Case
    from tests.intake.journey import reporter, submit_report
    from tests.keys.test_key_hierarchy import setup_keys

    setup_keys(world)
    evidence = [SimpleUploadedFile("evidence.txt", b"some evidence", "text/plain")]
    submit_report(reporter(), world, files={"evidence": evidence})
    world.case = Case.objects.get(tenant=world.tenant)  # type: ignore[attr-defined]
    world.attachment = Attachment.objects.get(case=world.case)  # type: ignore[attr-defined]


def with_feedback(world: World) -> None:
    """One accessibility feedback message, for the console pages that act on one."""
    from intake.accessibility import accessibility_feedback_submit

    world.feedback = accessibility_feedback_submit(  # type: ignore[attr-defined]
        tenant=world.tenant, message="the contrast of the buttons is too low"
    )


def with_logo(world: World) -> None:
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    world.tenant.logo.save("logo.png", ContentFile(out.getvalue()))


def fill(route: str, world: World) -> str:
    case = getattr(world, "case", None)
    attachment = getattr(world, "attachment", None)
    feedback = getattr(world, "feedback", None)
    return (
        route.replace("<uuid:office_id>", str(world.office.public_id))
        .replace("<uuid:tenant_id>", str(world.tenant.public_id))
        .replace("<uuid:user_id>", str(world.handler.public_id))
        .replace("<uuid:case_id>", str(case.public_id if case else ""))
        .replace("<uuid:attachment_id>", str(attachment.public_id if attachment else ""))
        .replace("<slug:action>", "note")
        .replace("<uuid:feedback_id>", str(feedback.public_id if feedback else ""))
        .replace("<slug:step>", "organisation")
        # A service (request) id: owned by nobody here, and looked up only after the office or
        # tenant check, so the other world's page answers 404 whatever it names.
        .replace("<uuid:service_id>", str(uuid.uuid4()))
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "kind"), ROUTES)
@pytest.mark.parametrize("who", ["handler", "admin"])
def test_other_tenants_staff_pages_are_404(
    worlds: tuple[World, World], route: str, kind: str, who: str
) -> None:
    a, b = worlds
    if "<uuid:case_id>" in route:
        with_case(a)
        with_case(b)
    if "<uuid:feedback_id>" in route:
        with_feedback(a)
        with_feedback(b)
    if route.endswith("/logo"):
        with_logo(a)
        with_logo(b)
    client: Client = staff_client(getattr(a, who))
    own = client.get(fill(route, a))
    # The handler reaches its own office's pages, the admin its own tenant's (a POST-only page
    # answers its members' GET with 405; a page that moved or resumes elsewhere redirects);
    # operator pages are the operator's alone.
    if (kind, who) in {("office", "handler"), ("tenant", "admin")} or (
        (kind, who) == ("office", "admin") and route.startswith(OWNER_ADMIN_ROUTES)
    ):
        assert own.status_code in (200, 302, 405), route
    else:
        assert own.status_code == 404, route
    for method in ("get", "post"):
        assert getattr(client, method)(fill(route, b)).status_code == 404, (method, route)


@pytest.mark.django_db
def test_member_of_a_shared_office_sees_it_but_not_other_offices(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    # b's office serves a as well (an external ombudsperson); a's handler is still no member.
    b.office.tenants.add(a.tenant)
    client = staff_client(a.handler)
    assert client.get(f"/staff/offices/{b.office.public_id}/").status_code == 404
    membership_add(office=b.office, user=a.handler)
    assert client.get(f"/staff/offices/{b.office.public_id}/").status_code == 200


@pytest.mark.django_db
def test_malformed_ids_are_404(world_a: World) -> None:
    client = staff_client(world_a.handler)
    assert client.get("/staff/offices/not-a-uuid/").status_code == 404
    assert client.get("/staff/offices/00000000-0000-0000-0000-000000000000/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "kind"), ROUTES)
def test_the_operator_gets_404_on_every_case_key_office_and_tenant_page(
    worlds: tuple[World, World], route: str, kind: str
) -> None:
    """Operator staff (issue 13) run the service, not the channels: every page of an office,
    a case, a file, the keys or a tenant's administration is a 404 for them; only the operator
    console's own pages answer."""
    from tests.fixtures import make_staff

    a, b = worlds
    if "<uuid:case_id>" in route:
        with_case(a)
    operator = make_staff("operator@service.example")
    operator.is_staff = True
    operator.save()
    client = staff_client(operator)
    for world in (a, b):
        for method in ("get", "post"):
            status = getattr(client, method)(fill(route, world)).status_code
            if kind == "operator":
                assert status != 404, (method, route)
            else:
                assert status == 404, (method, route)


@pytest.mark.django_db
def test_the_questionnaire_editor_is_the_own_tenant_admins_only(
    worlds: tuple[World, World],
) -> None:
    """Another tenant's admin, and a handler of the tenant's own office, get 404 on every page
    of the questionnaire editor, for reads and for changes; nothing of the tenant changes."""
    from console.models import QuestionnaireDraft
    from intake.models import Questionnaire
    from intake.services import questionnaire_current

    a, b = worlds
    questionnaire_current(b.tenant)
    base = f"/staff/tenants/{b.tenant.public_id}/questionnaire/"
    pages = ["", "translate/?language=en", "preview/?language=en", "export/?which=draft", "import/"]
    for intruder in (staff_client(a.admin), staff_client(b.handler)):
        for page in pages:
            assert intruder.get(base + page).status_code == 404, page
        for action in ("publish", "discard_confirmed", "remove_confirmed:c:other"):
            assert intruder.post(base, {"action": action}).status_code == 404
    assert not QuestionnaireDraft.objects.filter(tenant=b.tenant).exists()
    assert Questionnaire.objects.filter(tenant=b.tenant).count() == 1
    # B's own admin reaches it.
    assert staff_client(b.admin).get(base).status_code == 200


# --- case actions and reporter pages with ids (issue 15) ------------------------------------


@pytest.mark.django_db
def test_every_case_action_of_another_tenant_is_404(worlds: tuple[World, World]) -> None:
    """The sweep above fills ``<slug:action>`` with one action; each one answers 404 alike."""
    from casework.views import ACTIONS

    a, b = worlds
    with_case(a)
    with_case(b)
    client = staff_client(a.handler)
    route = "/staff/offices/<uuid:office_id>/cases/<uuid:case_id>/do/<slug:action>/"
    for action in ACTIONS:
        url = fill(route, b).replace("/do/note/", f"/do/{action}/")
        assert client.post(url, {"body": "x", "disclosure": "x"}).status_code == 404, action


def reporter_routes() -> Iterator[str]:
    """Every reporter page taking an id in its path."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    for route in walk(get_resolver("whistle.urls_reporter").url_patterns, ""):
        if "<uuid:" in route:
            yield route


REPORTER_ROUTES = sorted(set(reporter_routes()))


def test_there_are_reporter_routes_with_ids() -> None:
    assert REPORTER_ROUTES


def with_office_objects(world: World) -> dict[str, str]:
    """A case whose office sent a file and asks consent to a disclosure: the ids of both."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from intake.models import Attachment, Disclosure
    from tests.casework.helpers import case_url, filed_case

    lead, case, _receipt = filed_case(world)
    files = [SimpleUploadedFile("answer.txt", b"the office's answer", "text/plain")]
    lead.post(case_url(world, case, "do/reply/"), {"body": "See the file", "files": files})
    lead.post(
        case_url(world, case, "do/request_consent/"),
        {"recipient": "Landgericht", "purpose": "Hearing"},
    )
    return {
        "<uuid:attachment_id>": str(Attachment.objects.get(case=case, side="office").public_id),
        "<uuid:disclosure_id>": str(Disclosure.objects.get(case=case).public_id),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("route", REPORTER_ROUTES)
def test_another_reporter_session_gets_404(worlds: tuple[World, World], route: str) -> None:
    from tests.intake.journey import base, open_mailbox, reporter, submit_report
    from tests.keys.test_key_hierarchy import setup_keys

    a, b = worlds
    ids = with_office_objects(a)
    path = route
    for placeholder, value in ids.items():
        path = path.replace(placeholder, value)
    assert "<" not in path, f"{route}: give this id a value in with_office_objects"
    other = reporter()
    receipt, _page = submit_report(other, a)  # another report of the same tenant
    open_mailbox(other, a, receipt)
    setup_keys(b)
    stranger = reporter()
    b_receipt, _page = submit_report(stranger, b)  # a report of another tenant
    open_mailbox(stranger, b, b_receipt)
    for method in ("get", "post"):
        assert getattr(other, method)(base(a) + path).status_code == 404, (method, route)
        assert getattr(stranger, method)(base(b) + path).status_code == 404, (method, route)
