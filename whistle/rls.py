"""PostgreSQL row-level security: the second wall between tenants (DESIGN §6).

The first wall is the ``access_*`` helpers, which filter every tenant-owned lookup in the query.
This one holds when a query forgets its filter: the application connects as a role without
``BYPASSRLS`` that does not own the tables, and every tenant-owned table has ``FORCE ROW LEVEL
SECURITY`` with a policy that shows only the rows of the *principal* of the current request,
socket event or task. Without a principal, a query sees no row of any tenant.

The principal travels in a context variable (so it follows a request into asgiref's threads and
a socket event into ``chat.live.in_thread``) and reaches PostgreSQL as three session settings,
``whistle.tenant``, ``whistle.user`` and ``whistle.system``, which a database execute wrapper
applies before a query whenever the connection's settings differ from the current principal
(one extra round trip when the principal changes; on every query inside a transaction, since a
rollback undoes settings made in it). The pool resets them when a connection is returned, so a
connection never carries one request's principal into the next.

Who sets it:

- reporter requests: the tenant of the host or path (:class:`PrincipalMiddleware`);
- staff requests: the logged-in account (read lazily, on the first query that needs it); the
  policies derive its offices (memberships) and administered tenants in the database;
- chat sockets: the same, per event (``chat.consumers``);
- system work — Celery tasks, management commands, the metrics scrape — the narrow
  ``system`` principal (:func:`system`), which sees every tenant.

Models opt in with a class attribute ``RLS`` naming their policy kind (:data:`KINDS`); the
policies are (re)installed after every ``migrate`` (``post_migrate``), as the table owner, and
the application role named by ``DATABASE_APP_ROLE`` is granted DML on every table. On SQLite (the
embedded default) all of this is a no-op.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse

SETTINGS = ("whistle.tenant", "whistle.user", "whistle.system")


@dataclass(frozen=True)
class Principal:
    """Whom the database shows rows to. ``tenant`` and ``user`` may be callables (a request's
    tenant and account, known only once its middleware has found them), evaluated before each
    query that runs under the principal."""

    tenant: int | Callable[[], int | None] | None = None
    user: int | Callable[[], int | None] | None = None
    system: bool = False

    def values(self) -> tuple[str, str, str]:
        tenant = self.tenant() if callable(self.tenant) else self.tenant
        user = self.user() if callable(self.user) else self.user
        return (
            "" if tenant is None else str(tenant),
            "" if user is None else str(user),
            "on" if self.system else "",
        )


NOBODY = Principal()
SYSTEM = Principal(system=True)

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("whistle_rls_principal")
# The principal of code outside any request, socket event, task or command: nobody. (The test
# suite makes it the system principal for its own code and the threads it starts.)
_fallback = NOBODY
_resolving = contextvars.ContextVar("whistle_rls_resolving", default=False)


def current() -> Principal:
    return _principal.get(_fallback)


def set_fallback(principal: Principal) -> None:
    global _fallback
    _fallback = principal


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)


def system() -> contextlib.AbstractContextManager[None]:
    """The narrow path for system work (retention, reminders, notices, metrics, commands)."""
    return acting_as(SYSTEM)


def set_principal(principal: Principal) -> contextvars.Token[Principal]:
    return _principal.set(principal)


def reset_principal(token: contextvars.Token[Principal]) -> None:
    _principal.reset(token)


# --- applying the principal to PostgreSQL connections ---------------------------------------

_APPLIED = "_whistle_rls_applied"
APPLY_SQL = (
    "SELECT set_config('whistle.tenant', %s, false), set_config('whistle.user', %s, false), "
    "set_config('whistle.system', %s, false)"
)


# Transaction control reads no rows (and ROLLBACK TO SAVEPOINT runs in an aborted transaction).
_NO_ROWS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "COMMIT", "BEGIN")
_INERROR = 3  # psycopg.pq.TransactionStatus.INERROR


def _apply(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    connection: BaseDatabaseWrapper = context["connection"]
    if _resolving.get() or sql.startswith(_NO_ROWS):
        return execute(sql, params, many, context)
    raw = connection.connection
    if raw.info.transaction_status == _INERROR:  # the query fails anyway; let it say why
        return execute(sql, params, many, context)
    principal = current()
    token = _resolving.set(True)
    try:
        values = principal.values()  # may query (the lazy user): without the principal
    finally:
        _resolving.reset(token)
    if connection.in_atomic_block or getattr(connection, _APPLIED, None) != values:
        with connection.wrap_database_errors, raw.cursor() as cursor:
            cursor.execute(APPLY_SQL, values)
        setattr(connection, _APPLIED, None if connection.in_atomic_block else values)
    return execute(sql, params, many, context)


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    setattr(connection, _APPLIED, None)
    if _apply not in connection.execute_wrappers:
        connection.execute_wrappers.append(_apply)


def install_wrappers() -> None:
    connection_created.connect(_on_connection_created, dispatch_uid="whistle.rls")
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _on_connection_created(None, connection)


# --- requests -------------------------------------------------------------------------------


class PrincipalMiddleware:
    """Next to outermost: the request runs under its own principal — the tenant once the tenant
    middleware has found it (reporter pages), the account once authentication has read it
    (staff pages), nobody before — and the caller's afterwards, whatever happened."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        def tenant_id() -> int | None:
            tenant = getattr(request, "tenant", None)
            return None if tenant is None else int(tenant.pk)

        def user_id() -> int | None:
            # Once authentication has read the account (it caches it there), never before:
            # reading it here would load the session and the account a second time. Staff
            # views read it before any case data (their access checks need it).
            user = getattr(request, "_cached_user", None)
            if user is None or not user.is_authenticated:
                return None
            return int(user.pk)

        token = _principal.set(Principal(tenant=tenant_id, user=user_id))
        try:
            return self.get_response(request)
        finally:
            _principal.reset(token)


# --- policies -------------------------------------------------------------------------------

# Kinds of tenant-owned tables and what a model with ``RLS = kind`` must have:
#   "case"          tenant_id and office_id (intake.Case itself)
#   "tenant"        tenant_id
#   "via_case"      case_id (rows are visible when their case is)
#   "case_or_office" case_id or office_id (casework.ReminderSent)
KINDS = ("case", "tenant", "via_case", "case_or_office")


def _tables() -> dict[str, str]:
    membership = apps.get_model("tenants", "Membership")._meta.db_table
    admins = apps.get_model("tenants", "TenantAdmin")._meta.db_table
    office = apps.get_model("tenants", "Office")
    served = office._meta.get_field("tenants").remote_field.through._meta.db_table  # type: ignore[union-attr]
    case = apps.get_model("intake", "Case")._meta.db_table
    return {"membership": membership, "admins": admins, "served": served, "case": case}


def policies() -> dict[str, tuple[str, str]]:
    """``{table: (using, with_check)}`` for every model that declares ``RLS``."""
    t = _tables()
    system = "current_setting('whistle.system', true) = 'on'"
    tenant = "nullif(current_setting('whistle.tenant', true), '')::bigint"
    user = "nullif(current_setting('whistle.user', true), '')::bigint"
    my_offices = f"(SELECT m.office_id FROM {t['membership']} m WHERE m.user_id = {user})"  # noqa: S608 (model table names)
    my_admin_tenants = f"(SELECT a.tenant_id FROM {t['admins']} a WHERE a.user_id = {user})"  # noqa: S608 (model table names)
    my_served_tenants = (
        f"(SELECT s.tenant_id FROM {t['served']} s JOIN {t['membership']} m "  # noqa: S608 (model table names)
        f"ON m.office_id = s.office_id WHERE m.user_id = {user})"
    )
    tenant_rows = (
        f"({system} OR tenant_id = {tenant} OR tenant_id IN {my_admin_tenants} "
        f"OR tenant_id IN {my_served_tenants})"
    )
    case_rows = (
        f"({system} OR tenant_id = {tenant} OR office_id IN {my_offices} "
        f"OR tenant_id IN {my_admin_tenants})"
    )
    # A handler may hand a case to another office serving the tenant (a transfer).
    case_check = f"({case_rows} OR tenant_id IN {my_served_tenants})"
    via_case = f"({system} OR EXISTS (SELECT 1 FROM {t['case']} c WHERE c.id = case_id))"  # noqa: S608 (model table names)
    case_or_office = (
        f"({system} OR (case_id IS NOT NULL AND EXISTS (SELECT 1 FROM {t['case']} c "  # noqa: S608 (model table names)
        f"WHERE c.id = case_id)) OR (case_id IS NULL AND office_id IN {my_offices}))"
    )
    kinds = {
        "case": (case_rows, case_check),
        "tenant": (tenant_rows, tenant_rows),
        "via_case": (via_case, via_case),
        "case_or_office": (case_or_office, case_or_office),
    }
    result: dict[str, tuple[str, str]] = {}
    for model in apps.get_models():
        kind = model.__dict__.get("RLS")
        if kind is not None:
            result[model._meta.db_table] = kinds[kind]
    return result


def install(using: str = "default") -> None:
    """Enable and force row-level security with the current policies; grant the application
    role (``DATABASE_APP_ROLE``) its privileges. Idempotent; runs as the table owner."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, (using_sql, check_sql) in policies().items():
            cursor.execute(f"ALTER TABLE {qn(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {qn(table)} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS whistle_tenant ON {qn(table)}")
            cursor.execute(
                f"CREATE POLICY whistle_tenant ON {qn(table)} "
                f"USING {using_sql} WITH CHECK {check_sql}"
            )
        if role:
            cursor.execute(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + qn(role)
            )
            cursor.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + qn(role))
            cursor.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
                "ON TABLES TO " + qn(role)
            )
            cursor.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "
                + qn(role)
            )


def uninstall(using: str = "default") -> None:
    """Drop the policies (the tables stay forced: the application role then sees nothing)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in policies():
            if table in existing:
                cursor.execute(f"DROP POLICY IF EXISTS whistle_tenant ON {qn(table)}")


def _last_app(sender: Any) -> bool:
    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    return bool(configs) and sender is configs[-1]


def pre_migrate_uninstall(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Before migrating backwards: the policies name columns that older schemas lack (and a
    column a policy uses cannot be dropped). Until ``post_migrate`` installs them again, the
    application role sees nothing: closed, not open."""
    plan = kwargs.get("plan") or []
    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    if configs and sender is configs[0] and any(backwards for _migration, backwards in plan):
        uninstall(using)


def post_migrate_install(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After the last app's migrations (post_migrate is sent once per app), when the schema is
    the current one: a partial migrate (to an older migration) leaves them to the next full
    one. Not after a flush (which sends post_migrate too, without a plan, and may run as the
    application role)."""
    if kwargs.get("plan") is None or not _last_app(sender):
        return
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    install(using)
