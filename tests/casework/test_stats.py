"""Statistics (REP-1): counts, small-count suppression, timeliness, charts, CSV and access."""

from __future__ import annotations

import copy
import csv
import datetime
import io
import re
import secrets
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from casework.stats import (
    BAR_COLOUR,
    MUTED_COLOUR,
    TEXT_COLOUR,
    Cell,
    Stats,
    bar_chart_svg,
    office_stats,
    period,
    stats_csv,
    suppress,
    tenant_stats,
)
from intake.models import Case
from intake.services import questionnaire_current, questionnaire_import
from tests.fixtures import World, staff_client

D = datetime.date
TODAY = D(2025, 6, 1)

pytestmark = [pytest.mark.django_db]


def add_cases(world: World, n: int, received_on: datetime.date, **fields: Any) -> list[Case]:
    fields.setdefault("category", "environment")
    fields.setdefault("questionnaire", questionnaire_current(world.tenant))
    return Case.objects.bulk_create(
        Case(
            tenant=world.tenant,
            office=world.office,
            receipt_lookup=secrets.token_hex(6),
            received_on=received_on,
            **fields,
        )
        for _ in range(n)
    )


def values(dimension: Any) -> dict[str, int | str | None]:
    """key → shown value, "<3" or "x"."""
    return {
        row.key: row.cell.value if not row.cell.suppressed else row.cell.csv
        for row in dimension.rows
    }


def contrast(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


# --- suppression ----------------------------------------------------------------------------------


def test_cells_cannot_hold_a_small_number() -> None:
    assert Cell.of(0).value == 0 and Cell.of(3).value == 3
    assert Cell.of(1).value is None and Cell.of(2).value is None
    assert str(Cell.of(2)) == "< 3" and Cell.of(1).csv == "<3"
    for small in (1, 2, -1):
        with pytest.raises(ValueError):
            Cell(small)
    with pytest.raises(ValueError):
        Cell(5, secondary=True)


def test_secondary_suppression() -> None:
    # A lone small cell: the next smallest non-zero one goes too (zeros protect nothing).
    cells = suppress({"a": 1, "b": 0, "c": 5, "d": 10})
    assert [cells[k].csv for k in "abcd"] == ["<3", "0", "x", "10"]
    # 1 + 2 = 3 leaves both open; 2 + 2 = 4 would give both away.
    assert [c.csv for c in suppress({"a": 1, "b": 2, "c": 9}).values()] == ["<3", "<3", "9"]
    assert [c.csv for c in suppress({"a": 2, "b": 2, "c": 9}).values()] == ["<3", "<3", "x"]
    # Withheld cells are at least 3 and at most the smallest one shown: a withheld 3 next to a
    # shown 3 is known to be 3, so that one goes too; then 1 + 3 + 3 = 7 still tells 1 from 2
    # (withheld cells are at least 3), so the 8 goes as well.
    assert [c.csv for c in suppress({"a": 1, "b": 3, "c": 3, "d": 8, "e": 9}).values()] == [
        "<3",
        "x",
        "x",
        "x",
        "9",
    ]
    # Nothing small: nothing withheld.
    assert [c.csv for c in suppress({"a": 0, "b": 3, "c": 4}).values()] == ["0", "3", "4"]


# --- counts ---------------------------------------------------------------------------------------


def test_counts_per_month_category_channel_outcome(world_a: World, world_b: World) -> None:
    add_cases(
        world_a,
        3,
        D(2024, 1, 15),
        channel="web",
        status="closed",
        outcome="substantiated",
        closed_on=D(2024, 3, 1),
    )
    add_cases(world_a, 4, D(2024, 2, 29), category="tax", channel="phone")
    add_cases(world_a, 5, D(2023, 12, 31))  # other years
    add_cases(world_a, 5, D(2025, 1, 1))
    add_cases(world_b, 7, D(2024, 1, 15))  # another tenant
    with translation.override("en"):
        stats = office_stats(office=world_a.office, year=2024, today=TODAY)
    assert (stats.start, stats.end) == (D(2024, 1, 1), D(2024, 12, 31))
    months = values(stats.months)
    assert list(months) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert months["2024-01"] == 3 and months["2024-02"] == 4
    assert sum(v for v in months.values() if isinstance(v, int)) == 7
    assert stats.months.rows[0].label == "January 2024"
    assert values(stats.categories) == {"environment": 3, "tax": 4}
    assert [r.label for r in stats.categories.rows] == ["Corporate tax", "Environmental protection"]
    assert values(stats.channels) == {"web": 3, "phone": 4, "letter": 0, "in_person": 0}
    outcomes = values(stats.outcomes)
    assert outcomes["substantiated"] == 3 and stats.outcomes.total.value == 3
    assert all(v == 0 for k, v in outcomes.items() if k != "substantiated")
    assert stats.months.total.value == 7 and not stats.months.has_suppressed


def test_tenant_stats_span_offices_and_never_count_another_tenant(
    world_a: World, world_b: World
) -> None:
    world_b.office.tenants.add(world_a.tenant)  # office B also serves tenant A
    add_cases(world_a, 3, D(2024, 5, 1))
    a_at_b = World(world_a.tenant, world_b.office, world_b.handler, world_b.admin)
    add_cases(a_at_b, 4, D(2024, 5, 2))
    add_cases(world_b, 6, D(2024, 5, 3))

    def count(stats: Stats) -> int | None:
        return stats.months.total.value

    assert count(tenant_stats(tenant=world_a.tenant, year=2024, today=TODAY)) == 7
    assert count(tenant_stats(tenant=world_b.tenant, year=2024, today=TODAY)) == 6
    assert count(office_stats(office=world_a.office, year=2024, today=TODAY)) == 3
    assert count(office_stats(office=world_b.office, year=2024, today=TODAY)) == 10


def test_periods_hold_complete_months_only() -> None:
    assert period(None, D(2025, 3, 15)) == (D(2024, 3, 1), D(2025, 2, 28))
    assert period(2023, D(2025, 3, 15)) == (D(2023, 1, 1), D(2023, 12, 31))
    assert period(2025, D(2025, 3, 15)) == (D(2025, 1, 1), D(2025, 2, 28))
    start, end = period(2025, D(2025, 1, 31))
    assert end < start


def test_default_period_is_the_last_twelve_months(world_a: World) -> None:
    add_cases(world_a, 3, D(2024, 2, 29))  # just before
    add_cases(world_a, 4, D(2024, 3, 1))
    add_cases(world_a, 5, D(2025, 2, 28))
    add_cases(world_a, 6, D(2025, 3, 1))  # the current month: not over yet
    stats = office_stats(office=world_a.office, today=D(2025, 3, 15))
    assert stats.year is None and stats.as_of == D(2025, 2, 28)
    assert list(values(stats.months)) == [f"2024-{m:02d}" for m in range(3, 13)] + [
        "2025-01",
        "2025-02",
    ]
    assert values(stats.months)["2024-03"] == 4 and values(stats.months)["2025-02"] == 5
    assert stats.months.total.value == 9
    # The current year shows its complete months only; in January, none.
    assert (
        len(office_stats(office=world_a.office, year=2025, today=D(2025, 3, 15)).months.rows) == 2
    )
    empty = office_stats(office=world_a.office, year=2025, today=D(2025, 1, 20))
    assert empty.months.rows == () and empty.categories.rows == ()


def test_category_labels_from_the_newest_questionnaire_version(world_a: World) -> None:
    old = questionnaire_current(world_a.tenant)
    definition = copy.deepcopy(old.definition)
    for category in definition["categories"]:
        if category["id"] == "environment":
            category["label"] = {"de": "Umwelt", "en": "=Nature"}
    new = questionnaire_import(tenant=world_a.tenant, definition=definition)
    add_cases(world_a, 3, D(2024, 1, 1), questionnaire=old)
    add_cases(world_a, 3, D(2024, 1, 2), questionnaire=new)
    add_cases(world_a, 3, D(2024, 1, 3), category="", questionnaire=None)
    with translation.override("en"):
        stats = office_stats(office=world_a.office, year=2024, today=TODAY)
        text = stats_csv(stats)
    assert {r.label: r.cell.value for r in stats.categories.rows} == {
        "=Nature": 6,
        "No topic given": 3,
    }
    # A tenant-written label cannot become a spreadsheet formula.
    assert "category,environment,'=Nature,6" in text


# --- suppression end to end -----------------------------------------------------------------------


def _small_world(world: World) -> None:
    """23 + 17 + 1 reports: the 1 is "< 3" everywhere, the 17 withheld to protect it."""
    add_cases(world, 23, D(2024, 1, 10), channel="web")
    add_cases(world, 17, D(2024, 3, 10), category="tax", channel="phone")
    add_cases(world, 1, D(2024, 5, 10), category="data_protection", channel="letter")


def test_small_counts_are_suppressed_in_every_dimension(world_a: World) -> None:
    _small_world(world_a)
    stats = office_stats(office=world_a.office, year=2024, today=TODAY)
    assert values(stats.months)["2024-05"] == "<3" and values(stats.months)["2024-03"] == "x"
    assert values(stats.categories) == {"environment": 23, "tax": "x", "data_protection": "<3"}
    assert values(stats.channels) == {"web": 23, "phone": "x", "letter": "<3", "in_person": 0}
    for dimension in (stats.months, stats.categories, stats.channels):
        assert dimension.total.value == 23 and dimension.has_suppressed


def test_no_suppressed_number_in_html_svg_or_csv(world_a: World) -> None:
    _small_world(world_a)
    client = staff_client(world_a.handler)
    url = reverse("casework:office_stats", kwargs={"office_id": world_a.office.public_id})
    html = client.get(url, {"year": 2024}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    figures = re.findall(r"<table.*?</table>|<svg.*?</svg>", html, re.S)
    assert sum(f.startswith("<svg") for f in figures) == 4 and len(figures) == 9
    # What a reader sees: the text of the tables and of the charts (not the SVG geometry).
    figures_text = re.sub(r"<[^>]+>", " ", "".join(figures))
    # 17 (withheld), 18 and 24 (17 or 23 plus the small one) never appear.
    for leak in ("17", "18", "24"):
        assert not re.search(rf"(?<![\d.,]){leak}(?![\d.,])", figures_text), leak
    assert re.search(r'<th scope="row">Data protection[^<]*</th><td>&lt; 3</td>', html)
    assert re.search(r'<th scope="row">Corporate tax</th><td>withheld</td>', html)
    assert re.search(r"Total of the numbers shown</th><td>23</td>", html)
    assert "Data protection and IT security: &lt; 3" in html  # the chart's <desc>

    csv_url = reverse("casework:office_stats_csv", kwargs={"office_id": world_a.office.public_id})
    response = client.get(csv_url, {"year": 2024}, HTTP_ACCEPT_LANGUAGE="en")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["dimension", "key", "label", "value"]
    by_key = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert by_key["category", "data_protection"] == "<3"
    assert by_key["category", "tax"] == "x"
    assert by_key["channel", "letter"] == "<3" and by_key["month", "2024-05"] == "<3"
    assert by_key["category", "total_shown"] == "23"
    assert not {"17", "18", "24", "1", "2"} & {r[3] for r in rows[1:]}


def test_chart_is_accessible_and_self_contained() -> None:
    svg = bar_chart_svg(
        [("<script>alert(1)</script>", Cell.of(12)), ("Second", Cell.of(2))],
        title="Reports & topics",
        chart_id="chart-x",
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Reports &amp; topics</title>' in svg
    assert "<desc" in svg and "Second: &lt; 3" in svg
    assert "<script" not in svg and "href" not in svg and "url(" not in svg
    assert "style" not in svg  # no inline CSS: the CSP forbids it
    # The suppressed bar is a fixed-width dashed box, labelled like its table cell.
    assert 'stroke-dasharray="4 3"' in svg and ">&lt; 3</text>" in svg
    for colour in (BAR_COLOUR, MUTED_COLOUR, TEXT_COLOUR):
        assert contrast(colour) >= 3, colour
        assert colour in svg


# --- timeliness -----------------------------------------------------------------------------------


def test_on_time_shares_and_medians(world_a: World) -> None:
    r = D(2024, 1, 10)
    # Acknowledged after 3, 7 (the last day) and 10 days; c4 never, its deadline long gone.
    (c1,) = add_cases(
        world_a,
        1,
        r,
        acknowledged_on=D(2024, 1, 13),
        feedback_given_on=D(2024, 3, 13),
        closed_on=D(2024, 3, 20),
    )
    (c2,) = add_cases(
        world_a,
        1,
        r,
        acknowledged_on=D(2024, 1, 17),
        feedback_given_on=D(2024, 5, 18),
        feedback_extended_until=D(2024, 5, 17),
        closed_on=D(2024, 6, 1),
    )
    (c3,) = add_cases(
        world_a,
        1,
        r,
        acknowledged_on=D(2024, 1, 20),
        feedback_given_on=D(2024, 4, 20),
        closed_on=D(2024, 4, 30),
    )
    (c4,) = add_cases(world_a, 1, r)
    # Acknowledged late, but only in the current month: as of the end of December, it was not.
    add_cases(world_a, 1, D(2024, 12, 20), acknowledged_on=D(2025, 1, 2))
    # Still within both deadlines at the end of December: counted in neither share.
    add_cases(world_a, 1, D(2024, 12, 29))
    with translation.override("en"):
        stats = office_stats(office=world_a.office, year=2024, today=D(2025, 1, 15))
    # The deadlines are the model's own.
    assert [c.feedback_due for c in (c1, c2, c3, c4)] == [
        D(2024, 4, 13),
        D(2024, 5, 17),
        D(2024, 4, 20),
        D(2024, 4, 17),
    ]
    assert stats.acknowledged_on_time.value == 40  # c1, c2 of c1 to c5
    assert stats.acknowledged_on_time.basis.value == 5
    assert str(stats.acknowledged_on_time) == "40 %"
    # Feedback: c1 and c3 (on its last day) met, c2 missed its extension by a day, c4 passed.
    assert stats.feedback_on_time.value == 50
    assert stats.feedback_on_time.basis.value == 4
    assert stats.days_to_acknowledgement.value == 7  # median of 3, 7, 10
    assert str(stats.days_to_acknowledgement) == "7 days"
    # From the acknowledgement: 60, 122, 91 days.
    assert stats.days_to_feedback.value == 91
    # From receipt: 70, 143, 111 days.
    assert stats.days_to_closure.value == 111


def test_shares_and_medians_need_three_cases(world_a: World) -> None:
    add_cases(world_a, 2, D(2024, 1, 10), acknowledged_on=D(2024, 1, 11))
    stats = office_stats(office=world_a.office, year=2024, today=TODAY)
    for measure in (stats.acknowledged_on_time, stats.days_to_acknowledgement):
        assert measure.value is None and str(measure) == "\u2013" and measure.csv == ""
        assert measure.basis.suppressed
    assert stats.days_to_closure.value is None and stats.days_to_closure.basis.value == 0
    with translation.override("en"):
        rows = list(csv.reader(io.StringIO(stats_csv(stats))))
    by_key = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert by_key["timeliness", "acknowledged_on_time_percent"] == ""
    assert by_key["timeliness", "acknowledged_on_time_cases"] == "<3"
    assert by_key["timeliness", "days_to_closure_median_days"] == ""


# --- views ----------------------------------------------------------------------------------------


def _urls(world: World) -> dict[str, str]:
    office, tenant = {"office_id": world.office.public_id}, {"tenant_id": world.tenant.public_id}
    return {
        "office": reverse("casework:office_stats", kwargs=office),
        "office_csv": reverse("casework:office_stats_csv", kwargs=office),
        "tenant": reverse("casework:tenant_stats", kwargs=tenant),
        "tenant_csv": reverse("casework:tenant_stats_csv", kwargs=tenant),
    }


def test_who_sees_which_statistics(world_a: World, world_b: World) -> None:
    own, other = _urls(world_a), _urls(world_b)
    handler, admin = staff_client(world_a.handler), staff_client(world_a.admin)
    for name in ("office", "office_csv"):
        assert handler.get(own[name]).status_code == 200
        assert handler.get(other[name]).status_code == 404  # another office
        assert admin.get(own[name]).status_code == 404  # a tenant admin is no member
    for name in ("tenant", "tenant_csv"):
        assert admin.get(own[name]).status_code == 200
        assert admin.get(other[name]).status_code == 404  # another tenant
        assert handler.get(own[name]).status_code == 404  # a handler is no admin
    assert handler.get(own["office"], {"year": "abc"}).status_code == 404
    assert handler.get(own["office"], {"year": "2999"}).status_code == 404
    assert handler.post(own["office"]).status_code == 405
    response = handler.get(own["office"].replace(str(world_a.office.public_id), "not-a-uuid"))
    assert response.status_code == 404


def test_logged_out_users_go_to_the_login(world_a: World) -> None:
    from django.test import Client

    response = Client().get(_urls(world_a)["tenant"])
    assert response.status_code == 302 and "/staff/login/" in response["Location"]


def test_csv_download(world_a: World) -> None:
    add_cases(world_a, 3, D(2024, 2, 1))
    client = staff_client(world_a.admin)
    response = client.get(_urls(world_a)["tenant_csv"], {"year": 2024})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="statistics-alpha-2024.csv"'
    assert response.content.startswith("\ufeff".encode())
    assert "month,2024-02," in response.content.decode("utf-8-sig")


def test_page_in_english_and_german(world_a: World) -> None:
    add_cases(world_a, 3, D(2024, 2, 1))
    client = staff_client(world_a.admin)
    html = client.get(_urls(world_a)["tenant"], {"year": 2024}, HTTP_ACCEPT_LANGUAGE="en")
    body = html.content.decode()
    assert "<h1>Statistics \u2013 Alphastadt</h1>" in body
    assert "<caption>Reports by topic</caption>" in body
    assert '<option value="2024" selected>2024</option>' in body
    assert '?year=2024"' in body  # the CSV link keeps the period
    german = client.get(_urls(world_a)["tenant"], {"year": 2024}, HTTP_ACCEPT_LANGUAGE="de")
    assert "Februar 2024" in german.content.decode()


def test_view_queries_do_not_grow_with_the_data(
    world_a: World, django_assert_max_num_queries: Any
) -> None:
    client = staff_client(world_a.handler)
    url = _urls(world_a)["office"]
    add_cases(world_a, 3, D(2024, 2, 1))
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"year": 2024})
    other = questionnaire_import(
        tenant=world_a.tenant, definition=questionnaire_current(world_a.tenant).definition
    )
    for i, category in enumerate(("tax", "environment", "other", "procurement")):
        add_cases(
            world_a,
            5 + i,
            D(2024, 1 + i, 3),
            category=category,
            questionnaire=other,
            channel="phone",
            closed_on=D(2024, 6, 1),
            outcome="referred",
            acknowledged_on=D(2024, 1 + i, 5),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url, {"year": 2024}).status_code == 200
    # Session, user, device, membership; months, categories, questionnaires, channels, outcomes,
    # dates; the session save (idle timeout).
    with django_assert_max_num_queries(15):
        client.get(url, {"year": 2024})


def test_page_for_a_year_without_a_complete_month(world_a: World) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    add_cases(world_a, 3, D(2025, 1, 2))
    stats = office_stats(office=world_a.office, year=2025, today=D(2025, 1, 20))
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with translation.override("en"):
        html = render_to_string(
            "casework/stats.html",
            {
                "stats": stats,
                "scope_name": "X",
                "years": [2025],
                "sections": [],
                "csv_url": "/c",
                "back_url": "/b",
            },
            request=request,
        )
    assert "No month of 2025 is complete yet." in html
    assert "Figures as of the end of December 2024." in html


# --- suspected flood ------------------------------------------------------------------------------


def test_reports_set_apart_as_flood_are_left_out_and_counted_apart(world_a: World) -> None:
    """A flood of junk (issue 12 point 3) neither inflates the counts nor drags down the on-time
    shares: set-apart reports are one suppressed count of their own."""
    received = D(2025, 1, 15)
    add_cases(world_a, 3, received, acknowledged_on=D(2025, 1, 16))
    add_cases(world_a, 40, received, flood=Case.Flood.SUSPECTED, category="junk")
    add_cases(world_a, 4, D(2025, 2, 3), flood=Case.Flood.SET_ASIDE)
    stats = office_stats(office=world_a.office, today=TODAY)
    assert values(stats.months)["2025-01"] == 3
    assert values(stats.months)["2025-02"] == 0
    assert "junk" not in values(stats.categories)
    assert values(stats.channels)["web"] == 3
    assert stats.acknowledged_on_time.value == 100.0
    assert stats.acknowledged_on_time.basis == Cell(3)
    assert stats.set_apart == Cell(44)
    assert "set_apart,count," in stats_csv(stats) and ",44\r\n" in stats_csv(stats)

    # A report put back into the inbox counts like any other; a small set-apart count is
    # suppressed like any other count.
    Case.objects.filter(flood=Case.Flood.SUSPECTED).update(flood=Case.Flood.NONE)
    Case.objects.filter(flood=Case.Flood.SET_ASIDE).exclude(
        pk=Case.objects.filter(flood=Case.Flood.SET_ASIDE).order_by("pk")[0].pk
    ).update(flood=Case.Flood.NONE)
    stats = office_stats(office=world_a.office, today=TODAY)
    assert values(stats.months)["2025-01"] == 43 and values(stats.months)["2025-02"] == 3
    assert stats.set_apart.suppressed
    assert "set_apart,count," in stats_csv(stats) and ",<3\r\n" in stats_csv(stats)
    html = staff_client(world_a.handler).get(
        reverse("casework:office_stats", kwargs={"office_id": world_a.office.public_id}),
        {"year": 2025},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Received in this period and set aside: &lt; 3." in html.content.decode()
