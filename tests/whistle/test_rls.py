"""Row-level security, the second wall between tenants (whistle/rls.py, DESIGN §6).

The suite runs as the application role (tests/conftest.py). Here: that role cannot bypass the
wall, and a query that forgets its filter returns nothing of another tenant, whoever asks.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from casework.audit import audit_record
from casework.models import AuditEvent, DeletionRecord, Note, ReminderSent
from chat.models import Message
from intake.models import Attachment, Case, CaseRecord, PendingUpload, Questionnaire
from intake.services import questionnaire_current
from tests.fixtures import World, staff_client
from whistle import rls

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"
)


def _case(world: World) -> Case:
    questionnaire_current(world.tenant)
    case = Case.objects.create(
        tenant=world.tenant,
        office=world.office,
        receipt_lookup=secrets.token_hex(5),
        received_on=timezone.localdate(),
    )
    CaseRecord.objects.create(case=case, kind=CaseRecord.Kind.ANSWERS, ciphertext=b"c")
    Attachment.objects.create(
        case=case,
        storage_name=secrets.token_hex(8),
        stored_size=1,
        meta_ciphertext=b"m",
    )
    Message.objects.create(
        case=case,
        side=Message.Side.REPORTER,
        body_ciphertext=b"c",
        created_on=case.received_on,
    )
    Note.objects.create(
        case=case, author=world.handler, body_ciphertext=b"c", created_on=case.received_on
    )
    ReminderSent.objects.create(
        case=case, deadline="acknowledge", stage="due", on_date=case.received_on
    )
    audit_record(
        tenant=world.tenant,
        actor=world.handler,
        verb="case.viewed",
        object_type="case",
        object_id=str(case.public_id),
        case=case,
    )
    return case


TENANT_OWNED: list[tuple[type[Model], Callable[[Any], int]]] = [
    (Case, lambda row: row.tenant_id),
    (CaseRecord, lambda row: row.case.tenant_id),
    (Attachment, lambda row: row.case.tenant_id),
    (Message, lambda row: row.case.tenant_id),
    (Note, lambda row: row.case.tenant_id),
    (ReminderSent, lambda row: row.case.tenant_id),
    (AuditEvent, lambda row: row.tenant_id),
    (Questionnaire, lambda row: row.tenant_id),
]


def _principals(a: World) -> dict[str, rls.Principal]:
    return {
        "reporter of A": rls.Principal(tenant=a.tenant.pk),
        "handler of A's office": rls.Principal(user=a.handler.pk),
        "tenant admin of A": rls.Principal(user=a.admin.pk),
    }


@pytest.fixture
def two_tenants(worlds: tuple[World, World]) -> tuple[World, World]:
    a, b = worlds
    _case(a)
    _case(b)
    return a, b


def test_the_application_role_cannot_bypass_it_and_owns_no_table(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypass = cursor.fetchone()
        assert (superuser, bypass) == (False, False)
        tables = list(rls.policies())
        assert {m._meta.db_table for m, _ in TENANT_OWNED} <= set(tables)
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, c.relforcerowsecurity "
            "FROM pg_class c WHERE c.relname = ANY(%s)",
            [tables],
        )
        rows = cursor.fetchall()
    assert len(rows) == len(tables)
    for table, owner, enabled, forced in rows:
        assert owner != user, table
        assert enabled and forced, table


@pytest.mark.parametrize("who", ["reporter of A", "handler of A's office", "tenant admin of A"])
def test_an_unfiltered_query_sees_nothing_of_another_tenant(
    two_tenants: tuple[World, World], who: str
) -> None:
    a, b = two_tenants
    with rls.acting_as(_principals(a)[who]):
        for model, tenant_of in TENANT_OWNED:
            rows = list(model._default_manager.all())  # no filter: the wall alone
            tenants = set()
            with rls.system():
                tenants = {tenant_of(row) for row in rows}
            assert b.tenant.pk not in tenants, model.__name__
            assert a.tenant.pk in tenants, model.__name__
        # Nor can it write into the other tenant.
        assert Case.objects.filter(tenant=b.tenant).update(status="closed") == 0
        assert Message.objects.filter(case__tenant=b.tenant).delete()[0] == 0


def test_without_a_principal_nothing_of_any_tenant(two_tenants: tuple[World, World]) -> None:
    with rls.acting_as(rls.NOBODY):
        for model, _ in TENANT_OWNED:
            assert not model._default_manager.exists(), model.__name__
        assert not DeletionRecord.objects.exists()
        assert not PendingUpload.objects.exists()


def test_the_system_principal_sees_every_tenant(two_tenants: tuple[World, World]) -> None:
    a, b = two_tenants
    with rls.system():
        assert set(Case.objects.values_list("tenant_id", flat=True)) == {a.tenant.pk, b.tenant.pk}
        assert set(AuditEvent.objects.values_list("tenant_id", flat=True)) == {
            a.tenant.pk,
            b.tenant.pk,
        }


def test_a_reporter_cannot_insert_into_another_tenant(two_tenants: tuple[World, World]) -> None:
    from django.db import DatabaseError, transaction

    a, b = two_tenants
    with (
        rls.acting_as(rls.Principal(tenant=a.tenant.pk)),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
    ):
        Case.objects.create(
            tenant=b.tenant,
            office=b.office,
            receipt_lookup=secrets.token_hex(5),
            received_on=timezone.localdate(),
        )


@pytest.mark.django_db(transaction=True)
def test_a_returned_connection_keeps_no_principal(worlds: tuple[World, World]) -> None:
    """The pool reuses connections across requests: a principal left on one would be a
    cross-tenant leak. The pool's reset clears it when the connection is returned."""
    a, _b = worlds
    connection.ensure_connection()
    pool = connection.pool  # type: ignore[attr-defined]
    assert pool is not None
    raw = pool.getconn()
    assert raw.autocommit  # so the setting is the session's, not undone by a rollback
    raw.execute(rls.APPLY_SQL, (str(a.tenant.pk), "", ""))
    pool.putconn(raw)
    taken: list[Any] = []
    try:
        while raw not in taken:
            assert len(taken) < pool.max_size
            taken.append(pool.getconn())
        row = raw.execute(
            "SELECT current_setting('whistle.tenant', true), current_setting('whistle.user', "
            "true), current_setting('whistle.system', true)"
        ).fetchone()
    finally:
        for conn in taken:
            pool.putconn(conn)
    assert row is not None
    assert set(row) <= {"", None}


def test_each_query_gets_the_current_principal(two_tenants: tuple[World, World]) -> None:
    """One connection, principals changing between queries (as requests on a pooled connection
    do): each query runs under its own."""
    a, b = two_tenants
    for world in (a, b, a):
        with rls.acting_as(rls.Principal(tenant=world.tenant.pk)):
            assert set(Case.objects.values_list("tenant_id", flat=True)) == {world.tenant.pk}
    with rls.acting_as(rls.NOBODY):
        assert not Case.objects.exists()


def _principals_seen(call: Callable[[], Any]) -> list[tuple[str, str, str]]:
    """The principal (as the database gets it) of every query ``call`` makes."""
    seen: list[tuple[str, str, str]] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(rls.current().values())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        call()
    return seen


def test_a_reporter_request_runs_under_its_tenant_and_gives_it_back(
    client: Any, two_tenants: tuple[World, World]
) -> None:
    a, _b = two_tenants
    seen = _principals_seen(lambda: client.get(f"/t/{a.tenant.slug}/report/"))
    # Finding the tenant (not tenant-owned): nobody; from then on: the tenant, never system.
    assert set(seen) == {("", "", ""), (str(a.tenant.pk), "", "")}
    assert seen[-1] == (str(a.tenant.pk), "", "")
    assert rls.current() == rls.SYSTEM  # the test's own principal again


def test_a_staff_request_runs_under_the_account(two_tenants: tuple[World, World]) -> None:
    a, _b = two_tenants
    client = staff_client(a.handler)
    seen = _principals_seen(lambda: client.get("/staff/"))
    assert seen
    # Before authentication has read the account: nobody; from then on: the handler.
    assert set(seen) <= {("", "", ""), ("", str(a.handler.pk), "")}
    assert seen[-1] == ("", str(a.handler.pk), "")
    assert rls.current() == rls.SYSTEM


@pytest.mark.django_db(transaction=True)
def test_without_its_policies_a_table_is_closed_not_open(two_tenants: tuple[World, World]) -> None:
    """Between a backward migration (which drops the policies) and the next complete one: the
    tables stay forced, and the application role sees nothing, even as the system."""
    from tests.fixtures import as_table_owner

    try:
        with as_table_owner():
            rls.uninstall()
        with rls.system():
            assert not Case.objects.exists()
            assert not Message.objects.exists()
    finally:
        with as_table_owner():
            rls.install()
    with rls.system():
        assert Case.objects.count() == 2
