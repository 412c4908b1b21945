"""Shared fixtures: always two tenants, each with an office, a handler and a tenant admin."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office, Tenant
from whistle.tenants.services import (
    membership_add,
    office_create,
    tenant_admin_add,
    tenant_create,
)

PASSWORD = "correct horse battery staple 42"


@dataclass
class World:
    tenant: Tenant
    office: Office
    handler: User
    admin: User


def make_staff(email: str, *, with_totp: bool = True) -> User:
    user = User.objects.create_user(email, PASSWORD, name=email.split("@")[0].title())
    if with_totp:
        TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


def current_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    # Tests log in repeatedly within one 30 s step; the device refuses a reused step.
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _world(slug: str, name: str) -> World:
    tenant = tenant_create(slug=slug, name=name, published=True)
    office = office_create(owner=tenant, name=f"Meldestelle {name}")
    handler = make_staff(f"handler@{slug}.example")
    membership_add(office=office, user=handler, role=Membership.Role.LEAD)
    admin = make_staff(f"admin@{slug}.example")
    tenant_admin_add(tenant=tenant, user=admin)
    return World(tenant=tenant, office=office, handler=handler, admin=admin)


@pytest.fixture
def world_a(db: None) -> World:
    return _world("alpha", "Alphastadt")


@pytest.fixture
def world_b(db: None) -> World:
    return _world("beta", "Betadorf")


@pytest.fixture
def worlds(world_a: World, world_b: World) -> tuple[World, World]:
    return world_a, world_b


def staff_client(user: User) -> Client:
    """A client logged in with password and second factor, through the real pages."""
    client = Client()
    response = client.post("/staff/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    response = client.post("/staff/verify/", {"code": current_code(user)})
    assert response.status_code == 302, response.content
    return client


@contextlib.contextmanager
def as_table_owner() -> Iterator[None]:
    """Schema changes (migrations, constraints a test adds) as the role that owns the tables,
    as in production; the suite otherwise runs as the application role (tests/conftest.py)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    role = connection.connection.execute("SELECT current_user").fetchone()[0]
    connection.connection.execute("RESET ROLE")
    try:
        yield
    finally:
        connection.connection.execute(f'SET ROLE "{role}"')


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttling counters live in the cache (Redis): every test starts with none."""
    from django.core.cache import cache

    cache.clear()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[int]:
    """Whistle's real ASGI application (HTTP and websockets) on a loopback port, in a thread."""
    import threading
    import time

    import uvicorn

    from whistle.asgi import application
    from whistle.uploads import WhistleASGIHandler

    assert isinstance(application.application_mapping["http"], WhistleASGIHandler)
    port = _free_port()
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def upgraded_long_ago(db: None) -> None:
    """Pending-upload rows have existed for a month. The test database is minutes old, and the
    orphan purge gives files written before (or within the hour after) that migration a
    draft's lifetime: casework.retention._PENDING_MIGRATION."""
    import datetime

    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder
    from django.utils import timezone

    MigrationRecorder(connection).migration_qs.filter(
        app="intake", name="0004_pending_upload"
    ).update(applied=timezone.now() - datetime.timedelta(days=30))
