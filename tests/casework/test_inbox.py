"""The inbox: filters, sorting, pagination, badges, and a constant number of queries."""

from __future__ import annotations

import datetime
import secrets
from typing import Any

import pytest

from intake.models import Case
from tests.fixtures import World, make_staff, staff_client
from tests.keys.test_key_hierarchy import setup_keys
from whistle.tenants.services import membership_add


def make_cases(world: World, count: int, **fields: Any) -> list[Case]:
    return [
        Case.objects.create(
            tenant=world.tenant,
            office=world.office,
            receipt_lookup=secrets.token_hex(5),
            received_on=fields.get(
                "received_on", datetime.date(2026, 11, 1) - datetime.timedelta(days=i)
            ),
            **{k: v for k, v in fields.items() if k != "received_on"},
        )
        for i in range(count)
    ]


@pytest.mark.django_db
def test_inbox_queries_do_not_grow_with_the_number_of_cases(
    world_a: World, django_assert_max_num_queries: Any
) -> None:
    client, _recovery = setup_keys(world_a)
    url = f"/staff/offices/{world_a.office.public_id}/"
    make_cases(world_a, 3)
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    make_cases(world_a, 60)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_filters_and_badges(world_a: World) -> None:
    client, _recovery = setup_keys(world_a)
    colleague = make_staff("colleague@alpha.example")
    membership_add(office=world_a.office, user=colleague)
    old = make_cases(world_a, 1, received_on=datetime.date(2020, 1, 1))[0]
    mine = make_cases(world_a, 1, received_on=datetime.date(2099, 1, 1), assignee=world_a.handler)[
        0
    ]
    closed = make_cases(world_a, 1, status=Case.Status.CLOSED, outcome="withdrawn")[0]
    url = f"/staff/offices/{world_a.office.public_id}/"

    def listed(query: str) -> set[str]:
        html = client.get(url + query, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        return {str(c.public_id) for c in (old, mine, closed) if str(c.public_id) in html}

    assert listed("") == {str(old.public_id), str(mine.public_id)}  # open cases only
    assert listed("?status=all") == {str(old.public_id), str(mine.public_id), str(closed.public_id)}
    assert listed("?show=mine") == {str(mine.public_id)}
    assert listed("?show=unassigned") == {str(old.public_id)}
    assert listed("?show=overdue") == {str(old.public_id)}
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Confirmation overdue since" in page
    assert page.index(str(mine.public_id)) < page.index(str(old.public_id))  # newest first
    page = client.get(url + "?sort=oldest", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.index(str(old.public_id)) < page.index(str(mine.public_id))
    staff_client(colleague)


@pytest.mark.django_db
def test_one_inbox_across_all_my_offices(worlds: tuple[World, World]) -> None:
    a, b = worlds
    client, _recovery = setup_keys(a)
    membership_add(office=b.office, user=a.handler)
    mine_a = make_cases(a, 1)[0]
    mine_b = make_cases(b, 1)[0]
    html = client.get("/staff/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert str(mine_a.public_id) in html and str(mine_b.public_id) in html
    assert f"/staff/offices/{b.office.public_id}/cases/{mine_b.public_id}/" in html
    outsider = staff_client(b.admin)
    assert str(mine_b.public_id) not in outsider.get("/staff/inbox/").content.decode()
