"""Case references: ``<prefix>-<year>-<number>`` (``MUS-2026-0007``), unique within the tenant.

The number counts the tenant's cases of the year of receipt. It is taken from the tenant's
counter row for that year (``CaseReferenceCounter``) by one ``INSERT ... ON CONFLICT DO UPDATE
... RETURNING``: the row is created on the year's first case and incremented after that, and it
stays locked until the submitting transaction ends. Two submits of one tenant at once thus get
consecutive numbers, and a submit that rolls back gives its number back. Call
:func:`reference_allocate` inside the transaction that inserts the case, as late as possible
(the lock serialises the tenant's submits for the rest of that transaction).

A reference is a display label for people (inbox, case page, export, optionally e-mails). It is
never a lookup key: addresses and queries keep the case's public id.
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction

from intake.models import CaseReferenceCounter
from whistle.tenants.models import Tenant


def reference_format(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:04d}"


def reference_allocate(*, tenant: Tenant, received_on: datetime.date) -> str:
    """The next reference of ``tenant`` for the year of ``received_on``. Must run inside the
    transaction that stores the case (the counter row stays locked until it ends)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocate a case reference inside the transaction of the case")
    table = CaseReferenceCounter._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, year, last) VALUES (%s, %s, 1) "  # noqa: S608 (model table name)
                f"ON CONFLICT (tenant_id, year) DO UPDATE SET last = {table}.last + 1 "
                "RETURNING last",
                [tenant.pk, received_on.year],
            )
            row = cursor.fetchone()
        assert row is not None  # noqa: S101 (RETURNING always yields the row)
        number = int(row[0])
    else:  # SQLite (the embedded default): one writer at a time anyway
        counter, _created = CaseReferenceCounter.objects.select_for_update().get_or_create(
            tenant=tenant, year=received_on.year
        )
        counter.last += 1
        counter.save(update_fields=["last"])
        number = counter.last
    return reference_format(tenant.case_prefix, received_on.year, number)
