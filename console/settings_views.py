"""Tenant settings (tenant admin only): organisation and branding, texts and privacy notice,
who may report, retention and file limits, host names. Every change is audited
(console/tenant_settings.py); a form with errors is shown again with everything typed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from console import hostnames
from console.settings_forms import (
    HostnameForm,
    OrganisationForm,
    PrivacyForm,
    ReportingForm,
    TextsForm,
)
from console.tenant_settings import tenant_logo_set, tenant_settings_update
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant
from whistle.tenants.models import Tenant, TenantHostname

SECTIONS = ("organisation", "texts", "privacy", "reporting", "hostnames")


def organisation_save(request: StaffRequest, tenant: Tenant, form: OrganisationForm) -> None:
    """Store a valid organisation form (also the wizard's first step)."""
    data = form.cleaned_data
    values: dict[str, Any] = {
        "name": data["name"],
        "languages": data["languages"],
        "accent_colour": data["accent_colour"],
    }
    if "controller_address" in data:
        values["controller_address"] = data["controller_address"]
    tenant_settings_update(tenant=tenant, actor=request.user, values=values)
    if data.get("logo") is not None:
        tenant_logo_set(tenant=tenant, actor=request.user, logo=data["logo"])
    elif data.get("remove_logo"):
        tenant_logo_set(tenant=tenant, actor=request.user, logo=None)


def _forms(tenant: Tenant, bound: forms.Form | None) -> dict[str, forms.Form]:
    made: dict[str, forms.Form] = {
        "organisation": OrganisationForm(tenant=tenant),
        "texts": TextsForm(tenant=tenant),
        "privacy": PrivacyForm(tenant=tenant),
        "reporting": ReportingForm(tenant=tenant),
        "hostnames": HostnameForm(),
    }
    if bound is not None:
        made[next(k for k, v in made.items() if type(v) is type(bound))] = bound
    return made


def _page(request: StaffRequest, tenant: Tenant, bound: forms.Form | None = None) -> HttpResponse:
    context = {
        "admin_tenant": tenant,
        "forms": _forms(tenant, bound),
        "hostnames": tenant.hostnames.order_by("hostname"),
    }
    return render(
        request, "console/settings.html", context, status=400 if bound is not None else 200
    )


def _done(tenant: Tenant, section: str) -> HttpResponse:
    return redirect(reverse("console:tenant_settings", args=[tenant.public_id]) + f"#{section}")


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_settings_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if request.method == "GET":
        return _page(request, tenant)
    section = request.POST.get("section", "")
    if section not in SECTIONS:
        raise Http404
    if section == "hostnames":
        return _hostnames(request, tenant)
    form: forms.Form
    if section == "organisation":
        form = OrganisationForm(request.POST, request.FILES, tenant=tenant)
    elif section == "texts":
        form = TextsForm(request.POST, tenant=tenant)
    elif section == "privacy":
        form = PrivacyForm(request.POST, tenant=tenant)
    else:
        form = ReportingForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _page(request, tenant, form)
    if isinstance(form, OrganisationForm):
        organisation_save(request, tenant, form)
    elif isinstance(form, TextsForm):
        texts = form.cleaned_data["texts"]
        language = request.POST.get("regenerate", "")
        if language in texts:
            texts[language].pop("privacy", None)
            texts = {code: entry for code, entry in texts.items() if entry}
        tenant_settings_update(tenant=tenant, actor=request.user, values={"texts": texts})
    else:
        values = {name: form.cleaned_data[name] for name in form.fields}
        tenant_settings_update(tenant=tenant, actor=request.user, values=values)
    messages.success(request, _("Saved."))
    return _done(tenant, section)


def _host(tenant: Tenant, host_id: str) -> TenantHostname:
    host = TenantHostname.objects.filter(tenant=tenant, pk=host_id if host_id.isdigit() else 0)
    found = host.select_related("tenant").first()
    if found is None:
        raise Http404
    return found


def _hostnames(request: StaffRequest, tenant: Tenant) -> HttpResponse:
    action = request.POST.get("action", "add")
    if action == "add":
        form = HostnameForm(request.POST)
        if not form.is_valid():
            return _page(request, tenant, form)
        try:
            host = hostnames.hostname_add(
                tenant=tenant, actor=request.user, hostname=form.cleaned_data["hostname"]
            )
        except ValidationError:
            form.add_error("hostname", _("This host name is already in use."))
            return _page(request, tenant, form)
        messages.success(
            request,
            _(
                "Host name added. Publish the TXT record shown below in your DNS, then choose "
                "“Verify”. Until then the host name does not lead to your reporting page."
            ),
        )
        return _done(tenant, f"host-{host.pk}")
    host = _host(tenant, request.POST.get("host", ""))
    if action == "remove":
        hostnames.hostname_remove(host=host, actor=request.user)
        messages.success(request, _("Host name removed."))
    elif action == "verify":
        try:
            verified = hostnames.hostname_verify(host=host, actor=request.user)
        except hostnames.DnsUnavailable:
            messages.error(
                request, _("The DNS lookup did not answer. Please try again in a few minutes.")
            )
        else:
            if verified:
                messages.success(request, _("Verified: the host name now leads to your page."))
            else:
                messages.error(
                    request,
                    _(
                        "The TXT record was not found yet. Check its name and value; changes "
                        "in DNS can take up to an hour to appear."
                    ),
                )
    else:
        raise Http404
    return _done(tenant, "hostnames")
