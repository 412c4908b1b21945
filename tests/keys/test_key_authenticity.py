"""Key authenticity (issue 12, point 12): public keys swapped by a database write are refused
before anything is sealed to them; the office key's fingerprint is shown to the lead with the
recovery key and to every member on the office page."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

import crypto
from intake.models import Case
from intake.services import OfficeNotReady, case_submit
from tests.conftest import APP_ROLE
from tests.fixtures import World, as_table_owner, make_staff, staff_client
from tests.keys.test_key_hierarchy import keys_url, setup_keys
from whistle import rls
from whistle.accounts.models import User
from whistle.keys import services
from whistle.keys.models import HandlerKey, OfficeKeyGrant, OfficeKeyPair
from whistle.tenants.models import Membership
from whistle.tenants.services import membership_add, office_create, tenant_create

FINGERPRINT = re.compile(r"\b(?:[A-Z2-7]{4}-){7}[A-Z2-7]{4}\b")


def colleague(world: World, email: str = "colleague@alpha.example") -> User:
    """A second member of the office who has logged in once (so they have a handler key)."""
    user = make_staff(email)
    membership_add(office=world.office, user=user, role=Membership.Role.HANDLER)
    staff_client(user)
    return user


def grant_url(world: World, user: User) -> str:
    return keys_url(world, f"grant/{user.public_id}/")


@pytest.mark.django_db
def test_a_handler_key_swapped_in_the_database_is_refused_at_grant_time(
    world_a: World, caplog: pytest.LogCaptureFixture
) -> None:
    lead, _recovery = setup_keys(world_a)
    member = colleague(world_a)
    attacker = crypto.generate_keypair()
    HandlerKey.objects.filter(user=member).update(public_key=attacker.public)
    with caplog.at_level(logging.ERROR, logger="whistle.keys"):
        response = lead.post(grant_url(world_a, member), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "failed its integrity check" in response.content.decode()
    assert not OfficeKeyGrant.objects.filter(user=member).exists()
    assert any("failed its binding check" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_another_accounts_genuine_key_and_binding_do_not_pass_either(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    member = colleague(world_a)
    # Copying the lead's key together with its binding: the binding names the lead's account.
    leads = HandlerKey.objects.get(user=world_a.handler)
    HandlerKey.objects.filter(user=member).update(
        public_key=leads.public_key, binding=leads.binding
    )
    lead.post(grant_url(world_a, member))
    assert not OfficeKeyGrant.objects.filter(user=member).exists()


@pytest.mark.django_db
def test_the_owner_logging_in_repairs_their_swapped_public_key(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    member = colleague(world_a)
    genuine = bytes(HandlerKey.objects.get(user=member).public_key)
    HandlerKey.objects.filter(user=member).update(public_key=crypto.generate_keypair().public)
    staff_client(member)  # the private key opens under the password: it names the real key
    assert bytes(HandlerKey.objects.get(user=member).public_key) == genuine
    lead.post(grant_url(world_a, member))
    assert OfficeKeyGrant.objects.filter(user=member).exists()


@pytest.mark.django_db
def test_an_office_key_swapped_in_the_database_is_refused_before_sealing(
    world_a: World, caplog: pytest.LogCaptureFixture
) -> None:
    lead, _recovery = setup_keys(world_a)
    attacker = crypto.generate_keypair()
    OfficeKeyPair.objects.filter(office=world_a.office).update(public_key=attacker.public)
    with caplog.at_level(logging.ERROR, logger="whistle.keys"), pytest.raises(OfficeNotReady):
        case_submit(tenant=world_a.tenant, office=world_a.office, answers={"what": "x"})
    assert not Case.objects.exists()
    assert any("failed its binding check" in r.getMessage() for r in caplog.records)
    # A report entered by a handler is refused the same way, with a clear message.
    response = lead.post(
        f"/staff/offices/{world_a.office.public_id}/record/",
        {
            "tenant": str(world_a.tenant.public_id),
            "channel": "phone",
            "category": "environment",
            "what": "a call",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert not Case.objects.exists()
    assert response.status_code == 200
    assert "cannot receive reports until its keys are set up" in response.content.decode()
    # Every member sees the alarm on the office page.
    member = staff_client(colleague(world_a))
    page = member.get(keys_url(world_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The office key failed its integrity check" in page


@pytest.mark.django_db
def test_renewing_the_keys_after_a_swap_gives_a_genuine_key_again(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    OfficeKeyPair.objects.filter(office=world_a.office).update(
        public_key=crypto.generate_keypair().public
    )
    assert services.active_keypair(world_a.office) is None
    assert lead.post(keys_url(world_a, "rotate/")).status_code == 200
    keypair = services.active_keypair(world_a.office)
    assert keypair is not None and keypair.version == 2
    submission = case_submit(tenant=world_a.tenant, office=world_a.office, answers={"a": "b"})
    assert submission.case.office_keypair == keypair


@pytest.mark.django_db
def test_renewing_the_keys_skips_a_swapped_handler_key(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    member = colleague(world_a)
    lead.post(grant_url(world_a, member))
    HandlerKey.objects.filter(user=member).update(public_key=crypto.generate_keypair().public)
    assert lead.post(keys_url(world_a, "rotate/")).status_code == 200
    new = OfficeKeyPair.objects.get(office=world_a.office, active=True)
    assert set(OfficeKeyGrant.objects.filter(keypair=new).values_list("user", flat=True)) == {
        world_a.handler.pk
    }
    staff_client(member)  # their login puts the genuine key back; then they can be granted
    lead.post(grant_url(world_a, member))
    assert OfficeKeyGrant.objects.filter(keypair=new, user=member).exists()


@pytest.mark.django_db
def test_an_old_generation_made_active_again_is_refused(world_a: World) -> None:
    lead, _recovery = setup_keys(world_a)
    assert lead.post(keys_url(world_a, "rotate/")).status_code == 200
    OfficeKeyPair.objects.filter(office=world_a.office).update(active=False)
    OfficeKeyPair.objects.filter(office=world_a.office, version=1).update(active=True)
    assert services.active_keypair(world_a.office) is None
    OfficeKeyPair.objects.filter(office=world_a.office, version=1).update(successor=None)
    assert services.active_keypair(world_a.office) is None


@pytest.mark.django_db
def test_a_key_moved_to_another_version_fails(world_a: World) -> None:
    setup_keys(world_a)
    OfficeKeyPair.objects.filter(office=world_a.office).update(version=7)
    assert services.active_keypair(world_a.office) is None


@pytest.mark.django_db
def test_the_lead_sees_the_fingerprint_with_the_recovery_key_and_members_on_the_office_page(
    world_a: World,
) -> None:
    lead = staff_client(world_a.handler)
    page = lead.post(keys_url(world_a, "setup/"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    keypair = OfficeKeyPair.objects.get(office=world_a.office)
    expected = crypto.key_fingerprint(bytes(keypair.public_key))
    assert FINGERPRINT.findall(page) == [expected]
    assert "compare it with this sheet" in page
    member = staff_client(colleague(world_a))
    member_page = member.get(keys_url(world_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert FINGERPRINT.findall(member_page) == [expected]
    assert "printed recovery key sheet" in member_page
    assert "failed its integrity check" not in member_page


@pytest.mark.django_db
def test_other_tenants_staff_get_404_on_the_key_pages(worlds: tuple[World, World]) -> None:
    world_a, world_b = worlds
    setup_keys(world_a)
    member = colleague(world_a)
    outsider = staff_client(world_b.handler)
    assert outsider.get(keys_url(world_a)).status_code == 404
    assert outsider.post(keys_url(world_a, "rotate/")).status_code == 404
    assert outsider.post(grant_url(world_a, member)).status_code == 404
    assert Client().get(keys_url(world_a)).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_migration_binds_the_keys_that_existed_before(db: None) -> None:
    """Trust on first use: keys stored before bindings existed get bound as they are."""
    tenant = tenant_create(slug="old", name="Old town", published=True)
    office = office_create(owner=tenant, name="Old office")
    user = make_staff("old@old.example")
    with as_table_owner():  # migrations run as the owner of the tables
        executor = MigrationExecutor(connection)
        executor.migrate([("keys", "0001_initial")])
        apps = executor.loader.project_state([("keys", "0001_initial")]).apps
        apps.get_model("keys", "HandlerKey").objects.create(
            user_id=user.pk, public_key=crypto.generate_keypair().public, wrapped_private=b"w"
        )
        apps.get_model("keys", "OfficeKeyPair").objects.create(
            office_id=office.pk, version=3, public_key=crypto.generate_keypair().public
        )
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        # As `migrate` does after its last app (post_migrate): tables that the way back
        # dropped and the way forward made again get their policies and the app role's grants
        # (and the test-only TRUNCATE that tests/conftest.py grants for flushing).
        rls.install()
        with connection.cursor() as cursor:
            cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{APP_ROLE}"')
    handler_key = HandlerKey.objects.select_related("user").get(user=user)
    assert services.handler_key_genuine(handler_key)
    keypair = OfficeKeyPair.objects.select_related("office").get(version=3)
    assert services.keypair_genuine(keypair)
