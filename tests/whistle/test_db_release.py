"""whistle.db.db_release(request): what the rest of the request reads from the database (the
session, the account it names) is loaded before the connection goes back, so the page rendered
after a long wait takes no connection again (DESIGN §3)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse

from tests.fixtures import World
from whistle.db import db_release


def _request(rf: Any, session_key: str | None = None) -> Any:
    request = rf.get("/")
    if session_key:
        request.COOKIES["whistle_session"] = session_key
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


@pytest.mark.django_db
def test_the_session_and_the_user_are_loaded_before_the_connection_goes(
    rf: Any, world_a: World, django_assert_num_queries: Any
) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store["_auth_user_id"] = str(world_a.handler.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = world_a.handler.get_session_auth_hash()
    store["anything"] = "kept"
    store.save()
    request = _request(rf, store.session_key)
    db_release(request)
    with django_assert_num_queries(0):
        assert request.session["anything"] == "kept"
        assert request.user.is_authenticated
        assert request.user.pk == world_a.handler.pk


@pytest.mark.django_db
def test_without_a_request_nothing_is_loaded(rf: Any, django_assert_num_queries: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store["anything"] = "kept"
    store.save()
    request = _request(rf, store.session_key)
    db_release()
    with django_assert_num_queries(1):  # the session is read only now
        assert request.session["anything"] == "kept"
