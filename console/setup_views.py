"""The tenant page with its set-up checklist, and the set-up wizard: organisation → office and
its lead → office keys (by the lead) → review with a preview → publish. Each step's state comes
from the data (console/checklist.py), so the wizard resumes wherever anyone left it."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from console import offices
from console.checklist import STEPS, first_open_step, ready_to_publish, setup_checklist
from console.settings_forms import SetupOrganisationForm, language_names
from console.settings_views import organisation_save
from console.tenant_settings import tenant_publish, tenant_review_confirm
from intake.texts import privacy_notice
from whistle.accounts.decorators import staff_required
from whistle.accounts.invitations import invitations_pending
from whistle.accounts.models import Invitation
from whistle.http import StaffRequest
from whistle.keys.services import current_keypair
from whistle.tenants.access import access_admin_tenant
from whistle.tenants.models import Membership, Office, Tenant, TenantAdmin


def _offices(tenant: Tenant) -> list[Office]:
    return list(
        Office.objects.serving(tenant)
        .select_related("owner")
        .prefetch_related("memberships__user")
        .order_by("name")
    )


@staff_required
def tenant_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """What a tenant admin configures, with the set-up checklist. Never any case content."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    checklist = setup_checklist(tenant)
    return render(
        request,
        "console/tenant.html",
        {
            "admin_tenant": tenant,
            "checklist": checklist,
            "open_items": [item for item in checklist if not item.done],
            "offices": _offices(tenant),
            "admins": TenantAdmin.objects.filter(tenant=tenant).select_related("user"),
            "hostnames": tenant.hostnames.order_by("hostname"),
        },
    )


@staff_required
def tenant_logo_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if not tenant.logo:
        raise Http404
    with tenant.logo.open("rb") as logo:  # small: re-encoded, at most 800 px (branding.py)
        response = HttpResponse(logo.read(), content_type="image/png")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@staff_required
def setup_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """Resume the wizard at the first step that is not done."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return redirect("console:setup_step", tenant_id=tenant.public_id, step=first_open_step(tenant))


def _step_page(
    request: StaffRequest, tenant: Tenant, step: str, status: int = 200, **context: object
) -> HttpResponse:
    checklist = setup_checklist(tenant)
    done_steps = {s for s in STEPS if all(i.done for i in checklist if i.step == s)}
    return render(
        request,
        f"console/setup_{step}.html",
        {
            "admin_tenant": tenant,
            "step": step,
            "steps": [(s, s in done_steps) for s in STEPS],
            "step_number": STEPS.index(step) + 1,
            "step_count": len(STEPS),
            "checklist": checklist,
            **context,
        },
        status=status,
    )


def _next(tenant: Tenant) -> HttpResponse:
    return redirect("console:setup", tenant_id=tenant.public_id)


@staff_required
@require_http_methods(["GET", "POST"])
def setup_step_view(request: StaffRequest, tenant_id: str, step: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if step not in STEPS:
        raise Http404
    if step == "organisation":
        form = SetupOrganisationForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            tenant=tenant,
        )
        if request.method == "POST":
            if form.is_valid():
                organisation_save(request, tenant, form)
                return _next(tenant)
            return _step_page(request, tenant, step, status=400, form=form)
        return _step_page(request, tenant, step, form=form)
    if step == "office":
        return _office_step(request, tenant)
    if step == "keys":
        rows2 = [(o, current_keypair(o)) for o in _offices(tenant)]
        return _step_page(request, tenant, step, rows=rows2)
    if step == "review":
        if request.method == "POST":
            tenant_review_confirm(tenant=tenant, actor=request.user)
            return _next(tenant)
        return _step_page(request, tenant, step)
    # publish
    if request.method == "POST":
        if not ready_to_publish(tenant):
            messages.error(request, _("Not everything is ready yet; see the list below."))
            return _step_page(request, tenant, step, status=400)
        if not tenant.published:
            tenant_publish(tenant=tenant, actor=request.user)
            messages.success(request, _("Your reporting page is open now."))
        return redirect("console:tenant", tenant_id=tenant.public_id)
    return _step_page(request, tenant, step, ready=ready_to_publish(tenant))


class OfficeCreateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the office"),
        max_length=200,
        help_text=gettext_lazy("For example: Meldestelle der Stadtverwaltung."),
    )


class LeadInviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address of the office lead"))


def _office_step(request: StaffRequest, tenant: Tenant) -> HttpResponse:
    """Create an own office and invite its lead without leaving the wizard (an external office
    is asked on the shared-office page, which comes back here)."""
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action not in ("", "create", "invite"):
        raise Http404
    create_form = OfficeCreateForm(request.POST if action == "create" else None, prefix="office")
    invite_form = LeadInviteForm(request.POST if action == "invite" else None, prefix="lead")
    if action == "create" and create_form.is_valid():
        try:
            offices.office_create(
                tenant=tenant, actor=request.user, name=create_form.cleaned_data["name"]
            )
        except (ValidationError, offices.OfficeError) as error:
            create_form.add_error(
                "name", error.messages if isinstance(error, ValidationError) else str(error)
            )
        else:
            return redirect("console:setup_step", tenant_id=tenant.public_id, step="office")
    elif action == "invite" and invite_form.is_valid():
        office_id = _uuid_or_none(request.POST.get("office"))
        office = (
            Office.objects.filter(owner=tenant, public_id=office_id).first() if office_id else None
        )
        if office is None:
            raise Http404
        try:
            offices.member_invite(
                office=office,
                actor=request.user,
                email=invite_form.cleaned_data["email"],
                role=Invitation.Role.LEAD,
            )
        except (ValidationError, offices.OfficeError) as error:
            invite_form.add_error(
                "email", error.messages if isinstance(error, ValidationError) else str(error)
            )
        else:
            messages.success(
                request,
                _(
                    "The invitation was sent to %(email)s. After setting up their account, the "
                    "office lead creates the office keys."
                )
                % {"email": invite_form.cleaned_data["email"]},
            )
            return redirect("console:setup", tenant_id=tenant.public_id)
    rows = []
    for office in _offices(tenant):
        leads = [m for m in office.memberships.all() if m.role == Membership.Role.LEAD]
        pending = [i for i in invitations_pending(office=office) if i.role == Invitation.Role.LEAD]
        rows.append((office, leads, pending))
    return _step_page(
        request,
        tenant,
        "office",
        status=400 if action else 200,
        rows=rows,
        create_form=create_form,
        invite_form=invite_form,
    )


def _messages(error: ValidationError | offices.OfficeError) -> list[str]:
    return list(error.messages) if isinstance(error, ValidationError) else [str(error)]


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@staff_required
def texts_preview_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The landing page's tenant texts as reporters see them, in each enabled language."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    names = language_names()
    language = request.GET.get("language", "") or translation.get_language() or ""
    if language not in tenant.languages:
        language = str(tenant.languages[0])
    offices = _offices(tenant)
    with translation.override(language):
        body = render_to_string(
            "console/texts_preview_body.html",
            {
                "tenant": tenant,
                "intro": tenant.text("intro", language),
                "privacy_text": privacy_notice(tenant, language),
                "offices": offices,
            },
            request=request,
        )
    return render(
        request,
        "console/texts_preview.html",
        {
            "admin_tenant": tenant,
            "body": body,
            "language": language,
            "languages": [(code, names[code]) for code in tenant.languages if code in names],
        },
    )
