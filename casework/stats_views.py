"""Statistics pages and CSV exports (REP-1) for an office's members and a tenant's admins.

Statistics hold no content (see ``casework.stats``), so tenant admins, who never see a report,
may see their tenant's figures.
"""

from __future__ import annotations

import datetime

from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.text import slugify

from casework.stats import Stats, bar_chart_svg, office_stats, stats_csv, tenant_stats
from intake.models import tenant_today
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant, access_membership
from whistle.tenants.models import Tenant

FIRST_YEAR = 2000
YEARS_OFFERED = 6  # retention removes closed cases after about three years (HinSchG § 11(5))


def _year(request: StaffRequest, today: datetime.date) -> int | None:
    """``?year=`` as a calendar year up to this one; empty or missing: the last 12 months."""
    raw = request.GET.get("year", "")
    if not raw:
        return None
    if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= today.year:
        raise Http404
    return int(raw)


def _page(
    request: StaffRequest,
    *,
    stats: Stats,
    name: str,
    today: datetime.date,
    csv_url: str,
    back_url: str,
) -> HttpResponse:
    years = list(range(today.year, today.year - YEARS_OFFERED, -1))
    if stats.year is not None and stats.year not in years:
        years.append(stats.year)
    query = f"?{urlencode({'year': stats.year})}" if stats.year else ""
    return render(
        request,
        "casework/stats.html",
        {
            "stats": stats,
            "scope_name": name,
            "years": years,
            "sections": [
                (d, bar_chart_svg(d.chart_rows, title=d.title, chart_id=f"chart-{d.key}"))
                for d in stats.dimensions
            ],
            "csv_url": csv_url + query,
            "back_url": back_url,
        },
    )


def _csv(stats: Stats, name: str) -> HttpResponse:
    period = str(stats.year) if stats.year else f"{stats.start:%Y-%m}-{stats.end:%Y-%m}"
    # The byte order mark makes spreadsheet programs read UTF-8 (umlauts) correctly.
    response = HttpResponse("\ufeff" + stats_csv(stats), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, f"statistics-{slugify(name) or 'whistle'}-{period}.csv"
    )
    return response


@staff_required
def office_stats_view(request: StaffRequest, office_id: str) -> HttpResponse:
    """An office's statistics page, for any member of the office."""
    office = access_membership(user=request.user, office_id=office_id).office
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    today = tenant_today(office.owner)
    stats = office_stats(office=office, year=_year(request, today), today=today)
    return _page(
        request,
        stats=stats,
        name=office.name,
        today=today,
        csv_url=reverse("casework:office_stats_csv", kwargs={"office_id": office.public_id}),
        back_url=reverse("casework:inbox", kwargs={"office_id": office.public_id}),
    )


@staff_required
def office_stats_csv_view(request: StaffRequest, office_id: str) -> HttpResponse:
    """An office's statistics as CSV."""
    office = access_membership(user=request.user, office_id=office_id).office
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    today = tenant_today(office.owner)
    return _csv(office_stats(office=office, year=_year(request, today), today=today), office.name)


def _tenant(request: StaffRequest, tenant_id: str) -> tuple[Tenant, datetime.date]:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return tenant, tenant_today(tenant)


@staff_required
def tenant_stats_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """A tenant's statistics page (all offices handling its cases), for its admins."""
    tenant, today = _tenant(request, tenant_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    stats = tenant_stats(tenant=tenant, year=_year(request, today), today=today)
    return _page(
        request,
        stats=stats,
        name=tenant.name,
        today=today,
        csv_url=reverse("casework:tenant_stats_csv", kwargs={"tenant_id": tenant.public_id}),
        back_url=reverse("tenants:overview", kwargs={"tenant_id": tenant.public_id}),
    )


@staff_required
def tenant_stats_csv_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """A tenant's statistics as CSV."""
    tenant, today = _tenant(request, tenant_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _csv(tenant_stats(tenant=tenant, year=_year(request, today), today=today), tenant.slug)
