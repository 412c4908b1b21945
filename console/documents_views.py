"""Documents a tenant admin needs around the reporting channel: the accessibility statement
(and its feedback), the poster, card and intranet snippet, and the compliance pack.

Tenant admins only (password and second factor): everyone else gets 404, as for every page of
a tenant they do not administer. Nothing here shows or links to any case."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from console.accessibility import (
    REGIONS,
    StatementForm,
    access_admin_feedback,
    accessibility_feedback_delete,
    accessibility_statement_save,
    feedback_expires,
    statement_initial,
)
from console.addresses import onion_address, reporting_address
from console.compliance import compliance_html, compliance_pdf, pack_languages
from console.poster import card_pdf, intranet_snippet, poster_pdf
from intake.accessibility import accessibility_feedback_text
from intake.models import AccessibilityFeedback, AccessibilityStatement
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant
from whistle.vault import DecryptionError


@staff_required
def accessibility_statement_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The statement's form, and the feedback received (readable, deletable)."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    statement = AccessibilityStatement.objects.filter(tenant=tenant).first()
    status = 200
    if request.method == "POST":
        form = StatementForm(request.POST, tenant=tenant)
        if form.is_valid():
            accessibility_statement_save(tenant=tenant, actor=request.user, data=form.cleaned_data)
            messages.success(request, _("The accessibility statement has been saved."))
            return redirect("console:accessibility_statement", tenant_id=tenant.public_id)
        status = 400
    else:
        form = StatementForm(initial=statement_initial(tenant, statement), tenant=tenant)
    feedback = []
    for item in AccessibilityFeedback.objects.filter(tenant=tenant):
        try:
            text = accessibility_feedback_text(item)
        except DecryptionError:
            # The server secret changed since it arrived: it cannot be read any more.
            text = None
        feedback.append({"item": item, "text": text, "expires": feedback_expires(item)})
    return render(
        request,
        "console/accessibility_statement.html",
        {
            "admin_tenant": tenant,
            "form": form,
            "statement": statement,
            "regions": REGIONS,
            "feedback": feedback,
            "public_address": reporting_address(tenant) + "accessibility/",
        },
        status=status,
    )


@staff_required
def accessibility_feedback_delete_view(
    request: StaffRequest, tenant_id: str, feedback_id: uuid.UUID
) -> HttpResponse:
    # The lookups first: someone else's message is a 404 whatever the method.
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    feedback = access_admin_feedback(user=request.user, tenant=tenant, feedback_id=feedback_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    accessibility_feedback_delete(feedback=feedback, actor=request.user)
    messages.success(request, _("The message has been deleted."))
    return redirect("console:accessibility_statement", tenant_id=tenant.public_id)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_required
def poster_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The poster and card (PDF downloads) and the intranet snippet to copy."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return render(
        request,
        "console/poster.html",
        {
            "admin_tenant": tenant,
            "address": reporting_address(tenant),
            "onion": onion_address(tenant),
            "snippet": intranet_snippet(tenant),
        },
    )


@staff_required
def poster_pdf_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return _pdf(poster_pdf(tenant), f"poster-{tenant.slug}.pdf")


@staff_required
def card_pdf_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    return _pdf(card_pdf(tenant), f"card-{tenant.slug}.pdf")


def _pack_language(request: StaffRequest) -> str:
    language = request.GET.get("language", "")
    return language if language in pack_languages() else pack_languages()[0]


@staff_required
def compliance_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The compliance pack: downloads per language, as PDF and as editable HTML."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    languages = [(code, name) for code, name in settings.LANGUAGES if code in pack_languages()]
    return render(
        request, "console/compliance.html", {"admin_tenant": tenant, "languages": languages}
    )


@staff_required
def compliance_pdf_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    language = _pack_language(request)
    return _pdf(compliance_pdf(tenant, language), f"compliance-{tenant.slug}-{language}.pdf")


@staff_required
def compliance_html_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    language = _pack_language(request)
    response = HttpResponse(
        compliance_html(tenant, language), content_type="text/html; charset=utf-8"
    )
    # A download to edit, not a page of this site (its inline styles would meet our CSP).
    response["Content-Disposition"] = (
        f'attachment; filename="compliance-{tenant.slug}-{language}.html"'
    )
    return response
