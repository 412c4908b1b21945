from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connections
from django.db.backends.signals import connection_created

from whistle import rls

pytest_plugins = ["pytester", "tests.plugins.sensitive", "tests.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Their Playwright (sync API, one browser for the session) keeps
    an event loop registered as running in the main thread until the session ends, and every
    asyncio test collected after them then fails with "cannot be called from a running event
    loop". The order among the others, and among the browser tests, stays as collected."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


#: The role the suite's queries run as on PostgreSQL, as the application does in production: no
#: superuser, no BYPASSRLS, owns no table (the test database is created and migrated as the
#: connecting superuser, the owner). Row-level security (whistle/rls.py) applies to every query.
APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "whistle_app")


def _as_app_role(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        connection.connection.execute(f'SET ROLE "{APP_ROLE}"')


@pytest.fixture(scope="session")
def _app_role() -> None:
    """Create the application role (cluster-wide; NOLOGIN: the superuser takes it on with
    SET ROLE) before the test database is migrated, which grants it its privileges."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    settings.DATABASE_APP_ROLE = APP_ROLE
    with psycopg.connect(
        host=str(db["HOST"]),
        port=str(db["PORT"] or 5432),
        user=str(db["USER"]),
        password=str(db["PASSWORD"] or ""),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN "
            f'CREATE ROLE "{APP_ROLE}" NOLOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$'.replace(
                "%s", f"'{APP_ROLE}'"
            )
        )


@pytest.fixture(scope="session")
def django_db_setup(
    _app_role: None, django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        yield
        return
    with django_db_blocker.unblock():
        with connections["default"].cursor() as cursor:
            # Test-only: the suite empties tables between transactional tests (TRUNCATE).
            cursor.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{APP_ROLE}"')
            # Test-only: tests that wait for other sessions read pg_stat_activity.
            cursor.execute(f'GRANT pg_read_all_stats TO "{APP_ROLE}"')
        connection_created.connect(_as_app_role, dispatch_uid="tests.app_role")
        # Test code (and the threads it starts) calls services directly, as system work does:
        # the system principal. Requests, sockets and tasks set their own.
        rls.set_fallback(rls.SYSTEM)
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None and connection.vendor == "postgresql":
                _as_app_role(None, connection)
    yield
    rls.set_fallback(rls.NOBODY)
    connection_created.disconnect(dispatch_uid="tests.app_role")
    with django_db_blocker.unblock():
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None and connection.vendor == "postgresql":
                connection.connection.execute("RESET ROLE")
