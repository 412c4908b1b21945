"""The operator console (issue 13, point 1): operator staff only (``User.is_staff``, full login
with the second factor); everyone else gets 404. Tenants, their usage (numbers only), suspend
and resume, host names, administrator invitations. No route leads to content or key material.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from console.access import access_operator_tenant
from console.operator import (
    last_months,
    operator_admin_invite,
    operator_hostname_add,
    operator_hostname_remove,
    operator_hostname_verify,
    operator_tenant_create,
    operator_tenant_set_enabled,
    tenant_usage,
)
from console.operator_forms import HostnameForm, InviteForm, TenantCreateForm
from whistle.accounts.decorators import staff_required
from whistle.accounts.invitations import invitation_create, invitations_pending
from whistle.accounts.models import Invitation, User
from whistle.http import StaffRequest
from whistle.tenants.models import Tenant, TenantAdmin

V = TypeVar("V", bound=Callable[..., HttpResponse])


def operator_required(view: V) -> V:
    """Operator staff with a full login; 404 for every other account."""

    @wraps(view)
    def wrapper(request: StaffRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return staff_required(wrapper)  # type: ignore[return-value]


def _form_error(form: Any, exc: ValidationError, field: str | None = None) -> None:
    for message in exc.messages:
        form.add_error(field, message)


@operator_required
@require_http_methods(["GET", "POST"])
def operator_home_view(request: StaffRequest) -> HttpResponse:
    """All tenants with their usage; invite another operator."""
    invite_form = InviteForm(request.POST or None, prefix="operator")
    status = 200
    if request.method == "POST" and invite_form.is_valid():
        try:
            invitation_create(
                email=invite_form.cleaned_data["email"],
                role=Invitation.Role.OPERATOR,
                invited_by=request.user,
            )
        except ValidationError as exc:
            _form_error(invite_form, exc, "email")
        else:
            messages.success(
                request,
                _("The invitation was sent to %(email)s.")
                % {"email": invite_form.cleaned_data["email"]},
            )
            return redirect("console:operator")
    if invite_form.errors:
        status = 400
    tenants = list(Tenant.objects.order_by("name"))
    usage = tenant_usage(tenants=tenants)
    rows = [(tenant, usage[tenant.pk]) for tenant in tenants]
    return render(
        request,
        "console/operator/home.html",
        {
            "rows": rows,
            "invite_form": invite_form,
            "operators": User.objects.filter(is_staff=True, is_active=True).order_by("email"),
            "pending": invitations_pending(),
        },
        status=status,
    )


@operator_required
@require_http_methods(["GET", "POST"])
def operator_tenant_create_view(request: StaffRequest) -> HttpResponse:
    form = TenantCreateForm(request.POST or None, initial={"languages": ["de", "en"]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # In the order of the list: the first one ticked is the main language.
        languages = [code for code, _name in settings.LANGUAGES if code in data["languages"]]
        try:
            tenant, _invitation = operator_tenant_create(
                actor=request.user,
                name=data["name"],
                slug=data["slug"],
                languages=languages,
                admin_email=data["admin_email"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    target = name if name in form.fields else None
                    for error in errors:
                        form.add_error(target, error)
            else:
                _form_error(form, exc, "admin_email")
        else:
            messages.success(
                request,
                _("%(name)s was created. The invitation was sent to %(email)s.")
                % {"name": tenant.name, "email": data["admin_email"]},
            )
            return redirect("console:operator_tenant", tenant_id=tenant.public_id)
    return render(
        request,
        "console/operator/tenant_create.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@operator_required
@require_http_methods(["GET", "POST"])
def operator_tenant_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """One tenant: usage by month, suspend/resume, host names, administrators; the place
    where deletion starts (console:tenant_delete)."""
    tenant = access_operator_tenant(request=request, tenant_id=tenant_id)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    host_form = HostnameForm(request.POST if action == "hostname_add" else None, prefix="host")
    invite_form = InviteForm(request.POST if action == "invite_admin" else None, prefix="admin")
    if action in ("suspend", "resume"):
        if operator_tenant_set_enabled(
            tenant=tenant, actor=request.user, enabled=action == "resume"
        ):
            messages.success(
                request,
                _("The reporting channel is open again.")
                if action == "resume"
                else _("The reporting channel is suspended. Reporters see a page saying so."),
            )
        return redirect("console:operator_tenant", tenant_id=tenant.public_id)
    if action == "hostname_remove":
        try:
            operator_hostname_remove(
                tenant=tenant,
                actor=request.user,
                hostname_id=int(request.POST.get("hostname_id", "0") or 0),
            )
        except (ValidationError, ValueError):
            raise Http404 from None
        messages.success(request, _("The host name was removed."))
        return redirect("console:operator_tenant", tenant_id=tenant.public_id)
    if action == "hostname_verify":
        try:
            operator_hostname_verify(
                tenant=tenant,
                actor=request.user,
                hostname_id=int(request.POST.get("hostname_id", "0") or 0),
            )
        except (ValidationError, ValueError):
            raise Http404 from None
        messages.success(
            request, _("Verified: the host name now leads to the organisation's reporting page.")
        )
        return redirect("console:operator_tenant", tenant_id=tenant.public_id)
    if action == "hostname_add" and host_form.is_valid():
        try:
            operator_hostname_add(
                tenant=tenant, actor=request.user, hostname=host_form.cleaned_data["hostname"]
            )
        except ValidationError as exc:
            _form_error(host_form, exc, "hostname")
        else:
            messages.success(request, _("The host name was added."))
            return redirect("console:operator_tenant", tenant_id=tenant.public_id)
    if action == "invite_admin" and invite_form.is_valid():
        try:
            operator_admin_invite(
                tenant=tenant, actor=request.user, email=invite_form.cleaned_data["email"]
            )
        except ValidationError as exc:
            _form_error(invite_form, exc, "email")
        else:
            messages.success(
                request,
                _("The invitation was sent to %(email)s.")
                % {"email": invite_form.cleaned_data["email"]},
            )
            return redirect("console:operator_tenant", tenant_id=tenant.public_id)
    if action and action not in ("hostname_add", "invite_admin"):
        raise Http404
    usage = tenant_usage(tenants=[tenant])[tenant.pk]
    return render(
        request,
        "console/operator/tenant.html",
        {
            "tenant": tenant,
            "usage": usage,
            "months": last_months(timezone.localdate()),
            "hostnames": tenant.hostnames.order_by("hostname"),
            "admins": TenantAdmin.objects.filter(tenant=tenant)
            .select_related("user")
            .order_by("user__email"),
            "pending": invitations_pending(tenant=tenant).filter(role=Invitation.Role.TENANT_ADMIN),
            "host_form": host_form,
            "invite_form": invite_form,
            "languages": [str(dict(settings.LANGUAGES).get(c, c)) for c in tenant.languages],
        },
        status=400 if host_form.errors or invite_form.errors else 200,
    )
